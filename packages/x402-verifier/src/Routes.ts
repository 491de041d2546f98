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

/**
 * `namespace/name` of a route: the key of its verdict and its table entry.
 *
 * @category getters
 */
export const keyOf = (route: Route) => `${route.metadata.namespace}/${route.metadata.name}`

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
 * A route that passed rules 1–3 for its offer and now claims its pattern (rule 4), with its table
 * entry (the compiled pattern).
 *
 * @category models
 */
export interface Candidate {
  readonly offer: string
  /** The offer's creationTimestamp: older offers claim first. */
  readonly created: string
  readonly route: Route
  readonly item: RouteTable.Route<Loaded>
  /** Its upstream credential has not been read yet: loaded, but its verdict is `Pending`. */
  readonly pending: boolean
}

/**
 * Rules 1–3 for the routes that name one offer (`offerOf`): a verdict for each route that does not
 * claim a path, and the one route that does, if any. Routes being deleted must be left out.
 *
 * @category constructors
 */
export const decideOffer = (
  offer: string,
  routes: ReadonlyArray<Route>,
  options: Options
): { readonly verdicts: ReadonlyArray<readonly [string, Verdict]>; readonly candidate: Candidate | undefined } => {
  const verdicts: Array<readonly [string, Verdict]> = []
  const owned: Array<Route> = []
  let owner: Extract<Owner, { _tag: "Present" }> | undefined
  for (const route of routes) {
    const decided = ownership(route, options)
    if (decided._tag !== "Owned") verdicts.push([keyOf(route), decided])
    else {
      owned.push(route)
      owner = decided.owner
    }
  }
  if (owner === undefined) return { verdicts, candidate: undefined }
  const [winner, ...losers] = owned.length === 1 ? owned : owned.toSorted(preferred)
  for (const loser of losers) {
    verdicts.push([
      keyOf(loser),
      rejected(
        "DuplicateOfferRoute",
        `ServiceOffer ${offer} is priced by PaymentRoute ${winner!.metadata.name}; an offer has one PaymentRoute (delete this one)`
      )
    ])
  }
  const unservable = servable(winner!, options)
  if (unservable !== undefined) {
    verdicts.push([keyOf(winner!), { _tag: "Rejected", ...unservable }])
    return { verdicts, candidate: undefined }
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
    verdicts.push([
      keyOf(winner!),
      rejected(
        "UpstreamSecretMissing",
        `${state.message}; until then the offer's requests are refused, never charged (spec.upstream.authorization)`
      )
    ])
    return { verdicts, candidate: undefined }
  }
  return {
    verdicts,
    candidate: {
      offer,
      created: owner.creationTimestamp,
      route: winner!,
      item: entry(winner!),
      pending: state?._tag === "Pending"
    }
  }
}

/**
 * Rule 4's order: older offers claim first, then by offer `namespace/name`.
 *
 * @category combinators
 */
export const byClaimOrder = (a: Candidate, b: Candidate) =>
  a.created !== b.created ? (a.created < b.created ? -1 : 1) : a.offer < b.offer ? -1 : a.offer > b.offer ? 1 : 0

/**
 * Rule 4 over candidates (in any order: they are sorted here): each candidate's verdict, admitted
 * (or pending) when its pattern overlaps no earlier claim, else `PathConflict` naming the holder.
 *
 * @category constructors
 */
export const claim = (
  candidates: ReadonlyArray<Candidate>
): ReadonlyArray<{ readonly candidate: Candidate; readonly verdict: Verdict }> => {
  const claims = PathClaims.make<Candidate>()
  return candidates.toSorted(byClaimOrder).map((candidate) => {
    const holder = claims.claim(candidate.item.pattern, candidate)
    const verdict: Verdict =
      holder !== undefined
        ? rejected(
            "PathConflict",
            `pattern ${candidate.route.spec.pattern} overlaps ${holder.route.spec.pattern} of PaymentRoute ${keyOf(holder.route)} (ServiceOffer ${holder.offer}, the older offer keeps the path)`
          )
        : candidate.pending
          ? { _tag: "Pending" }
          : { _tag: "Admitted", generation: candidate.item.value.generation }
    return { candidate, verdict }
  })
}

/**
 * Decides every route and builds the table of the admitted ones: the reference computation
 * (`Admission` reaches the same verdicts and table one event at a time). Routes being deleted get
 * no verdict and no entry.
 *
 * @category constructors
 */
export const build = (
  routes: ReadonlyArray<Route>,
  options: Options
): { readonly table: RouteTable.RouteTable<Loaded>; readonly verdicts: ReadonlyMap<string, Verdict> } => {
  const byOffer = new Map<string, Array<Route>>()
  for (const route of routes) {
    if (route.metadata.deletionTimestamp !== undefined) continue
    const offer = offerOf(route)
    const group = byOffer.get(offer)
    if (group === undefined) byOffer.set(offer, [route])
    else group.push(route)
  }
  const verdicts = new Map<string, Verdict>()
  const candidates: Array<Candidate> = []
  for (const [offer, group] of byOffer) {
    const decided = decideOffer(offer, group, options)
    for (const [key, verdict] of decided.verdicts) verdicts.set(key, verdict)
    if (decided.candidate !== undefined) candidates.push(decided.candidate)
  }
  const loaded: Array<RouteTable.Route<Loaded>> = []
  for (const { candidate, verdict } of claim(candidates)) {
    verdicts.set(candidate.item.key, verdict)
    if (verdict._tag !== "Rejected") loaded.push(candidate.item)
  }
  return { table: RouteTable.make(loaded), verdicts }
}
