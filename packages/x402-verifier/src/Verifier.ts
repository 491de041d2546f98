/**
 * The x402 verifier: a PaymentRoute informer feeding an immutable route table, an admission
 * writer, and the ForwardAuth endpoints Traefik calls.
 *
 * - Every change to a PaymentRoute rebuilds the table from the cache and swaps it in one step;
 *   requests in flight keep the table they started with.
 * - Admission: each route's `status.admitted`/`lastAdmittedGeneration` (or `reason`/`message`
 *   when it cannot be served) is written with server-side apply on `/status`, field manager
 *   `x402-verifier`, only when it differs from what the object already says. Replicas write the
 *   same values, so their writes agree.
 * - `/verify/<namespace>/<name>` serves the offer named in the Middleware address; `/verify`
 *   without an identity falls back to path matching over all routes and denies unknown paths
 *   (403, unless `allowUnknownPaths`, for gateways that also route free traffic through it).
 *   Resource URLs come from Traefik's `X-Forwarded-Proto/-Host/-Uri`.
 *
 * Metrics by offer: `obol_x402_verifier_requests_total`, `…_payment_required_total`,
 * `…_payment_verified_total`, `…_payment_failed_total`, `…_charged_requests_total` (only after a
 * confirmed settle), and `obol_x402_verifier_decision_seconds`.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer, Metric, Option, Result, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import { Health } from "@obol/controller/Health"
import * as Store from "@obol/controller/Store"
import * as Watcher from "@obol/controller/Watcher"
import * as KubeClient from "@obol/kube/KubeClient"
import * as Facilitator from "@obol/x402/Facilitator"
import * as Decision from "./Decision.ts"
import * as PathMatch from "./PathMatch.ts"
import * as Routes from "./Routes.ts"
import * as RouteTable from "./RouteTable.ts"

type RouteObject = typeof PaymentRoute.schema.Type

/**
 * @category models
 */
export interface Settings {
  readonly namespace?: string
  readonly facilitatorUrl: string
  readonly fieldManager: string
  /** Let `/verify` without an identity pass requests that match no route. Default false (deny). */
  readonly allowUnknownPaths: boolean
}

const counter = (name: string, description: string) => Metric.counter(`obol_x402_verifier_${name}`, { description })
const metrics = {
  requests: counter("requests_total", "ForwardAuth requests per offer"),
  required: counter("payment_required_total", "402 answers without a payment"),
  verified: counter("payment_verified_total", "payments the facilitator verified"),
  failed: counter("payment_failed_total", "payments refused (malformed, mismatched, invalid or not settled)"),
  charged: counter("charged_requests_total", "requests charged: settlement confirmed"),
  latency: Metric.histogram("obol_x402_verifier_decision_seconds", {
    description: "time to answer a ForwardAuth request",
    boundaries: Metric.boundariesFromIterable([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5])
  })
}

/**
 * The current table, for handlers and tests.
 *
 * @category services
 */
export class Table extends Context.Service<Table, RouteTable.Holder<Routes.Loaded>>()("@obol/x402-verifier/Table") {}

/**
 * Keeps the table in step with the PaymentRoutes and writes their admission. Registers a readiness
 * check (ready once the first list is in) when `Health` is present.
 *
 * @category layers
 */
