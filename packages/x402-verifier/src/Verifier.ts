/**
 * The x402 verifier: PaymentRoute and ServiceOffer informers feeding an immutable route table, an
 * admission writer, and the ForwardAuth endpoints Traefik calls.
 *
 * - Every change to a PaymentRoute, every ServiceOffer appearing, disappearing or being
 *   recreated, and every upstream credential changing, re-decides what it touches (`Admission`:
 *   the offer's routes, and the routes whose path claims overlap the changed one; the rules are
 *   `Routes`') and swaps the updated table in one step; requests in flight keep the table they
 *   started with. A relist re-decides everything. ServiceOffers are cached as metadata only. An
 *   owner the cache has not seen is read live once before a route is rejected for it.
 * - Admission: each route's `status.admitted`/`lastAdmittedGeneration` (or `reason`/`message`
 *   when it cannot be served) is written with server-side apply on `/status`, field manager
 *   `x402-verifier`, only when it differs from what the object already says, and with the
 *   `resourceVersion` it was decided on: a replica whose cache is behind gets `Conflict` instead of
 *   overwriting a newer admission. Replicas that are current write the same values.
 * - `/verify/<namespace>/<name>` serves the offer named in the Middleware address; its query pins
 *   the route object and generation (`?route=<uid>&generation=<n>`), and a replica that has not
 *   loaded that generation of that route answers 503, never an older price. `/verify` without an
 *   identity falls back to path matching over all routes and denies unknown paths (403, unless
 *   `allowUnknownPaths`, for gateways that also route free traffic through it). Resource URLs come
 *   from Traefik's `X-Forwarded-Proto/-Host/-Uri`.
 *
 * Metrics by offer: `obol_x402_verifier_requests_total`, `…_payment_required_total`,
 * `…_payment_verified_total`, `…_payment_failed_total`, `…_charged_requests_total` (only after a
 * confirmed settle), and `obol_x402_verifier_decision_seconds`.
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Layer, Metric, Option, Queue, Result, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import { Health } from "@obol/controller/Health"
import * as Informers from "@obol/controller/Informers"
import * as Reflector from "@obol/controller/Reflector"
import * as Store from "@obol/controller/Store"
import * as ApplyConfiguration from "@obol/kube/ApplyConfiguration"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as ResourceKind from "@obol/kube/ResourceKind"
import * as Facilitator from "@obol/x402/Facilitator"
import * as Admission from "./Admission.ts"
import * as Credentials from "./Credentials.ts"
import * as Decision from "./Decision.ts"
import * as Paywall from "./Paywall.ts"
import * as PathMatch from "./PathMatch.ts"
import * as Routes from "./Routes.ts"
import * as RouteTable from "./RouteTable.ts"

/**
 * @category models
 */
