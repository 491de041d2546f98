/**
 * The aggregated ERC-8004 registration document at `/.well-known/agent-registration.json`:
 * one document for everything this cluster sells, built from cached ServiceOffers and the
 * registrar's RegistrationRequest statuses. Every replica serves it from its own cache, leader or
 * not (reads need no leadership), with `Content-Type: application/json`.
 *
 * Document fields follow ERC-8004 registration-v1: `type`, `name`, `description`, `image`,
 * `services` (one `web` entry per registered offer, plus the services offers declare),
 * `x402Support`, `active` (some registered offer is Ready), `registrations` (confirmed agent ids
 * with `eip155:<chain>:<registry>`) and `supportedTrust`.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Stream } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import * as Store from "@obol/controller/Store"
import * as Watcher from "@obol/controller/Watcher"
import * as KubeClient from "@obol/kube/KubeClient"
import * as Children from "./Children.ts"
import * as Names from "./Names.ts"

type Offer = typeof ServiceOffer.schema.Type
type Request = typeof RegistrationRequest.schema.Type

/**
 * @category models
 */
export interface Identity {
  readonly name: string
  readonly description: string
  readonly image?: string
  readonly publicBaseUrl: string
}

/**
 * @category constants
 */
export const registrationType = "https://eips.ethereum.org/EIPS/eip-8004#registration-v1"

/**
 * Builds the document (pure).
 *
 * @category constructors
 */
export const document = (identity: Identity, offers: ReadonlyArray<Offer>, requests: ReadonlyArray<Request>) => {
  const registered = offers
    .filter((o) => o.spec.registration?.enabled === true && o.metadata.deletionTimestamp === undefined)
    .toSorted((a, b) =>
      `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`)
    )
  const requestOf = (offer: Offer) =>
    requests.find(
      (r) =>
        r.metadata.namespace === offer.metadata.namespace &&
        r.metadata.name === Names.registrationRequest(offer.metadata.name ?? "")
    )
  const base = identity.publicBaseUrl.replace(/\/+$/u, "")
  const services = registered.flatMap((offer) => [
    { name: "web", endpoint: `${base}${Children.pathOf(offer)}` },
    ...(offer.spec.registration?.services ?? []).map((s) => ({ ...s }))
  ])
  const registrations = registered.flatMap((offer) => {
    const status = requestOf(offer)?.status
    if (status?.agentId === undefined || status.agentRegistry === undefined) return []
    const id = BigInt(status.agentId)
    return [
      {
        agentId: id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(id) : status.agentId,
        agentRegistry: status.agentRegistry
      }
    ]
  })
  const supportedTrust = [...new Set(registered.flatMap((o) => o.spec.registration?.supportedTrust ?? []))]
  return {
    type: registrationType,
    name: identity.name,
    description: identity.description,
    ...(identity.image === undefined ? {} : { image: identity.image }),
    services,
    x402Support: true,
    active: registered.some((o) => (o.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")),
    registrations,
    ...(supportedTrust.length === 0 ? {} : { supportedTrust })
  }
}

/**
 * The route, served from caches this layer keeps (one watcher per kind, all namespaces or one).
 *
 * @category layers
 */
export const routes = (identity: Identity, options: { readonly namespace?: string } = {}) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const offers = yield* Store.make<Offer>()
      const requests = yield* Store.make<Request>()
      const follow = <A extends Store.KubeObject>(kind: Parameters<typeof Watcher.watch>[1], writer: Store.Writer<A>) =>
        Watcher.watch(client, kind, options).pipe(
          Stream.runForEach((event) =>
            Effect.sync(() => {
              if (event._tag === "Restarted") writer.reset(event.objects as ReadonlyArray<A>)
              else if (event._tag === "Applied") writer.apply(event.object as A)
              else if (event._tag === "Deleted") writer.delete(event.object as A)
            })
          ),
          Effect.forkScoped
        )
      yield* follow(ServiceOffer, offers)
      yield* follow(RegistrationRequest, requests)
      return HttpRouter.add(
        "GET",
        "/.well-known/agent-registration.json",
        Effect.sync(() =>
          offers.store.isReady() && requests.store.isReady()
            ? HttpServerResponse.jsonUnsafe(document(identity, offers.store.list(), requests.store.list()))
            : HttpServerResponse.text("registration cache not synced yet\n", { status: 503 })
        )
      )
    })
  )

/**
 * The HTTPRoute publishing the document: Exact path, no ForwardAuth (it is free and public),
 * to the controller's own Service.
 *
 * @category constructors
 */
export const httpRoute = (options: {
  readonly namespace: string
  readonly service: string
  readonly port: number
  readonly gateway: { readonly namespace: string; readonly name: string; readonly sectionName?: string }
}) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: {
    name: "agent-registration",
    namespace: options.namespace,
    labels: { "app.kubernetes.io/managed-by": "serviceoffer-controller" }
  },
  spec: {
    parentRefs: [{ ...options.gateway }],
    rules: [
      {
        matches: [{ path: { type: "Exact", value: "/.well-known/agent-registration.json" } }],
        backendRefs: [
          {
            name: options.service,
            ...(options.gateway.namespace === options.namespace ? {} : { namespace: options.namespace }),
            port: options.port
          }
        ]
      }
    ]
  }
})