export const informer = (settings: Settings) =>
  Layer.effect(
    Table,
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const facilitator = yield* Facilitator.Facilitator
      const holder = RouteTable.holder<Routes.Loaded>()
      /** The admission status last sent per route (by uid), so a pending write is not repeated. */
      const written = new Map<string, string>()
      const writer = yield* Store.make<RouteObject>()
      const health = yield* Effect.serviceOption(Health)
      if (Option.isSome(health)) {
        yield* health.value.register("x402-verifier routes", () =>
          writer.store.isReady() ? { ready: true } : { ready: false, reason: "PaymentRoutes not listed yet" }
        )
      }
      const supportedNetworks = facilitator.supported.pipe(
        Effect.map(
          (s) => new Set(s.kinds.filter((k) => k.scheme === "exact").map((k) => k.network)) as ReadonlySet<string>
        ),
        Effect.option
      )

      const admit = (
        route: RouteObject,
        verdict: ReturnType<typeof Routes.build>["verdicts"] extends Map<string, infer V> ? V : never
      ) => {
        const status = route.status ?? {}
        const desired = verdict.admitted
          ? { admitted: true, lastAdmittedGeneration: verdict.generation }
          : { admitted: false, reason: verdict.reason, message: verdict.message }
        const same =
          status.admitted === desired.admitted &&
          (desired.admitted
            ? status.lastAdmittedGeneration === desired.lastAdmittedGeneration && status.reason === undefined
            : status.reason === desired.reason && status.message === desired.message)
        const key = `${route.metadata.namespace}/${route.metadata.name}@${route.metadata.uid}`
        const wanted = JSON.stringify(desired)
        // Our last write may not have come back through the watch yet: do not send it again.
        if (same || written.get(key) === wanted) return Effect.void
        written.set(key, wanted)
        return client
          .applyStatus(
            PaymentRoute,
            {
              apiVersion: route.apiVersion,
              kind: route.kind,
              metadata: { name: route.metadata.name ?? "", namespace: route.metadata.namespace ?? "default" },
              status: desired
            },
            { fieldManager: settings.fieldManager, force: true }
          )
          .pipe(
            Effect.catch((error) =>
              Effect.sync(() => written.delete(key)).pipe(
                Effect.andThen(Effect.logWarning("Writing PaymentRoute admission failed")),
                Effect.annotateLogs({
                  route: `${route.metadata.namespace}/${route.metadata.name}`,
                  error: error.message
                })
              )
            )
          )
      }

      const rebuild = Effect.gen(function* () {
        const networks = yield* supportedNetworks
        const routes = writer.store.list()
        const { table, verdicts } = Routes.build(routes, {
          facilitatorUrl: settings.facilitatorUrl,
          ...(Option.isSome(networks) ? { supportedNetworks: networks.value } : {})
        })
        holder.set(table)
        for (const route of routes) {
          const verdict = verdicts.get(`${route.metadata.namespace}/${route.metadata.name}`)
          if (verdict !== undefined) yield* admit(route, verdict)
        }
      })

      yield* Watcher.watch(
        client,
        PaymentRoute,
        settings.namespace === undefined ? {} : { namespace: settings.namespace }
      ).pipe(
        Stream.runForEach((event) =>
          Effect.gen(function* () {
            if (event._tag === "Error") return
            if (event._tag === "Restarted") writer.reset(event.objects)
            else if (event._tag === "Applied") writer.apply(event.object)
            else writer.delete(event.object)
            yield* rebuild
          })
        ),
        Effect.forkScoped
      )
      return holder
    })
  )

const header = (headers: Readonly<Record<string, string | undefined>>, name: string) => headers[name.toLowerCase()]

/**
 * The answer to one ForwardAuth request, from the current table, and the offer it was for when
 * the table knows that offer (`undefined` otherwise, so callers can't be made to mint new metric
 * series by asking about made-up offers).
 *
 * @category constructors
 */
export const handle = (
  table: RouteTable.RouteTable<Routes.Loaded>,
  request: { readonly identity?: string; readonly headers: Readonly<Record<string, string | undefined>> },
  settings: Pick<Settings, "allowUnknownPaths">
): Effect.Effect<
  { readonly answer: Decision.Answer | "Pass"; readonly offer: string | undefined },
  never,
  Facilitator.Facilitator
> => {
  const uri = header(request.headers, "X-Forwarded-Uri") ?? "/"
  const proto = header(request.headers, "X-Forwarded-Proto") ?? "http"
  const host = header(request.headers, "X-Forwarded-Host") ?? "localhost"
  const url = `${proto}://${host}${uri}`
  let route: Option.Option<RouteTable.Route<Routes.Loaded>>
  if (request.identity !== undefined) route = table.byOffer(request.identity)
  else {
    const path = PathMatch.normalize(uri)
    if (Result.isFailure(path)) {
      return Effect.succeed({
        offer: undefined,
        answer: {
          status: 400,
          outcome: "Malformed",
          headers: { "Content-Type": "application/json" },
          body: { error: path.failure }
        }
      } as const)
    }
    route = table.match(path.success)
    if (Option.isNone(route)) {
      return Effect.succeed({
        offer: undefined,
        answer: settings.allowUnknownPaths
          ? "Pass"
          : ({
              status: 403,
              outcome: "Unknown",
              headers: { "Content-Type": "application/json" },
              body: { error: "no paid route matches this path" }
            } as const)
      })
    }
  }
  const offer = Option.isSome(route) ? route.value.offer : undefined
  const decided = Decision.local({
    route: Option.map(route, (r) => r.value.requirement),
    headers: request.headers,
    resource: { url }
  })
  return decided._tag === "Answered"
    ? Effect.succeed({ answer: decided.answer, offer })
    : Effect.map(Decision.settle(decided), (answer) => ({ answer, offer }))
}

interface OfferCounters {
  readonly requests: Metric.Counter<number>
  readonly required: Metric.Counter<number>
  readonly verified: Metric.Counter<number>
  readonly failed: Metric.Counter<number>
  readonly charged: Metric.Counter<number>
}

