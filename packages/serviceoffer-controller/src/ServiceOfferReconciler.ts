/**
 * The ServiceOffer reconciler: level-based, one pass from the current offer to the desired world.
 *
 * Expected flow (each step reads what exists; nothing depends on which event woke us):
 * 1. Deleting: withdraw the HTTPRoute, delete the RegistrationRequest and wait (bounded) for the
 *    registrar's tombstone, then release the finalizer; the garbage collector removes the rest.
 * 2. A new offer (no finalizer yet, no PaymentRoute) that can be priced: apply its PaymentRoute
 *    and nothing else, and requeue at once (behind the other offers already queued): in a burst
 *    every price reaches the verifier first, and is admitted while the rest is done.
 * 3. Ensure the finalizer `obol.org/serviceoffer-cleanup`.
 * 4. Compute the children (pure, `Children`). An offer that cannot be priced gets no route.
 *    Apply the PaymentRoute, then the Middleware whose ForwardAuth address pins that route and
 *    the generation the verifier admitted (server-side apply, one field manager).
 * 5. Fail closed: publish the HTTPRoute only when the verifier has admitted the PaymentRoute's
 *    current generation, the offer is not paused, and no older offer claims an overlapping path;
 *    otherwise make sure no HTTPRoute exists.
 * 6. Observe: admission → PaymentGateReady, the Gateway's verdict on the HTTPRoute →
 *    RoutePublished, the upstream probe → UpstreamHealthy, the model list → ModelReady (inference),
 *    the registrar's phase → Registered (never blocks Ready; True/Disabled when registration is off,
 *    so it is always present, as obol-stack users read it).
 * 7. Write status once, only when it changed; requeue after the health period.
 *
 * Steps 5 to 7 are observe → decide → act: the decisions are pure functions, table-tested where
 * they live (`Routing`: the route, the path claim, the gate and the Gateway's verdict;
 * `OfferStatus`: the conditions, Ready, phase and registration); this module gathers what they
 * need and carries out the verdict.
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Layer, Option, Random, Result } from "effect"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import { isPaused, pausedAnnotation, ServiceOffer } from "@obol/api/ServiceOffer"
import * as Action from "@obol/controller/Action"
import * as Canonical from "@obol/controller/Canonical"
import * as StatusWriter from "@obol/controller/StatusWriter"
import type * as Controller from "@obol/controller/Controller"
import { EventRecorder } from "@obol/controller/EventRecorder"
import * as Finalizer from "@obol/controller/Finalizer"
import * as Store from "@obol/controller/Store"
import { EndpointSlice, serviceNameLabel } from "@obol/kube/builtin/EndpointSlice"
import { HTTPRoute } from "@obol/kube/builtin/HTTPRoute"
import { Service } from "@obol/kube/builtin/Service"
import { ReferenceGrant } from "@obol/kube/builtin/ReferenceGrant"
import { Middleware } from "@obol/kube/builtin/Middleware"
import * as ApplyConfiguration from "@obol/kube/ApplyConfiguration"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import type * as ResourceKind from "@obol/kube/ResourceKind"
import * as Names from "@obol/api/Names"
import * as Children from "./Children.ts"
import * as OfferStatus from "./OfferStatus.ts"
import * as Routing from "./Routing.ts"
import * as UpstreamProbe from "./UpstreamProbe.ts"

type Offer = typeof ServiceOffer.schema.Type

/**
 * @category models
 */
export interface Settings extends Children.Settings {
  readonly fieldManager: string
  /** How often health is re-probed (jittered ±10 %). */
  readonly healthPeriod: Duration.Duration
  /** How long deletion waits for the registrar's tombstone before giving up (with an Event). */
  readonly tombstoneTimeout: Duration.Duration
}

/**
 * @category services
 */
export class ReconcilerSettings extends Context.Service<ReconcilerSettings, Settings>()(
  "@obol/serviceoffer-controller/ReconcilerSettings"
) {
  static readonly layer = (settings: Partial<Settings> = {}) =>
    Layer.succeed(ReconcilerSettings, {
      ...Children.defaultSettings,
      fieldManager: "serviceoffer-controller",
      healthPeriod: Duration.seconds(30),
      tombstoneTimeout: Duration.minutes(2),
      ...settings
    })
}

