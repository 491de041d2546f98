/**
 * From PaymentRoutes to the verifier's route table: which route may price which offer and serve
 * which paths, and why a route may not. Pure; the informer (`Verifier`) feeds it and writes the
 * verdicts to each route's status.
 *
 * The rules, in order (docs/adr/0007-paymentroute-identity-and-tenancy.md):
 * 1. **Ownership.** A route prices exactly one offer: the ServiceOffer named `spec.offer.name`
 *    in the route's own namespace, and only when the route carries a controller ownerReference to
 *    that ServiceOffer whose uid is the live offer's uid (and `spec.offer.uid`, when set, agrees).
 *    Anything else is `NotOwnedByOffer`. An owner the verifier's cache has not seen yet is
 *    `Unconfirmed`: neither served nor rejected until a live read says whether it exists (a route's
 *    watch event can arrive before its offer's).
 * 2. **One route per offer.** Among routes owned by one offer, the one with the name the
 *    controller gives it (`Names.paymentRoute`) wins, then the older, then by name; the others are
 *    `DuplicateOfferRoute`, naming the winner.
 * 3. **Servable.** The facilitator supports the route's network (`UnsupportedNetwork`), the
 *    route settles through this verifier's facilitator (`UnsupportedFacilitator`), a
 *    pay-on-success route names the upstream to proxy to (`UpstreamMissing`; the CRD requires it,
 *    this is the fail-closed twin for objects that got past it), and the credential it sends the
 *    upstream can be read (`UpstreamSecretMissing`; while it has not been read yet the route is
 *    `Pending`: loaded, answering 503 without charging, its status left as it is).
 * 4. **Paths.** For callers that send only a path, no two routes serve one path: in the order of
 *    their offers' age (older first, then namespace/name, the rule the controller applies to
 *    offers), each route claims its pattern, and a route whose pattern overlaps a claimed one is
 *    `PathConflict`, naming the holder.
 *
 * Rejected and unconfirmed routes never enter the table, so neither their identity nor their path
 * is served; one bad route never blocks another.
 *
 * @since 0.1.0
 */
import type { PaymentRoute, RouteUpstream, Settlement } from "@obol/api/PaymentRoute"
import * as Names from "@obol/api/Names"
import type { UpstreamAuthorization } from "@obol/api/UpstreamAuthorization"
import type * as Credentials from "./Credentials.ts"
import * as Requirements from "@obol/x402/Requirements"
import * as PathClaims from "./PathClaims.ts"
import * as PathMatch from "./PathMatch.ts"
import * as RouteTable from "./RouteTable.ts"

/**
 * A loaded route: what the decision needs, and which object and generation it was loaded from
 * (a ForwardAuth address may pin both, see `Verifier.handle`).
 *
 * @category models
 */
export interface Loaded {
  readonly requirement: Requirements.Route
  readonly uid: string
  readonly generation: number
  /** Who carries paid requests: ForwardAuth (`upfront`, also when the spec says nothing) or the verifier (`onSuccess`). */
  readonly settlement: Settlement
  /** Where an `onSuccess` route's requests go; always set for those (rule 3). */
  readonly upstream: typeof RouteUpstream.Type | undefined
  /** The credential sent to the upstream as `Authorization`: its Secret key (in the route's namespace) and scheme. */
  readonly authorization:
    | { readonly ref: Credentials.Ref; readonly scheme: UpstreamAuthorization["scheme"] }
    | undefined
  /**
   * The public prefix the proxy removes before asking the upstream: the pattern without its
   * trailing `/*` (`""` for `/*`), an exact pattern whole, or a glob's literal leading segments.
   * Every path the route matches starts with it, at a segment boundary.
   */
  readonly prefix: string
}

/**
 * @category models
 */