const countersFor = (offer: string | undefined): OfferCounters => {
  const [namespace = "", name = ""] = (offer ?? "/").split("/")
  const attributes = { offer_namespace: namespace, offer_name: name }
  return {
    requests: metrics.requests.pipe(Metric.withAttributes(attributes)),
    required: metrics.required.pipe(Metric.withAttributes(attributes)),
    verified: metrics.verified.pipe(Metric.withAttributes(attributes)),
    failed: metrics.failed.pipe(Metric.withAttributes(attributes)),
    charged: metrics.charged.pipe(Metric.withAttributes(attributes))
  }
}

/**
 * Counter handles per known offer, remembered per table (a new table starts a new memory, so
 * deleted offers are forgotten and the memory is bounded by the table's size). Unknown offers
 * share the one series with empty labels.
 */
const unknownCounters = countersFor(undefined)
const counterMemory = new WeakMap<RouteTable.RouteTable<Routes.Loaded>, Map<string, OfferCounters>>()
const counters = (table: RouteTable.RouteTable<Routes.Loaded>, offer: string | undefined): OfferCounters => {
  if (offer === undefined) return unknownCounters
  let byOffer = counterMemory.get(table)
  if (byOffer === undefined) {
    byOffer = new Map()
    counterMemory.set(table, byOffer)
  }
  let known = byOffer.get(offer)
  if (known === undefined) {
    known = countersFor(offer)
    byOffer.set(offer, known)
  }
  return known
}

const failures: ReadonlySet<Decision.Answer["outcome"]> = new Set(["Malformed", "Mismatch", "Invalid", "SettleFailed"])

/**
 * Responses built once for answers encoded ahead of time (402s), keyed by their frozen headers
 * object, which `Requirements.paymentRequired` hands out once per route generation and resource.
 * Responses are immutable values, so one serves every request that gets the same answer.
 */
const prebuilt = new WeakMap<object, HttpServerResponse.HttpServerResponse>()

const respond = (answer: Decision.Answer | "Pass") => {
  if (answer === "Pass") return HttpServerResponse.empty({ status: 200 })
  if (answer.bodyJson !== undefined) {
    const known = prebuilt.get(answer.headers)
    if (known !== undefined && known.status === answer.status) return known
    const response = HttpServerResponse.text(answer.bodyJson, {
      status: answer.status,
      headers: answer.headers,
      contentType: "application/json"
    })
    prebuilt.set(answer.headers, response)
    return response
  }
  return answer.body === undefined
    ? HttpServerResponse.empty({ status: answer.status, headers: answer.headers })
    : HttpServerResponse.jsonUnsafe(answer.body, { status: answer.status, headers: answer.headers })
}

/**
 * `/verify/:namespace/:name` and `/verify` for an `HttpRouter`.
 *
 * @category layers
 */
export const routes = (settings: Pick<Settings, "allowUnknownPaths">) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const holder = yield* Table
      const facilitator = yield* Facilitator.Facilitator
      const serve = (identity: string | undefined) =>
        Effect.gen(function* () {
          // Counters and the latency histogram are updated in one synchronous step at the end
          // (`updateUnsafe` against this fibre's context): this is the hot path of every request.
          const context = yield* Effect.context<never>()
          const clock = Context.get(context, Clock.Clock)
          const started = clock.currentTimeMillisUnsafe()
          const request = yield* HttpServerRequest.HttpServerRequest
          const headers = request.headers as Readonly<Record<string, string | undefined>>
          const table = holder.get()
          const { answer, offer } = yield* handle(
            table,
            identity === undefined ? { headers } : { identity, headers },
            settings
          ).pipe(Effect.provideService(Facilitator.Facilitator, facilitator))
          const offerCounters = counters(table, offer)
          offerCounters.requests.updateUnsafe(1, context)
          if (answer !== "Pass") {
            if (answer.outcome === "Required") offerCounters.required.updateUnsafe(1, context)
            if (answer.outcome === "Settled") {
              offerCounters.verified.updateUnsafe(1, context)
              offerCounters.charged.updateUnsafe(1, context)
            }
            if (failures.has(answer.outcome)) offerCounters.failed.updateUnsafe(1, context)
          }
          metrics.latency.updateUnsafe((clock.currentTimeMillisUnsafe() - started) / 1000, context)
          return respond(answer)
        })
      return Layer.mergeAll(
        HttpRouter.add(
          "*",
          "/verify/:namespace/:name",
          Effect.flatMap(HttpRouter.params, (p) => serve(`${p["namespace"]}/${p["name"]}`))
        ),
        HttpRouter.add("*", "/verify", serve(undefined))
      )
    })
  )