/** @category constants */
export const finalizer = "obol.org/serviceoffer-cleanup"

/**
 * The finalizer obol-stack's monetize.py put on offers. Nothing runs its cleanup any more, so an
 * offer carrying it could never be deleted: the controller removes it once the offer is being
 * deleted (never before: a monetize.py still running during a migration keeps its say until then).
 *
 * @category constants
 */
export const legacyFinalizer = "monetize.obol.org/finalizer"

/** Removes the legacy finalizer from an offer being deleted (exactly that entry, JSON-patch tested). */
const releaseLegacyFinalizer = (client: KubeClient.Shape, offer: Offer, index: number) =>
  KubeError.ignoreNotFound(
    client.patch(
      ServiceOffer,
      { namespace: offer.metadata.namespace ?? "default", name: offer.metadata.name ?? "" },
      {
        type: "json",
        patch: [
          { op: "test", path: `/metadata/finalizers/${index}`, value: legacyFinalizer },
          { op: "remove", path: `/metadata/finalizers/${index}` }
        ]
      }
    )
  )

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/u, "Z"))

const refOf = (offer: Offer, name: string) => ({ namespace: offer.metadata.namespace ?? "default", name })

/**
 * After a spec change the verifier still serves the previously admitted generation until it admits
 * the new one; an existing HTTPRoute may keep serving meanwhile (requests are charged the previous
 * price, never free). Not when the verifier rejected the route, and not before a first admission.
 */
const keepsServing = (context: Controller.Context, route: typeof PaymentRoute.schema.Type) =>
  route.status?.admitted === true &&
  route.status.reason === undefined &&
  Option.isSome(
    cached(context, HTTPRoute, {
      namespace: route.metadata.namespace ?? "default",
      name: Names.httpRoute(route.spec.offer.name)
    })
  )

/** A child as the controller's cache has it (children are owned or watched, so their informers hold them). */
const cached = <K extends ResourceKind.ResourceKind>(
  context: Controller.Context,
  kind: K,
  ref: { readonly namespace: string; readonly name: string }
) => context.store(kind).get(Store.key(ref))

/**
 * What one controller run last applied, per offer (`namespace/name`) and child
 * (`kind/namespace/name` → the manifest), so a steady offer costs no request (see
 * {@link applyChild}). An offer's entry goes with the offer (its cleanup), so the memory follows
 * the live offers.
 *
 * @category models
 */
export type Applied = Map<string, ChildManifests>

/**
 * One offer's part of {@link Applied}: each child's last applied manifest, canonical. (The entries
 * of an offer deleted before it got its finalizer, so without a cleanup, are pruned by a later
 * payment-gate-first pass once entries outnumber twice the cached offers.)
 */
type ChildManifests = Map<string, string>

const manifestsOf = (applied: Applied, offer: Offer): ChildManifests => {
  const key = Store.keyOf(offer)
  let mine = applied.get(key)
  if (mine === undefined) {
    mine = new Map()
    applied.set(key, mine)
  }
  return mine
}

/** A child's entry in {@link ChildManifests}: `kind/namespace/name`. */
const childKey = (kind: ResourceKind.ResourceKind, ref: { readonly namespace: string; readonly name: string }) =>
  `${kind.kind}/${ref.namespace}/${ref.name}`

/**
 * Server-side applies a child, unless this run applied exactly this manifest before and the cache
 * shows the object still holding every field of it (`Canonical.contains`): that apply would change
 * nothing. Both are needed: the cache alone cannot tell a field we stopped setting (which an apply
 * removes) from one someone else set, and the memory alone cannot see someone change our fields.
 * Right after our apply, before its watch event, the controller's context reads what the apply
 * answered (`@obol/controller/OwnWrites`), so the next pass does not apply it again.
 */
