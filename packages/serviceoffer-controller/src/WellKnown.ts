/**
 * ERC-8004 registration documents at `/.well-known/agent-registration.json`, built from cached
 * ServiceOffers and the registrar's RegistrationRequest statuses:
 *
 * - without a query, the aggregated document for everything this cluster sells (endpoint-domain
 *   verification: one `registrations` entry per confirmed offer);
 * - with `?offer=<namespace>/<name>`, one offer's own document: what that offer's on-chain
 *   `agentURI` points at (see `Children.agentURI`), with its name, description, services and,
 *   once the registrar confirmed it, its `registrations` entry. 404 for an offer that is not
 *   registered.
 *
 * Every replica serves both from its own cache, leader or not (reads need no leadership), with
 * `Content-Type: application/json`; 503 until the caches have synced.
 *
 * Document fields follow ERC-8004 registration-v1: `type`, `name`, `description`, `image`,
 * `services` (one `web` entry per registered offer, plus the services offers declare),
 * `x402Support`, `active` (some registered offer is Ready), `registrations` (confirmed agent ids
 * with `eip155:<chain>:<registry>`) and `supportedTrust`.
 *
 * An offer's own document also carries two objects the ERC does not define, in the shape
 * obol-stack's monetize.py published them (so readers of its documents keep working):
 * `metadata` (`spec.registration.metadata`) and `provenance` (`spec.provenance`, empty values
 * dropped), each only when non-empty, after the ERC's fields. The ERC's file format lists the
 * fields a document MUST have and does not forbid others; readers ignore what they do not know.
 * The aggregated document carries neither: it speaks for many offers, and their maps would
 * collide. None of this goes on chain (ADR 0006).
 *
 * @since 0.1.0
 */
import { Effect, Layer, Option } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as AgentRegistration from "@obol/api/AgentRegistration"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import { Health } from "@obol/controller/Health"
import * as Informers from "@obol/controller/Informers"
import * as Reflector from "@obol/controller/Reflector"
import * as Store from "@obol/controller/Store"
import * as ApplyConfiguration from "@obol/kube/ApplyConfiguration"
import { HTTPRoute } from "@obol/kube/builtin/HTTPRoute"
import * as KubeClient from "@obol/kube/KubeClient"
import * as Children from "./Children.ts"
import * as Names from "@obol/api/Names"

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
 * A registration-v1 document with the two extra objects an offer's own document may carry.
 *
 * @category models
 */
export type AgentDocument = AgentRegistration.AgentRegistration & {
  readonly metadata?: Readonly<Record<string, string>>
  readonly provenance?: Readonly<Record<string, string>>
}

/**
 * @category constants
 */
export const registrationType = AgentRegistration.registrationType

const isRegistered = (o: Offer) => o.spec.registration?.enabled === true && o.metadata.deletionTimestamp === undefined
const isReady = (o: Offer) => (o.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")

const requestOf = (requests: ReadonlyArray<Request>, offer: Offer) =>
  requests.find(
    (r) =>
      r.metadata.namespace === offer.metadata.namespace &&
      r.metadata.name === Names.registrationRequest(offer.metadata.name ?? "")
  )

const onChain = (
  request: Request | undefined
): ReadonlyArray<AgentRegistration.AgentRegistration["registrations"][number]> => {
  const status = request?.status
  if (status?.agentId === undefined || status.agentRegistry === undefined) return []
  const id = BigInt(status.agentId)
  // JSON numbers beyond 2^53 would lose digits in JavaScript readers; ids that large do not occur.
  return id <= BigInt(Number.MAX_SAFE_INTEGER) ? [{ agentId: Number(id), agentRegistry: status.agentRegistry }] : []
}

/**
 * One offer's own registration document (pure).
 *
 * @category constructors
 */
export const agentDocument = (identity: Identity, offer: Offer, request: Request | undefined): AgentDocument => {
  const registration = offer.spec.registration
  const metadata = registration?.metadata ?? {}
  const provenance = Object.fromEntries(Object.entries(offer.spec.provenance ?? {}).filter(([, v]) => v !== ""))
  const name = registration?.name ?? offer.metadata.name ?? ""
  const base = identity.publicBaseUrl.replace(/\/+$/u, "")
  const image = registration?.image ?? identity.image
  return {
    type: registrationType,
    name,
    description:
      registration?.description ??
      (offer.spec.model === undefined
        ? `x402 payment-gated ${offer.spec.type} service: ${name}`
        : `${offer.spec.model.name} inference via x402 micropayments`),
    ...(image === undefined ? {} : { image }),
    services: [
      {
        name: "web",
        endpoint: `${base}${Children.pathOf(offer)}`,
        ...(registration?.skills === undefined ? {} : { skills: [...registration.skills] }),
        ...(registration?.domains === undefined ? {} : { domains: [...registration.domains] })
      },
      ...(registration?.services ?? []).map((s) => ({ ...s }))
    ],
    x402Support: true,
    active: isRegistered(offer) && isReady(offer),
    registrations: onChain(request),
    ...(registration?.supportedTrust === undefined || registration.supportedTrust.length === 0
      ? {}
      : { supportedTrust: [...registration.supportedTrust] }),
    ...(Object.keys(metadata).length === 0 ? {} : { metadata: { ...metadata } }),
    ...(Object.keys(provenance).length === 0 ? {} : { provenance })
  }
}

/**
 * Builds the document (pure).
 *
 * @category constructors
 */
export const document = (
  identity: Identity,
  offers: ReadonlyArray<Offer>,
  requests: ReadonlyArray<Request>
): AgentRegistration.AgentRegistration => {
  const registered = offers
    .filter(isRegistered)
    .toSorted((a, b) =>
      `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`)
    )
  const base = identity.publicBaseUrl.replace(/\/+$/u, "")
  const services = registered.flatMap((offer) => [
    { name: "web", endpoint: `${base}${Children.pathOf(offer)}` },
    ...(offer.spec.registration?.services ?? []).map((s) => ({ ...s }))
  ])
  const registrations = registered.flatMap((offer) => onChain(requestOf(requests, offer)))
  const supportedTrust = [...new Set(registered.flatMap((o) => o.spec.registration?.supportedTrust ?? []))]
  return {
    type: registrationType,
    name: identity.name,
    description: identity.description,
    ...(identity.image === undefined ? {} : { image: identity.image }),
    services,
    x402Support: true,
    active: registered.some(isReady),
    registrations,
    ...(supportedTrust.length === 0 ? {} : { supportedTrust })
  }
}