export interface Settings {
  /** Namespaces whose PaymentRoutes and ServiceOffers are served; all when undefined. */
  readonly namespaces?: ReadonlyArray<string>
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
 * ServiceOffers as the verifier sees them: identity and age only (it checks route owners and
 * orders path claims; it never reads an offer's spec).
 *
 * @category constants
 */
export const OfferIdentity = ResourceKind.metadataOnly(ServiceOffer)

const retryAfterFailure = Duration.seconds(5)

/**
 * Keeps the table in step with the PaymentRoutes and ServiceOffers (read through the process's
 * shared `Informers`) and writes each route's admission. Registers a readiness check (both kinds
 * listed, neither watch failing) when `Health` is present.
 *
 * @category layers
 */
export const informer = (settings: Settings) =>
  Layer.effect(
    Table,
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const facilitator = yield* Facilitator.Facilitator
      // Without Credentials (tests, a verifier that serves no credentialed offers) every
      // upstream credential is missing: such routes are rejected, never served without it.
      const credentials = yield* Effect.serviceOption(Credentials.Credentials)
      const holder = RouteTable.holder<Routes.Loaded>()
      // One watch per namespace when a set is configured, one over all namespaces otherwise.
      const selections =
        settings.namespaces === undefined ? [{}] : settings.namespaces.map((namespace) => ({ namespace }))
      // The process's shared informers (`Manager` provides them), or private ones in tests.
      const informers = yield* Informers.current
      const routes = yield* Effect.forEach(selections, (s) => informers.informer(PaymentRoute, s))
      const offers = yield* Effect.forEach(selections, (s) => informers.informer(OfferIdentity, s))
      const health = yield* Effect.serviceOption(Health)
      if (Option.isSome(health)) {
        yield* health.value.register("x402-verifier routes", Reflector.readiness([...routes, ...offers]))
      }
      const ready = () => [...routes, ...offers].every((r) => r.store.isReady())
      const cachedOffer = (key: string) => {
        for (const reflector of offers) {
          const found = reflector.store.get(key)
          if (Option.isSome(found)) return found
        }
        return Option.none()
      }
      /** The admission status last sent per route (by uid), so a pending write is not repeated. */
      const written = new Map<string, string>()
      /** Offers a live read found missing, and the reads under way. */
      const absent = new Set<string>()
      const confirming = new Set<string>()
      /**
       * What changed since the last step, as the watches reported it (the step reads the objects
       * from the stores, which already hold them). A relist, and the start, re-decide everything.
       */
      const touched = {
        routes: new Set<string>(),
        offers: new Set<string>(),
        allRoutes: true,
        allOffers: false,
        credentials: false,
        /** Re-send every verdict's write (or live read): a write or read failed. */
        resend: false
      }
      /**
       * "Something changed": one slot, so a burst of events while a step runs costs one more step,
       * not one per event (`touched` holds them all).
       */
      const dirty = yield* Queue.dropping<void>(1)
      const wake = Queue.offer(dirty, undefined)
      const recheckLater = Effect.sleep(retryAfterFailure).pipe(
        Effect.andThen(
          Effect.suspend(() => {
            touched.resend = true
            return wake
          })
        ),
        Effect.forkScoped,
        Effect.asVoid
      )

      const supportedNetworks = facilitator.supported.pipe(
        Effect.map(
          (s) => new Set(s.kinds.filter((k) => k.scheme === "exact").map((k) => k.network)) as ReadonlySet<string>
        ),
        Effect.option
      )

      const owner = (offer: string): Routes.Owner => {
        const cached = cachedOffer(offer)
        if (Option.isSome(cached)) {
          const meta = cached.value.metadata
          return { _tag: "Present", uid: meta.uid ?? "", creationTimestamp: meta.creationTimestamp ?? "" }
        }
        return absent.has(offer) ? { _tag: "Absent" } : { _tag: "Unseen" }
      }

      /** An owner the cache has not seen: a live read decides between "not yet" and "never". */
      const confirm = (offer: string) => {
        if (confirming.has(offer)) return Effect.void
        confirming.add(offer)
        const ref = Store.refOf(offer)
        return KubeError.ignoreNotFound(
          client.get(OfferIdentity, { namespace: ref.namespace ?? "", name: ref.name })
        ).pipe(
          Effect.matchEffect({
            // Present: its watch event is on the way and will rebuild.
            onSuccess: (found) =>
              Option.isSome(found)
                ? Effect.void
                : Effect.sync(() => {
                    absent.add(offer)
                    touched.offers.add(offer)
                  }).pipe(Effect.andThen(wake), Effect.asVoid),
            onFailure: (error) =>
              Effect.logWarning("Reading a PaymentRoute's ServiceOffer failed").pipe(
                Effect.annotateLogs({ offer, error: error.message }),
                Effect.andThen(recheckLater),
                Effect.asVoid
              )
          }),
          Effect.ensuring(Effect.sync(() => confirming.delete(offer))),
          Effect.forkScoped,
          Effect.asVoid
        )
      }

      const admit = (route: PaymentRoute, verdict: Extract<Routes.Verdict, { _tag: "Admitted" | "Rejected" }>) => {
        const status = route.status ?? {}
        const desired =
          verdict._tag === "Admitted"
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
        return ApplyConfiguration.applyStatus(
          client,
          PaymentRoute,
          ApplyConfiguration.make(PaymentRoute, {
            apiVersion: route.apiVersion,
            kind: route.kind,
            metadata: {
              name: route.metadata.name ?? "",
              namespace: route.metadata.namespace ?? "default",
              // What this verdict was decided from: a replica whose cache is behind must not
              // overwrite a newer admission (the API server answers Conflict instead).
              ...(route.metadata.resourceVersion === undefined
                ? {}
                : { resourceVersion: route.metadata.resourceVersion })
            },
            status: desired
          }),
          { fieldManager: settings.fieldManager, force: true }
        ).pipe(
          Effect.catch((error) => {
            const forget = Effect.sync(() => written.delete(key))
            // The route changed or went away since we read it: its watch event brings the rest.
            if (error.reason === "Conflict" || error.reason === "NotFound") return forget.pipe(Effect.asVoid)
            return forget.pipe(
              Effect.andThen(Effect.logWarning("Writing PaymentRoute admission failed")),
              Effect.annotateLogs({
                route: `${route.metadata.namespace}/${route.metadata.name}`,
                error: error.message
              }),
              Effect.andThen(recheckLater)
            )
          })
        )
      }

      const cachedRoute = (key: string) => {
        for (const reflector of routes) {
          const found = reflector.store.get(key)
          if (Option.isSome(found)) return found
        }
        return Option.none()
      }
      const admission = Admission.make({
        facilitatorUrl: settings.facilitatorUrl,
        owner,
        ...(Option.isSome(credentials) ? { credential: credentials.value.get } : {})
      })
      /** The upstream credential Secret each held route sends (`namespace/name`), and how many send each. */
      const secretOf = new Map<string, string>()
      const senders = new Map<string, number>()
      const trackSecret = (key: string, route: PaymentRoute | undefined) => {
        const before = secretOf.get(key)
        const credential =
          route === undefined || route.metadata.deletionTimestamp !== undefined ? undefined : Routes.credentialOf(route)
        const after = credential === undefined ? undefined : Credentials.secretOf(credential.ref)
        if (before === after) return false
        if (before !== undefined) {
          const left = senders.get(before)! - 1
          if (left === 0) senders.delete(before)
          else senders.set(before, left)
          secretOf.delete(key)
        }
        if (after !== undefined) {
          senders.set(after, (senders.get(after) ?? 0) + 1)
          secretOf.set(key, after)
        }
        return true
      }

      /**
       * Re-decides what changed since the last step, swaps the table, and writes the verdicts of
       * the routes that changed or whose own object changed (its status may need repair).
       */
      const step = Effect.fn("Verifier.step")(function* () {
        if (!ready()) return
        const networks = yield* supportedNetworks
        const take = { ...touched, routes: touched.routes, offers: touched.offers }
        touched.routes = new Set()
        touched.offers = new Set()
        touched.allRoutes = touched.allOffers = touched.credentials = touched.resend = false

        admission.networks(Option.getOrUndefined(networks))
        let secretsChanged = take.allRoutes
        const put = (key: string, route: Option.Option<PaymentRoute>) => {
          if (trackSecret(key, Option.getOrUndefined(route))) secretsChanged = true
          if (Option.isSome(route)) admission.put(route.value)
          else admission.remove(key)
        }
        const seen = new Set<string>()
        if (take.allRoutes) {
          for (const route of routes.flatMap((r) => r.store.list())) {
            const key = `${route.metadata.namespace}/${route.metadata.name}`
            seen.add(key)
            put(key, Option.some(route))
          }
          for (const key of [...admission.keys(), ...secretOf.keys()]) if (!seen.has(key)) put(key, Option.none())
        } else for (const key of take.routes) put(key, cachedRoute(key))
        if (take.allOffers) admission.offersChanged()
        else for (const offer of take.offers) admission.offerChanged(offer)
        if (take.credentials) admission.credentialsChanged()
        // Watch exactly the Secrets that live routes send upstream, before deciding with them.
        if (secretsChanged && Option.isSome(credentials)) yield* credentials.value.track(new Set(senders.keys()))

        const { table, changed } = admission.commit()
        holder.set(table)
        for (const offer of absent)
          if (!admission.references(offer) || Option.isSome(cachedOffer(offer))) absent.delete(offer)

        const writes = take.resend || take.allRoutes ? admission.keys() : new Set([...changed.keys(), ...take.routes])
        yield* Effect.forEach(
          writes,
          (key) => {
            const verdict = admission.verdict(key)
            const route = cachedRoute(key)
            if (verdict === undefined || verdict._tag === "Pending" || Option.isNone(route)) return Effect.void
            return verdict._tag === "Unconfirmed" ? confirm(verdict.offer) : admit(route.value, verdict)
          },
          { concurrency: 8, discard: true }
        )
      })

      type Offer = typeof OfferIdentity.schema.Type
      const identity = (o: Offer | undefined) =>
        o === undefined ? undefined : `${o.metadata.uid}|${o.metadata.creationTimestamp}`
      /**
       * Whether an offer change touches anything a decision reads (uid, age, presence), judged
       * against what the store held before; other offer changes (status, labels) are skipped.
       */
      const offerChanged = (change: Reflector.Change<Offer>) => {
        switch (change._tag) {
          case "Error":
            return false
          case "Restarted":
            return true
          case "Applied":
            return identity(change.previous) !== identity(change.object)
          case "Deleted":
            return change.previous !== undefined
        }
      }
      const onRoute = (event: Reflector.Change<PaymentRoute>) => {
        switch (event._tag) {
          case "Error":
            return false
          case "Restarted":
            touched.allRoutes = true
            return true
          case "Applied":
          case "Deleted":
            touched.routes.add(Store.keyOf(event.object))
            return true
        }
      }
      const onOffer = (event: Reflector.Change<Offer>) => {
        if (!offerChanged(event)) return false
        if (event._tag === "Restarted") touched.allOffers = true
        else if (event._tag !== "Error") touched.offers.add(Store.keyOf(event.object))
        return true
      }
      yield* Stream.mergeAll(
        [
          ...routes.map((r) => r.changes.pipe(Stream.map(onRoute))),
          ...offers.map((r) => r.changes.pipe(Stream.map(onOffer))),
          ...(Option.isSome(credentials)
            ? [
                credentials.value.changes.pipe(
                  Stream.map(() => {
                    touched.credentials = true
                    return true
                  })
                )
              ]
            : [])
        ],
        { concurrency: "unbounded" }
      ).pipe(
        Stream.runForEach((changed) => (changed ? wake : Effect.void)),
        Effect.forkScoped
      )
      yield* Queue.take(dirty).pipe(Effect.andThen(step()), Effect.forever, Effect.forkScoped)
      return holder
    })
  )