const applyChild = <K extends ResourceKind.ResourceKind>(
  client: KubeClient.Shape,
  context: Controller.Context,
  applied: ChildManifests,
  kind: K,
  config: NoInfer<ApplyConfiguration.ApplyConfiguration<K>>,
  options: KubeClient.ApplyOptions
) => {
  const manifest = ApplyConfiguration.toManifest<K>(config)
  const { apiVersion: _apiVersion, kind: _kind, ...fields } = manifest
  const ref = { namespace: manifest.metadata.namespace ?? "default", name: manifest.metadata.name }
  const key = childKey(kind, ref)
  const wanted = Canonical.canonical(manifest)
  const current = cached(context, kind, ref)
  if (applied.get(key) === wanted && Option.isSome(current) && Canonical.contains(current.value, fields)) {
    return Effect.succeed(current.value as K["schema"]["Type"])
  }
  applied.delete(key)
  return ApplyConfiguration.apply(client, kind, config, options).pipe(
    Effect.tap(() => Effect.sync(() => applied.set(key, wanted)))
  )
}

const deleteIfPresent = <K extends Parameters<KubeClient.Shape["delete"]>[0]>(
  client: KubeClient.Shape,
  kind: K,
  ref: { namespace: string; name: string }
) => KubeError.ignoreNotFound(client.delete(kind, ref)).pipe(Effect.asVoid)

/** The ReferenceGrants the controller applied for this offer, as its cache knows them (by their labels). */
const grantsOf = (context: Controller.Context, offer: Offer) => {
  const labels = Children.grantLabels(offer)
  return context
    .store(ReferenceGrant)
    .list()
    .filter((grant) => Object.entries(labels).every(([key, value]) => grant.metadata.labels?.[key] === value))
}

/** Deletes the offer's grants the cache knows, except those named in `keep` (`namespace/name`). */
const removeGrants = (
  client: KubeClient.Shape,
  context: Controller.Context,
  offer: Offer,
  keep: ReadonlySet<string> = new Set()
) =>
  Effect.forEach(
    grantsOf(context, offer).filter((grant) => !keep.has(Store.keyOf(grant))),
    (grant) =>
      deleteIfPresent(client, ReferenceGrant, {
        namespace: grant.metadata.namespace ?? "",
        name: grant.metadata.name ?? ""
      }),
    { discard: true }
  )

/**
 * Applies the grants the offer needs and removes the ones it no longer needs (moved to another
 * mode or upstream namespace). A grant the API server refuses for a reason retrying soon will not
 * fix (its namespace is missing, or the controller may not write there) is returned as a message
 * for the offer's status; other errors fail the reconcile and are retried.
 */
const syncGrants = (
  client: KubeClient.Shape,
  context: Controller.Context,
  applied: ChildManifests,
  offer: Offer,
  settings: Children.Settings,
  applyOptions: KubeClient.ApplyOptions
) =>
  Effect.gen(function* () {
    const wanted = Children.grants(offer, settings)
    let refused: string | undefined
    for (const grant of wanted) {
      const namespace = grant.metadata.namespace ?? ""
      const target = grant.spec?.to?.[0]?.name ?? "?"
      const refusal = yield* applyChild(client, context, applied, ReferenceGrant, grant, applyOptions).pipe(
        Effect.as(undefined),
        Effect.catchIf(
          (error) => error.reason === "NotFound" || error.reason === "Forbidden",
          (error) =>
            Effect.succeed(
              namespace === settings.verifierService.namespace && target === settings.verifierService.name
                ? `could not grant HTTPRoutes of namespace ${offer.metadata.namespace} the verifier's Service ${namespace}/${target} (ReferenceGrant in ${namespace}: ${error.message}); is the x402-verifier installed there, and is VERIFIER_SERVICE right?`
                : `could not grant HTTPRoutes of namespace ${offer.metadata.namespace} the upstream Service ${namespace}/${target} (ReferenceGrant in ${namespace}: ${error.message})`
            )
        )
      )
      refused ??= refusal
    }
    yield* removeGrants(
      client,
      context,
      offer,
      new Set(wanted.map((g) => `${g.metadata.namespace}/${g.metadata.name}`))
    )
    return refused
  })