export type Reason =
  | "NotOwnedByOffer"
  | "DuplicateOfferRoute"
  | "UnsupportedNetwork"
  | "UnsupportedFacilitator"
  | "PathConflict"
  | "UpstreamMissing"
  | "UpstreamSecretMissing"

/**
 * @category models
 */
export interface Rejection {
  readonly reason: Reason
  readonly message: string
}

/**
 * What a route's status should say, or `Unconfirmed` while its owner is not known either way.
 *
 * @category models
 */
export type Verdict =
  | { readonly _tag: "Admitted"; readonly generation: number }
  | ({ readonly _tag: "Rejected" } & Rejection)
  | { readonly _tag: "Unconfirmed"; readonly offer: string }
  /** Loaded, but its upstream credential has not been read yet: status untouched, requests 503. */
  | { readonly _tag: "Pending" }

/**
 * What the verifier knows of the ServiceOffer `namespace/name`.
 *
 * @category models
 */
export type Owner =
  | { readonly _tag: "Present"; readonly uid: string; readonly creationTimestamp: string }
  /** A live read found no such offer. */
  | { readonly _tag: "Absent" }
  /** Not in the cache, and not confirmed absent. */
  | { readonly _tag: "Unseen" }

/**
 * @category models
 */
export interface Options {
  /** CAIP-2 networks the facilitator supports for the exact scheme; undefined when unknown (accept all). */
  readonly supportedNetworks?: ReadonlySet<string>
  readonly facilitatorUrl: string
  /** The ServiceOffer `namespace/name`, as far as the verifier knows it. */
  readonly owner: (offer: string) => Owner
  /** The state of an upstream credential; every credential is missing without it. */
  readonly credential?: (ref: Credentials.Ref) => Credentials.State
}

type Route = PaymentRoute

const keyOf = (route: Route) => `${route.metadata.namespace}/${route.metadata.name}`

/**
 * `namespace/name` of the offer a route prices: its own namespace, always.
 *
 * @category getters
 */
export const offerOf = (route: Route) => `${route.metadata.namespace}/${route.spec.offer.name}`

const rejected = (reason: Reason, message: string): Verdict => ({ _tag: "Rejected", reason, message })

/**
 * Rule 1 for one route: the owner it proves, or its verdict.
 */
const ownership = (
  route: Route,
  options: Options
): { readonly _tag: "Owned"; readonly owner: Extract<Owner, { _tag: "Present" }> } | Verdict => {
  const offer = offerOf(route)
  const wanted = `ServiceOffer ${offer}`
  const controller = route.metadata.ownerReferences?.find((ref) => ref.controller === true)
  if (controller === undefined) {
    return rejected(
      "NotOwnedByOffer",
      `no controller ownerReference: a PaymentRoute serves only when the ${wanted} it prices owns it (the serviceoffer-controller writes PaymentRoutes; delete this one or let the controller recreate it)`
    )
  }
  const group = controller.apiVersion.split("/")[0]
  if (group !== "obol.org" || controller.kind !== "ServiceOffer" || controller.name !== route.spec.offer.name) {
    return rejected(
      "NotOwnedByOffer",
      `the controller ownerReference is ${controller.kind} ${controller.name} (${controller.apiVersion}), not the ${wanted} that spec.offer names`
    )
  }
  if (route.spec.offer.uid !== undefined && route.spec.offer.uid !== controller.uid) {
    return rejected(
      "NotOwnedByOffer",
      `spec.offer.uid ${route.spec.offer.uid} disagrees with the controller ownerReference's uid ${controller.uid}`
    )
  }
  const owner = options.owner(offer)
  switch (owner._tag) {
    case "Unseen":
      return { _tag: "Unconfirmed", offer }
    case "Absent":
      return rejected(
        "NotOwnedByOffer",
        `${wanted} does not exist; a PaymentRoute prices only a ServiceOffer in its own namespace`
      )
    case "Present":
      return owner.uid === controller.uid
        ? { _tag: "Owned", owner }
        : rejected(
            "NotOwnedByOffer",
            `the ownerReference names ${wanted} with uid ${controller.uid}, but that offer's uid is ${owner.uid} (a route left from a deleted offer, or a copy)`
          )
  }
}