/**
 * The price a ForwardAuth address asks for: the PaymentRoute object (uid) and the generation the
 * controller saw admitted. A replica serves only that route at that generation or a newer one;
 * one whose cache is behind answers 503, never an older price (docs/adr/0007).
 *
 * @category models
 */
export type Pin = { readonly route: string; readonly generation: number } | { readonly invalid: string }

/**
 * Reads `?route=<uid>&generation=<n>` from a ForwardAuth address's query; undefined without them.
 *
 * @category constructors
 */
export const pinOf = (
  params: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
): Pin | undefined => {
  const route = params["route"]
  const generation = params["generation"]
  if (route === undefined && generation === undefined) return undefined
  if (typeof route !== "string" || route === "" || typeof generation !== "string" || !/^\d{1,15}$/u.test(generation)) {
    return {
      invalid: `the ForwardAuth address must pin ?route=<uid>&generation=<integer>, got route=${String(route)} generation=${String(generation)}`
    }
  }
  return { route, generation: Number(generation) }
}

/**
 * Whether a loaded route is the pinned object at the pinned generation or a newer one.
 *
 * @category predicates
 */
export const serves = (loaded: Routes.Loaded, pin: Pin) =>
  "route" in pin && loaded.uid === pin.route && loaded.generation >= pin.generation