/**
 * Removes every grant of a deleted offer: those its cache knows, and by name where the current spec
 * would put them (a cache that missed one cannot leave it behind).
 */
const deleteGrants = (
  client: KubeClient.Shape,
  context: Controller.Context,
  offer: Offer,
  settings: Children.Settings
) =>
  Effect.gen(function* () {
    const name = Names.referenceGrant(offer.metadata.namespace ?? "default", offer.metadata.name ?? "")
    const refs = new Map<string, { namespace: string; name: string }>()
    for (const namespace of [
      settings.verifierService.namespace,
      offer.spec.upstream.namespace ?? offer.metadata.namespace ?? "default"
    ]) {
      if (namespace !== (offer.metadata.namespace ?? "default")) refs.set(`${namespace}/${name}`, { namespace, name })
    }
    for (const grant of grantsOf(context, offer)) {
      refs.set(Store.keyOf(grant), { namespace: grant.metadata.namespace ?? "", name: grant.metadata.name ?? "" })
    }
    for (const ref of refs.values()) yield* deleteIfPresent(client, ReferenceGrant, ref)
  })

/**
 * One reconcile of one offer.
 *
 * @category reconcile
 */
export const reconcile = (observed: Offer, context: Controller.Context, applied: Applied = new Map()) =>
  Effect.gen(function* () {
    const client = yield* KubeClient.KubeClient
    const settings = yield* ReconcilerSettings
    const name = observed.metadata.name ?? ""

    let offer = observed
    const legacy = offer.metadata.finalizers?.indexOf(legacyFinalizer) ?? -1
    if (offer.metadata.deletionTimestamp !== undefined && legacy !== -1) {
      // Released, our cleanup goes on in this pass with the object the patch returned (the
      // controller does not re-run on the echo of its own write).
      const released = yield* releaseLegacyFinalizer(client, offer, legacy)
      if (Option.isNone(released)) return Action.awaitChange
      offer = released.value
    }

    const cleanup = (current: Offer) =>
      Effect.gen(function* () {
        // Withdraw the public route first: from here on no request reaches the upstream.
        yield* deleteIfPresent(client, HTTPRoute, refOf(current, Names.httpRoute(name)))
        // Grants live in other namespaces (the verifier's, the upstream's): no ownerReference removes them.
        yield* deleteGrants(client, context, current, settings)
        const registration = refOf(current, Names.registrationRequest(name))
        const existing = yield* KubeError.ignoreNotFound(client.get(RegistrationRequest, registration))
        if (Option.isNone(existing)) return Finalizer.done
        if (existing.value.metadata.deletionTimestamp === undefined) {
          yield* deleteIfPresent(client, RegistrationRequest, registration)
          // Without a registrar finalizer (registration never started) it is gone at once.
          if (Option.isNone(yield* KubeError.ignoreNotFound(client.get(RegistrationRequest, registration))))
            return Finalizer.done
        }
        const since = Date.parse(current.metadata.deletionTimestamp ?? "")
        const waited = (yield* Clock.currentTimeMillis) - (Number.isNaN(since) ? 0 : since)
        if (waited < Duration.toMillis(settings.tombstoneTimeout)) return Finalizer.pending("5 seconds")
        const recorder = yield* Effect.serviceOption(EventRecorder)
        if (recorder._tag === "Some") {
          yield* recorder.value.publish({
            regarding: {
              apiVersion: current.apiVersion,
              kind: current.kind,
              name,
              namespace: current.metadata.namespace ?? "default",
              ...(current.metadata.uid === undefined ? {} : { uid: current.metadata.uid })
            },
            type: "Warning",
            reason: "TombstoneTimeout",
            action: "Delete",
            note: `gave up waiting ${Duration.format(settings.tombstoneTimeout)} for the registrar to tombstone the on-chain registration`
          })
        }
        return Finalizer.done
      })

    // The payment gate first: a new offer's PaymentRoute goes to the verifier before anything
    // else is done for it, so the verifier admits its price while this controller works through
    // the rest of a burst; the next pass (queued behind the burst's other new offers) adds the
    // finalizer and does the rest. Safe before the finalizer: the route is owned (the garbage
    // collector takes it with the offer), and nothing that needs cleanup exists yet.
    if (offer.metadata.deletionTimestamp === undefined && !(offer.metadata.finalizers ?? []).includes(finalizer)) {
      const desired = Children.desired(offer, settings)
      const routeRef = refOf(offer, Names.paymentRoute(name))
      // The context reads our own writes: a route this run sent counts even before its watch event.
      if (Result.isSuccess(desired) && Option.isNone(cached(context, PaymentRoute, routeRef))) {
        // An offer deleted before its next pass (no finalizer yet, so no cleanup) leaves its
        // entry behind: drop the entries of offers gone from the cache once they pile up.
        if (applied.size > 2 * context.store(ServiceOffer).size() + 16) {
          for (const key of applied.keys()) if (Option.isNone(context.store(ServiceOffer).get(key))) applied.delete(key)
        }
        yield* applyChild(client, context, manifestsOf(applied, offer), PaymentRoute, desired.success.paymentRoute, {
          fieldManager: settings.fieldManager,
          force: true
        })
        return Action.requeueAfter(Duration.zero)
      }
    }

    return yield* Finalizer.run({
      kind: ServiceOffer,
      object: offer,
      finalizer,
      cleanup: (current) =>
        cleanup(current).pipe(
          Effect.tap((result) =>
            result._tag === "Done" ? Effect.sync(() => applied.delete(Store.keyOf(current))) : Effect.void
          )
        ),
      apply: (current) => apply(current, context, manifestsOf(applied, current))
    })
  })

