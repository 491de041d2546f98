/**
 * The verifier as the HTTPRoute backend of pay-on-success offers (docs/adr/0010-pay-on-success.md):
 * every request on the verifier's port that is not `/verify…` lands here, and is answered in
 * this order, failing closed at each step:
 *
 * | step | the buyer gets |
 * |---|---|
 * | the path cannot be normalised (`PathMatch.normalize`) | 400 |
 * | no admitted route matches it, or the route settles `upfront` | 404 (unknown paths are never proxied) |
 * | `x-obol-route: <uid>/<generation>` names a route or generation this replica has not loaded | 503, upstream not called |
 * | the route's upstream has no ready endpoint (`Upstreams`) | 503, nothing charged |
 * | the route sends a credential (`spec.upstream.authorization`) not read yet or gone (`Credentials`) | 503, nothing charged |
 * | no payment, or one that fails the local checks (`Decision.local`) | 402 with the requirements (a page for browsers) / 400 |
 * | a payment | `PayOnSuccess.forward`: charged only for an answer below 400 |
 *
 * The upstream is asked for the path without the route's public prefix (`Routes.Loaded.prefix`),
 * normalised and re-encoded segment by segment, with the query as sent; an empty rest is `/`.
 *
 * Metrics are the ForwardAuth path's, by offer: requests, payment required, verified (the
 * facilitator accepted the payment), failed (refused payments, declined settles) and charged
 * (only on a confirmed settle).
 *
 * It does not pick the upstream's address (`Upstreams`), decide payments (`Decision`) or proxy
 * (`PayOnSuccess`); it wires them to the route table.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Layer, Option, Redacted, Result } from "effect"
import { type HttpClient, HttpRouter, HttpServerRequest, type HttpServerResponse } from "effect/http"
import * as PaymentRoute from "@obol/api/PaymentRoute"
import * as UpstreamAuthorization from "@obol/api/UpstreamAuthorization"
import type * as Facilitator from "@obol/x402/Facilitator"
import * as Credentials from "./Credentials.ts"
import * as Decision from "./Decision.ts"
import * as PathMatch from "./PathMatch.ts"
import * as PayOnSuccess from "./PayOnSuccess.ts"
import type * as Routes from "./Routes.ts"
import type * as RouteTable from "./RouteTable.ts"
import * as Upstreams from "./Upstreams.ts"
import * as Verifier from "./Verifier.ts"

/**
 * The request header the controller's HTTPRoute sets (a `RequestHeaderModifier` _set_, so a buyer
 * cannot choose it): the PaymentRoute uid and the generation it saw admitted.
 *
 * @category constants
 */
export const pinHeader = "x-obol-route"

/**
 * Reads `<uid>/<generation>` from the pin header; undefined without one.
 *
 * @category constructors
 */
export const pinOf = (value: string | undefined): Verifier.Pin | undefined => {
  if (value === undefined) return undefined
  const slash = value.lastIndexOf("/")
  const route = slash === -1 ? "" : value.slice(0, slash)
  const generation = slash === -1 ? "" : value.slice(slash + 1)
  if (route === "" || !/^\d{1,15}$/u.test(generation)) {
    return { invalid: `the ${pinHeader} header must be <uid>/<generation>, got ${JSON.stringify(value.slice(0, 100))}` }
  }
  return { route, generation: Number(generation) }
}

/** `encodeURIComponent`, leaving the characters a path segment may carry as they are (RFC 3986 pchar). */
const encodeSegment = (segment: string) =>
  segment
    // `PathMatch.normalize` keeps encoded slashes and backslashes encoded: they stay so.
    .split(/(%2F|%5C)/u)
    .map((piece, i) =>
      i % 2 === 1
        ? piece
        : encodeURIComponent(piece).replace(/%(?:21|24|26|27|28|29|2A|2B|2C|3A|3B|3D|40)/gu, decodeURIComponent)
    )
    .join("")

/**
 * What the upstream is asked for: the normalised path without the route's public prefix (every
 * segment re-encoded, so a decoded `?`, `#` or `\` can never change the URL's meaning), `/` when
 * nothing is left, and the request's query as sent.
 *
 * @category constructors
 */
export const upstreamPath = (normalized: string, prefix: string, url: string): string => {
  const rest = normalized.startsWith(prefix) ? normalized.slice(prefix.length) : normalized
  const path = rest === "" ? "/" : rest.split("/").map(encodeSegment).join("/")
  const query = url.indexOf("?")
  const hash = url.indexOf("#")
  return query === -1 ? path : `${path}${url.slice(query, hash === -1 || hash < query ? undefined : hash)}`
}

const json = (status: number, error: string, headers: Record<string, string> = {}): Decision.Answer => ({
  status,
  outcome: "Unknown",
  headers: { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers },
  body: { error }
})

/**
 * The 404 for a path no pay-on-success route serves.
 *
 * @category constants
 */
export const notFound = json(404, "no paid service is offered at this path")

/**
 * The 503 when the route's Service has no ready instance.
 *
 * @category constants
 */
export const noReadyInstance = json(503, "the service has no ready instance; nothing was charged", {
  "Retry-After": "5"
})

/**
 * The 503 when the route's upstream credential can no longer be read (the seller has to act).
 *
 * @category constants
 */
export const noCredential = json(
  503,
  "the service is not available right now (its seller's upstream credential is missing); nothing was charged",
  { "Retry-After": "30" }
)

/**
 * The 503 while this replica has not read the route's upstream credential yet (it just started).
 *
 * @category constants
 */