/**
 * The 503 for a pin this replica does not serve (or an invalid pin).
 *
 * @category constructors
 */
export const notLoaded = (pin: Pin): Decision.Answer => ({
  status: 503,
  outcome: "Unknown",
  headers: { "Content-Type": "application/json", "Cache-Control": "no-store", "Retry-After": "1" },
  body: {
    error:
      "invalid" in pin
        ? pin.invalid
        : `this verifier has not loaded generation ${pin.generation} of this offer's price yet; try again shortly`
  }
})

/**
 * A browser's 402 is a page with the same PAYMENT-REQUIRED header (`Paywall.ts`); every other
 * answer, and every answer to a client that prefers JSON, is returned as it is.
 *
 * @category constructors
 */
export const forBrowsers = (
  answer: Decision.Answer,
  route: Routes.Loaded,
  request: { readonly accept: string | undefined; readonly url: string }
): Decision.Answer =>
  answer.status === 402 && Paywall.wantsHtml(request.accept)
    ? {
        ...answer,
        headers: { ...answer.headers, "Content-Type": "text/html; charset=utf-8" },
        bodyHtml: Paywall.render({
          route: route.requirement,
          resource: { url: request.url },
          ...(typeof (answer.body as { error?: unknown } | undefined)?.error === "string" &&
          answer.outcome !== "Required"
            ? { error: (answer.body as { error: string }).error }
            : {})
        })
      }
    : answer