/**
 * The index of offers by the Service they sell (`namespace/name`): how a Service or EndpointSlice
 * change finds the offers to re-probe.
 *
 * @category indexes
 */
export const upstreamIndex = "upstream"

/** @category indexes */
export const upstreamOf = (offer: Offer): string =>
  `${offer.spec.upstream.namespace ?? offer.metadata.namespace ?? "default"}/${offer.spec.upstream.service}`

/**
 * An upstream's Service and EndpointSlices from the controller's caches; a Service the caches do
 * not hold (absent, or in a namespace this controller does not watch) is read from the API server.
 */
const upstreamLookup = (context: Controller.Context, client: KubeClient.Shape): UpstreamProbe.Upstream => ({
  find: (namespace, name) => {
    const inCache = context.store(Service).get(Store.key({ namespace, name }))
    if (Option.isSome(inCache)) {
      const slices = context.store(EndpointSlice).byIndex(serviceIndex, `${namespace}/${name}`)
      return Effect.succeed(Option.some({ service: inCache.value, slices }))
    }
    return KubeError.ignoreNotFound(client.get(Service, { namespace, name })).pipe(
      Effect.flatMap((service) =>
        Option.isNone(service)
          ? Effect.succeed(Option.none())
          : Effect.map(
              client.list(EndpointSlice, { namespace, labelSelector: `${serviceNameLabel}=${name}` }),
              (list) => Option.some({ service: service.value, slices: list.items })
            )
      )
    )
  }
})

/**
 * The index of offers by their public path, and by every segment prefix of it: an offer's
 * possible path conflicts are found in time proportional to its path's depth.
 *
 * @category indexes
 */
export const pathIndex = "path"

/** @category indexes */
export const pathPrefixIndex = "pathPrefix"

/** @category indexes */
export const pathIndexes = {
  [pathIndex]: (offer: Offer) => [Routing.normalPath(Children.pathOf(offer))],
  [pathPrefixIndex]: (offer: Offer) => Routing.pathPrefixes(Children.pathOf(offer))
}

/**
 * The index of EndpointSlices by their Service (`namespace/name`).
 *
 * @category indexes
 */
export const serviceIndex = "service"