/**
 * Rule 3 for one route.
 *
 * @category predicates
 */
export const servable = (route: Route, options: Omit<Options, "owner">): Rejection | undefined => {
  const spec = route.spec
  if (options.supportedNetworks !== undefined && !options.supportedNetworks.has(spec.network)) {
    return {
      reason: "UnsupportedNetwork",
      message: `the facilitator does not support ${spec.network} for the exact scheme (it supports ${[...options.supportedNetworks].join(", ") || "nothing"})`
    }
  }
  if (
    spec.facilitatorURL !== undefined &&
    spec.facilitatorURL.replace(/\/+$/u, "") !== options.facilitatorUrl.replace(/\/+$/u, "")
  ) {
    return {
      reason: "UnsupportedFacilitator",
      message: `this verifier settles through ${options.facilitatorUrl}, not ${spec.facilitatorURL}`
    }
  }
  if (spec.settlement === "onSuccess" && spec.upstream === undefined) {
    return {
      reason: "UpstreamMissing",
      message: "settlement is onSuccess but spec.upstream is not set: the verifier has nowhere to send paid requests"
    }
  }
  return undefined
}

/**
 * The table entry for a route (no checks).
 *
 * @category constructors
 */
export const entry = (route: Route): RouteTable.Route<Loaded> => {
  const spec = route.spec
  const pattern = PathMatch.compile(spec.pattern)
  return {
    key: keyOf(route),
    offer: offerOf(route),
    pattern,
    value: {
      uid: route.metadata.uid ?? "",
      generation: route.metadata.generation ?? 0,
      settlement: spec.settlement ?? "upfront",
      upstream: spec.upstream,
      authorization: credentialOf(route),
      prefix: prefixOf(pattern),
      requirement: {
        scheme: spec.scheme,
        amount: spec.price,
        network: spec.network as `${string}:${string}`,
        asset: {
          address: spec.asset.address,
          eip712Name: spec.asset.eip712Name,
          eip712Version: spec.asset.eip712Version,
          decimals: spec.asset.decimals
        },
        payTo: spec.payTo,
        maxTimeoutSeconds: spec.maxTimeoutSeconds,
        description: spec.description ?? offerOf(route)
      }
    }
  }
}

/**
 * The credential a route sends its upstream, when it sends one: only pay-on-success routes do
 * (upfront requests never pass through the verifier), and the Secret is in the route's namespace.
 *
 * @category getters
 */
export const credentialOf = (route: Route): Loaded["authorization"] => {
  const authorization = route.spec.upstream?.authorization
  if (route.spec.settlement !== "onSuccess" || authorization === undefined) return undefined
  return {
    ref: {
      namespace: route.metadata.namespace ?? "default",
      name: authorization.secretKeyRef.name,
      key: authorization.secretKeyRef.key,
      offer: route.spec.offer.name
    },
    scheme: authorization.scheme
  }
}

/**
 * The public prefix of a pattern (see {@link Loaded.prefix}).
 *
 * @category getters
 */
export const prefixOf = (pattern: PathMatch.Pattern): string => {
  switch (pattern._tag) {
    case "Exact":
      return pattern.path === "/" ? "" : pattern.path
    case "Prefix":
      return pattern.prefix === "/" ? "" : pattern.prefix
    case "Glob": {
      const literal: Array<string> = []
      for (const part of pattern.parts) {
        if (part.includes("*")) break
        literal.push(part)
      }
      return literal.length === 0 ? "" : `/${literal.join("/")}`
    }
  }
}