/**
 * The answer to one ForwardAuth request, from the current table, and the offer it was for when
 * the table knows that offer (`undefined` otherwise, so callers can't be made to mint new metric
 * series by asking about made-up offers).
 *
 * @category constructors
 */
export const handle = (
  table: RouteTable.RouteTable<Routes.Loaded>,
  request: {
    readonly identity?: string
    /** The route object and generation the ForwardAuth address pins (see {@link pinOf}). */
    readonly pin?: Pin
    readonly headers: Readonly<Record<string, string | undefined>>
  },
  settings: Pick<Settings, "allowUnknownPaths">
): Effect.Effect<
  { readonly answer: Decision.Answer | "Pass"; readonly offer: string | undefined },
  never,
  Facilitator.Facilitator
> => {
  const local = handleLocal(table, request.identity, request.pin, request.headers, settings)
  return Effect.map(local._tag === "Handled" ? Effect.succeed(local) : settleHandled(local), ({ answer, offer }) => ({
    answer,
    offer
  }))
}

/** What {@link handleLocal} decides: the answer, or the payment still to settle. */
type Handled =
  | {
      readonly _tag: "Handled"
      readonly answer: Decision.Answer | "Pass"
      readonly offer: string | undefined
    }
  | {
      readonly _tag: "Settle"
      readonly decided: Decision.Checked
      readonly route: Routes.Loaded
      readonly offer: string
      readonly accept: string | undefined
      readonly url: string
    }

const handledAnswer = (
  answer: Decision.Answer | "Pass",
  offer: string | undefined
): Extract<Handled, { readonly _tag: "Handled" }> => ({
  _tag: "Handled",
  answer,
  offer
})

const malformedUri = (error: string): Decision.Answer => ({
  status: 400,
  outcome: "Malformed",
  headers: { "Content-Type": "application/json" },
  body: { error }
})

const unknownPath: Decision.Answer = {
  status: 403,
  outcome: "Unknown",
  headers: { "Content-Type": "application/json" },
  body: { error: "no paid route matches this path" }
}

/**
 * The synchronous part of {@link handle}: everything but the facilitator's verify and settle, as
 * plain calls (no effect, closure or option built per request on the way to a 402).
 */
const handleLocal = (
  table: RouteTable.RouteTable<Routes.Loaded>,
  identity: string | undefined,
  pin: Pin | undefined,
  headers: Readonly<Record<string, string | undefined>>,
  settings: Pick<Settings, "allowUnknownPaths">
): Handled => {
  // Node's header records are lower-cased.
  const uri = headers["x-forwarded-uri"] ?? "/"
  const url = `${headers["x-forwarded-proto"] ?? "http"}://${headers["x-forwarded-host"] ?? "localhost"}${uri}`
  let route: Option.Option<RouteTable.Route<Routes.Loaded>>
  if (identity !== undefined) {
    route = table.byOffer(identity)
    if (Option.isSome(route) && pin !== undefined && !serves(route.value.value, pin)) {
      return handledAnswer(notLoaded(pin), route.value.offer)
    }
  } else {
    const path = PathMatch.normalize(uri)
    if (Result.isFailure(path)) return handledAnswer(malformedUri(path.failure), undefined)
    route = table.match(path.success)
    if (Option.isNone(route)) return handledAnswer(settings.allowUnknownPaths ? "Pass" : unknownPath, undefined)
  }
  const loaded = Option.isSome(route) ? route.value.value : undefined
  const offer = Option.isSome(route) ? route.value.offer : undefined
  const decided = Decision.localFor(loaded?.requirement, headers, { url })
  if (decided._tag === "Answered") {
    return handledAnswer(
      loaded === undefined ? decided.answer : forBrowsers(decided.answer, loaded, { accept: headers["accept"], url }),
      offer
    )
  }
  // A payment to settle has a route (`localFor` answers without one).
  return { _tag: "Settle", decided, route: loaded!, offer: offer!, accept: headers["accept"], url }
}