/** An offer's claim on its path, for `Routing.oldestConflict`. */
const claimOf = (offer: Offer): Routing.Claim => ({
  uid: offer.metadata.uid,
  path: Children.pathOf(offer),
  namespace: offer.metadata.namespace ?? "default",
  name: offer.metadata.name ?? "",
  creationTimestamp: offer.metadata.creationTimestamp ?? "",
  deleting: offer.metadata.deletionTimestamp !== undefined
})

/** The offers whose path could overlap `offer`'s, from the path indexes (not a scan of every offer). */
const pathNeighbours = (context: Controller.Context, offer: Offer): ReadonlyArray<Routing.Claim> => {
  const offers = context.store(ServiceOffer)
  const path = Children.pathOf(offer)
  return [
    ...offers.byIndex(pathPrefixIndex, Routing.normalPath(path)),
    ...Routing.pathPrefixes(path).flatMap((prefix) => offers.byIndex(pathIndex, prefix))
  ].map((other) => claimOf(other as Offer))
}

const verdictOf = (result: UpstreamProbe.Result, healthy: string): Routing.Verdict =>
  result.healthy
    ? { status: "True", reason: healthy, message: result.message }
    : { status: "False", reason: result.reason, message: result.message }

/**
 * The rest of a pass under the finalizer: observe (probes, caches), act on the children (the
 * PaymentRoute, the Middleware or none, grants, the HTTPRoute as `Routing.publication` decides,
 * the RegistrationRequest once the offer serves), then write the status `OfferStatus.decide` gives.
 */