/**
 * The route, served from the process's shared informers (`Informers`: the controller's
 * ServiceOffer cache when it runs in this process, all namespaces or one). Registers a readiness
 * check (`well-known`: both kinds listed, neither watch failing) when `Health` is present; a
 * failing watch leaves the last documents served, stale, and says so on /readyz.
 *
 * @category layers
 */
export const routes = (identity: Identity, options: { readonly namespace?: string } = {}) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const informers = yield* Informers.current
      const offerInformer = yield* informers.informer(ServiceOffer, options)
      const requestInformer = yield* informers.informer(RegistrationRequest, options)
      const offers: Store.Store<Offer> = offerInformer.store
      const requests: Store.Store<Request> = requestInformer.store
      const health = yield* Effect.serviceOption(Health)
      if (Option.isSome(health)) {
        yield* health.value.register("well-known", Reflector.readiness([offerInformer, requestInformer]))
      }
      return HttpRouter.add(
        "GET",
        "/.well-known/agent-registration.json",
        Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
          if (!offers.isReady() || !requests.isReady()) {
            return HttpServerResponse.text("registration cache not synced yet\n", { status: 503 })
          }
          const selector = new URL(request.url, "http://localhost").searchParams.get("offer")
          if (selector === null) {
            return HttpServerResponse.jsonUnsafe(document(identity, offers.list(), requests.list()))
          }
          const [namespace, name, ...rest] = selector.split("/")
          const offer =
            rest.length === 0 && namespace !== undefined && namespace !== "" && name !== undefined
              ? Option.getOrUndefined(offers.get(Store.key({ namespace, name })))
              : undefined
          return offer === undefined || !isRegistered(offer)
            ? HttpServerResponse.jsonUnsafe(
                { error: `no registered offer ${selector} (expected ?offer=<namespace>/<name>)` },
                { status: 404 }
              )
            : HttpServerResponse.jsonUnsafe(agentDocument(identity, offer, requestOf(requests.list(), offer)))
        })
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
}): ApplyConfiguration.ApplyConfiguration<typeof HTTPRoute> =>
  ApplyConfiguration.make(HTTPRoute, {
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

/**
 * Applies the well-known HTTPRoute (the leader does, once it leads). A failure is logged, never
 * fatal: the document is still served on the port, only not through the Gateway.
 *
 * @category constructors
 */
export const publish = (settings: {
  readonly controllerNamespace: string
  readonly controllerService: string
  readonly wellKnownPort: number
  readonly gateway: { readonly namespace: string; readonly name: string; readonly sectionName?: string }
  readonly fieldManager: string
}) =>
  KubeClient.KubeClient.use((client) =>
    ApplyConfiguration.apply(
      client,
      HTTPRoute,
      httpRoute({
        namespace: settings.controllerNamespace,
        service: settings.controllerService,
        port: settings.wellKnownPort,
        gateway: settings.gateway
      }),
      { fieldManager: settings.fieldManager, force: true }
    )
  ).pipe(
    Effect.catch((error) =>
      Effect.logWarning("Publishing the well-known HTTPRoute failed").pipe(
        Effect.annotateLogs({ error: error.message })
      )
    )
  )