export const credentialPending = json(503, "the service is starting; nothing was charged, try again shortly", {
  "Retry-After": "2"
})

const verifiedOutcomes: ReadonlySet<PayOnSuccess.Outcome> = new Set([
  "Unreachable",
  "Timeout",
  "NotCharged",
  "Settled",
  "SettleFailed",
  "SettleUnavailable"
])

type Served =
  | { readonly _tag: "Answered"; readonly answer: Decision.Answer; readonly offer: string | undefined }
  | {
      readonly _tag: "Forwarded"
      readonly outcome: PayOnSuccess.Outcome
      readonly response: HttpServerResponse.HttpServerResponse
      readonly offer: string
    }

/**
 * Serves one request on the proxy path against one table (see the table above).
 *
 * @category constructors
 */
export const serve = Effect.fn("Backend.serve")(function* (
  table: RouteTable.RouteTable<Routes.Loaded>,
  request: HttpServerRequest.HttpServerRequest
) {
  const arrived = yield* Clock.currentTimeMillis
  const upstreams = yield* Upstreams.Upstreams
  const headers = request.headers as Readonly<Record<string, string | undefined>>
  const answered = (answer: Decision.Answer, offer?: string): Served => ({ _tag: "Answered", answer, offer })
  const path = PathMatch.normalize(request.url)
  if (Result.isFailure(path)) {
    return answered({ ...json(400, path.failure), outcome: "Malformed" })
  }
  const found = table.match(path.success)
  if (
    Option.isNone(found) ||
    found.value.value.settlement !== "onSuccess" ||
    found.value.value.upstream === undefined
  ) {
    return answered(notFound)
  }
  const route: Routes.Loaded = found.value.value
  const offer = found.value.offer
  const pin = pinOf(headers[pinHeader])
  if (pin !== undefined && !Verifier.serves(route, pin)) return answered(Verifier.notLoaded(pin), offer)
  // Before the 402 too: a buyer is not asked to sign for a service that cannot answer.
  const upstream = upstreams.resolve(route.upstream!)
  if (Option.isNone(upstream)) return answered(noReadyInstance, offer)
  let authorization: Redacted.Redacted<string> | undefined
  if (route.authorization !== undefined) {
    const credentials = yield* Effect.serviceOption(Credentials.Credentials)
    const credential = Option.isSome(credentials) ? credentials.value.get(route.authorization.ref) : undefined
    if (credential?._tag === "Pending") return answered(credentialPending, offer)
    if (credential?._tag !== "Ready") return answered(noCredential, offer)
    authorization = Redacted.make(
      UpstreamAuthorization.headerValue(route.authorization, Redacted.value(credential.value))
    )
  }

  const url = `${headers["x-forwarded-proto"] ?? "http"}://${headers["x-forwarded-host"] ?? headers["host"] ?? "localhost"}${request.url}`
  const decided = Decision.local({ route: Option.some(route.requirement), headers, resource: { url } })
  if (decided._tag === "Answered") {
    return answered(Verifier.forBrowsers(decided.answer, route, { accept: headers["accept"], url }), offer)
  }
  const { outcome, response } = yield* PayOnSuccess.forward(request, {
    checked: decided,
    upstream: upstream.value,
    path: upstreamPath(path.success, route.prefix, request.url),
    timeout: Duration.seconds(route.requirement.maxTimeoutSeconds),
    deadline: arrived + PaymentRoute.requestTimeoutSeconds(route.requirement.maxTimeoutSeconds) * 1000,
    ...(authorization === undefined ? {} : { authorization })
  })
  return { _tag: "Forwarded", outcome, response, offer } satisfies Served
})

/**
 * The catch-all route (`*` on every path the router has no other route for) for an `HttpRouter`.
 *
 * @category layers
 */
export const routes: Layer.Layer<
  never,
  never,
  | Verifier.Table
  | Upstreams.Upstreams
  | Facilitator.Facilitator
  | HttpClient.HttpClient
  | PayOnSuccess.InFlight
  | HttpRouter.HttpRouter
> = Layer.unwrap(
  Effect.gen(function* () {
    const holder = yield* Verifier.Table
    const services = yield* Effect.context<
      Upstreams.Upstreams | Facilitator.Facilitator | HttpClient.HttpClient | PayOnSuccess.InFlight
    >()
    const handler = Effect.gen(function* () {
      const context = yield* Effect.context<never>()
      const request = yield* HttpServerRequest.HttpServerRequest
      const table = holder.get()
      const served = yield* serve(table, request).pipe(Effect.provideContext(services))
      const counters = Verifier.counters(table, served.offer)
      counters.requests.updateUnsafe(1, context)
      if (served._tag === "Answered") {
        const outcome = served.answer.outcome
        if (outcome === "Required") counters.required.updateUnsafe(1, context)
        if (outcome === "Malformed" || outcome === "Mismatch") counters.failed.updateUnsafe(1, context)
        return Verifier.respond(served.answer)
      }
      const outcome = served.outcome
      if (verifiedOutcomes.has(outcome)) counters.verified.updateUnsafe(1, context)
      if (outcome === "Settled") counters.charged.updateUnsafe(1, context)
      if (
        outcome === "Duplicate" ||
        outcome === "SettleFailed" ||
        (outcome === "Refused" && served.response.status === 402)
      ) {
        counters.failed.updateUnsafe(1, context)
      }
      return served.response
    })
    return HttpRouter.add("*", "/*", handler)
  })
)