const settleHandled = (
  pending: Extract<Handled, { readonly _tag: "Settle" }>
): Effect.Effect<Extract<Handled, { readonly _tag: "Handled" }>, never, Facilitator.Facilitator> =>
  Effect.map(Decision.settle(pending.decided), (answer) =>
    handledAnswer(forBrowsers(answer, pending.route, { accept: pending.accept, url: pending.url }), pending.offer)
  )

/**
 * The counters of one offer.
 *
 * @category models
 */
export interface OfferCounters {
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
/**
 * The counters of an offer the table knows (the shared empty-label series otherwise).
 *
 * @category getters
 */
export const counters = (table: RouteTable.RouteTable<Routes.Loaded>, offer: string | undefined): OfferCounters => {
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

/**
 * The HTTP response for an answer (402s encoded ahead of time are built once and reused).
 *
 * @category constructors
 */
export const respond = (answer: Decision.Answer | "Pass") => {
  if (answer === "Pass") return HttpServerResponse.empty({ status: 200 })
  if (answer.bodyHtml !== undefined) {
    return HttpServerResponse.text(answer.bodyHtml, {
      status: answer.status,
      headers: answer.headers,
      contentType: "text/html; charset=utf-8"
    })
  }
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
      // The hot path of every request, as plain calls: one effect per request (`withFiber`) and
      // another only when a payment goes to the facilitator, no generator. Counters and the
      // latency histogram are updated in one synchronous step at the end (`updateUnsafe` against
      // the fibre's context).
      const finish = (
        context: Context.Context<never>,
        clock: Clock.Clock,
        started: number,
        table: RouteTable.RouteTable<Routes.Loaded>,
        answer: Decision.Answer | "Pass",
        offer: string | undefined
      ) => {
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
      }
      const serve = (
        context: Context.Context<never>,
        identity: string | undefined,
        pin: Pin | undefined
      ): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
        const clock = Context.get(context, Clock.Clock)
        const started = clock.currentTimeMillisUnsafe()
        const request = Context.getUnsafe(
          context as Context.Context<HttpServerRequest.HttpServerRequest>,
          HttpServerRequest.HttpServerRequest
        )
        const headers = request.headers as Readonly<Record<string, string | undefined>>
        const table = holder.get()
        const local = handleLocal(table, identity, pin, headers, settings)
        if (local._tag === "Handled") {
          return Effect.succeed(finish(context, clock, started, table, local.answer, local.offer))
        }
        return Effect.map(
          Effect.provideService(settleHandled(local), Facilitator.Facilitator, facilitator),
          (settled) => finish(context, clock, started, table, settled.answer, settled.offer)
        )
      }
      return Layer.mergeAll(
        HttpRouter.add(
          "*",
          "/verify/:namespace/:name",
          Effect.withFiber((fiber) => {
            const context = fiber.context as Context.Context<
              HttpRouter.RouteContext | HttpServerRequest.ParsedSearchParams
            >
            const p = Context.getUnsafe(context, HttpRouter.RouteContext).params
            const pin = pinOf(Context.getUnsafe(context, HttpServerRequest.ParsedSearchParams))
            return serve(context as Context.Context<never>, `${p["namespace"]}/${p["name"]}`, pin)
          })
        ),
        HttpRouter.add(
          "*",
          "/verify",
          Effect.withFiber((fiber) => serve(fiber.context as Context.Context<never>, undefined, undefined))
        )
      )
    })
  )