/** Rule 2's order: the controller's own route first, then the older, then by name. */
const preferred = (a: Route, b: Route) => {
  const canonical = (r: Route) => (r.metadata.name === Names.paymentRoute(r.spec.offer.name) ? 0 : 1)
  const byName = canonical(a) - canonical(b)
  if (byName !== 0) return byName
  const [ta, tb] = [a.metadata.creationTimestamp ?? "", b.metadata.creationTimestamp ?? ""]
  if (ta !== tb) return ta < tb ? -1 : 1
  return keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0
}

/**
 * Decides every route and builds the table of the admitted ones. Routes being deleted get no
 * verdict and no entry.
 *
 * @category constructors
 */
export const build = (
  routes: ReadonlyArray<Route>,
  options: Options
): { readonly table: RouteTable.RouteTable<Loaded>; readonly verdicts: ReadonlyMap<string, Verdict> } => {
  const verdicts = new Map<string, Verdict>()
  const byOffer = new Map<string, { readonly owner: { readonly creationTimestamp: string }; routes: Array<Route> }>()
  for (const route of routes) {
    if (route.metadata.deletionTimestamp !== undefined) continue
    const owned = ownership(route, options)
    if (owned._tag !== "Owned") {
      verdicts.set(keyOf(route), owned)
      continue
    }
    const offer = offerOf(route)
    const group = byOffer.get(offer)
    if (group === undefined) byOffer.set(offer, { owner: owned.owner, routes: [route] })
    else group.routes.push(route)
  }

  const candidates: Array<{
    readonly offer: string
    readonly created: string
    readonly route: Route
    readonly pending: boolean
  }> = []
  for (const [offer, group] of byOffer) {
    const [winner, ...losers] = group.routes.length === 1 ? group.routes : group.routes.toSorted(preferred)
    for (const loser of losers) {
      verdicts.set(
        keyOf(loser),
        rejected(
          "DuplicateOfferRoute",
          `ServiceOffer ${offer} is priced by PaymentRoute ${winner!.metadata.name}; an offer has one PaymentRoute (delete this one)`
        )
      )
    }
    const unservable = servable(winner!, options)
    if (unservable !== undefined) {
      verdicts.set(keyOf(winner!), { _tag: "Rejected", ...unservable })
      continue
    }
    const credential = credentialOf(winner!)
    const state: Credentials.State | undefined =
      credential === undefined
        ? undefined
        : (options.credential?.(credential.ref) ?? {
            _tag: "Missing",
            message: "no upstream credentials are read here"
          })
    if (state?._tag === "Missing") {
      verdicts.set(
        keyOf(winner!),
        rejected(
          "UpstreamSecretMissing",
          `${state.message}; until then the offer's requests are refused, never charged (spec.upstream.authorization)`
        )
      )
      continue
    }
    candidates.push({
      offer,
      created: group.owner.creationTimestamp,
      route: winner!,
      pending: state?._tag === "Pending"
    })
  }

  candidates.sort((a, b) => (a.created !== b.created ? (a.created < b.created ? -1 : 1) : a.offer < b.offer ? -1 : 1))
  const claims = PathClaims.make<{ readonly offer: string; readonly route: Route }>()
  const loaded: Array<RouteTable.Route<Loaded>> = []
  for (const candidate of candidates) {
    const item = entry(candidate.route)
    const holder = claims.claim(item.pattern, candidate)
    if (holder !== undefined) {
      verdicts.set(
        keyOf(candidate.route),
        rejected(
          "PathConflict",
          `pattern ${candidate.route.spec.pattern} overlaps ${holder.route.spec.pattern} of PaymentRoute ${keyOf(holder.route)} (ServiceOffer ${holder.offer}, the older offer keeps the path)`
        )
      )
      continue
    }
    loaded.push(item)
    verdicts.set(
      keyOf(candidate.route),
      candidate.pending ? { _tag: "Pending" } : { _tag: "Admitted", generation: item.value.generation }
    )
  }
  return { table: RouteTable.make(loaded), verdicts }
}