const apply = (offer: Offer, context: Controller.Context, applied: ChildManifests) =>
  Effect.gen(function* () {
    const client = yield* KubeClient.KubeClient
    const settings = yield* ReconcilerSettings
    const probe = yield* UpstreamProbe.UpstreamProbe
    const name = offer.metadata.name ?? ""
    const path = Children.pathOf(offer)
    const applyOptions = { fieldManager: settings.fieldManager, force: true }
    const httpRouteRef = refOf(offer, Names.httpRoute(name))
    const registrationRef = refOf(offer, Names.registrationRequest(name))
    // Only when the cache has one: a withdrawn route stays withdrawn without a DELETE every pass.
    const withdrawRoute = Effect.suspend(() =>
      Option.isSome(cached(context, HTTPRoute, httpRouteRef))
        ? deleteIfPresent(client, HTTPRoute, httpRouteRef)
        : Effect.void
    )

    const caches = upstreamLookup(context, client)
    const upstream = verdictOf(yield* probe.upstream(offer, caches), "Healthy")
    const model =
      offer.spec.type === "inference" ? verdictOf(yield* probe.model(offer, caches), "ModelPresent") : undefined
    const probed = model === undefined ? { upstream } : { upstream, model }

    const desired = Children.desired(offer, settings)
    let verdicts: OfferStatus.Verdicts
    let registered: OfferStatus.Registered

    if (Result.isFailure(desired)) {
      // Nothing of the offer may serve: no route, no price (an admitted PaymentRoute would keep the
      // verifier proxying to an upstream the offer may no longer sell) and no grant (one would let
      // any HTTPRoute of the namespace reach that upstream).
      yield* withdrawRoute
      const routeRef = refOf(offer, Names.paymentRoute(name))
      // The context reads our own writes: this also finds the route the payment-gate-first pass
      // applied before the cache shows it.
      if (Option.isSome(cached(context, PaymentRoute, routeRef))) {
        yield* deleteIfPresent(client, PaymentRoute, routeRef)
        applied.delete(childKey(PaymentRoute, routeRef))
      }
      yield* removeGrants(client, context, offer)
      verdicts = {
        ...probed,
        paymentGate: { status: "False", reason: desired.failure.reason, message: desired.failure.message },
        routePublished: Routing.unpriceable
      }
      const request = cached(context, RegistrationRequest, registrationRef)
      // A registration already made is reported as it is (it outlives a broken price).
      registered =
        offer.spec.registration?.enabled !== true
          ? OfferStatus.registeredDisabled
          : Option.isSome(request)
            ? OfferStatus.registeredFrom(request.value, offer)
            : OfferStatus.registeredAwaiting
    } else {
      const children = desired.success
      const route = yield* applyChild(client, context, applied, PaymentRoute, children.paymentRoute, applyOptions)
      // The ForwardAuth address pins the route and the generation the verifier admitted (the
      // current one before any admission, when no HTTPRoute can exist yet): replicas that have
      // not loaded it answer 503, so a price change never falls back to an older price.
      const pin = {
        route: route.metadata.uid ?? "",
        generation:
          route.status?.admitted === true && route.status.lastAdmittedGeneration !== undefined
            ? route.status.lastAdmittedGeneration
            : (route.metadata.generation ?? 1)
      }
      const onSuccess = Children.settlementOf(offer) === "onSuccess"
      // Pay-on-success routes through the verifier itself: no ForwardAuth Middleware (and none left
      // over from upfront), and the verifier's Service granted to this namespace's HTTPRoutes.
      // Upfront to another namespace's Service: that Service granted instead. Grants left from a
      // previous mode or upstream are removed.
      if (onSuccess) {
        if (Option.isSome(context.store(Middleware).get(Store.key(refOf(offer, Names.middleware(name)))))) {
          yield* deleteIfPresent(client, Middleware, refOf(offer, Names.middleware(name)))
        }
      } else {
        yield* applyChild(client, context, applied, Middleware, Children.middleware(offer, settings, pin), applyOptions)
      }
      /** Why a grant the route needs could not be made, when it could not. */
      const ungranted = yield* syncGrants(client, context, applied, offer, settings, applyOptions)

      const conflict = Routing.oldestConflict(claimOf(offer), pathNeighbours(context, offer))
      const decision = Routing.publication({
        path,
        paused: !isPaused(offer)
          ? undefined
          : offer.spec.paused
            ? { by: "spec" }
            : { by: "annotation", annotation: pausedAnnotation },
        ungranted,
        conflict,
        admitted: Routing.isAdmitted(route),
        keepsServing: keepsServing(context, route)
      })
      let routePublished: Routing.Verdict
      if (decision._tag === "Withdraw") {
        yield* withdrawRoute
        routePublished = decision.verdict
      } else {
        // Publish applies the admitted route; Keep leaves the existing one at the previous price.
        const published =
          decision._tag === "Publish"
            ? yield* applyChild(
                client,
                context,
                applied,
                HTTPRoute,
                onSuccess ? Children.httpRoute(offer, settings, pin) : children.httpRoute,
                applyOptions
              )
            : Option.getOrThrow(cached(context, HTTPRoute, httpRouteRef))
        routePublished = Routing.routePublished(
          published,
          offer.metadata.namespace ?? "default",
          settings.gateway,
          path
        )
      }
      verdicts = { ...probed, paymentGate: Routing.paymentGate(route), routePublished }

      // Register only an offer that serves, and keep a request once made: deleting it would
      // tombstone the on-chain entry.
      if (children.registrationRequest === undefined) {
        if (Option.isSome(cached(context, RegistrationRequest, registrationRef))) {
          yield* deleteIfPresent(client, RegistrationRequest, registrationRef)
        }
        registered = OfferStatus.registeredDisabled
      } else if (OfferStatus.serves(verdicts) || Option.isSome(cached(context, RegistrationRequest, registrationRef))) {
        const request = yield* applyChild(
          client,
          context,
          applied,
          RegistrationRequest,
          children.registrationRequest,
          applyOptions
        )
        registered = OfferStatus.registeredFrom(request, offer)
      } else {
        registered = OfferStatus.registeredAwaiting
      }
    }

    const status = OfferStatus.decide(offer, verdicts, registered, {
      time: yield* now,
      publicBaseUrl: settings.publicBaseUrl,
      path
    })
    yield* StatusWriter.applyIfChanged(ServiceOffer, offer, status, settings.fieldManager)
    const jitter = 0.9 + (yield* Random.next) * 0.2
    return Action.requeueAfter(Duration.millis(Math.round(Duration.toMillis(settings.healthPeriod) * jitter)))
  })
