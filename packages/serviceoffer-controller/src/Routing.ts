/**
 * The ServiceOffer reconciler's routing decisions, as pure functions of what it observed: whether
 * the verifier gates the offer (`PaymentGateReady`), whether its HTTPRoute is published, kept or
 * withdrawn, and what the Gateway made of it (`RoutePublished`). The reconciler observes (cache
 * reads, the applies whose answers it needs), calls these, and acts on the verdict.
 *
 * The rule they encode is fail closed (DESIGN §5): a route is published only for an admitted
 * price, never while paused, never without the grant its backend needs, never over an older
 * offer's path; a route whose new price awaits admission keeps serving at the admitted one.
 *
 * It does not read or write anything, and it does not decide the price or the children's shapes
 * (`Children`) or the status (`OfferStatus`).
 *
 * @since 0.1.0
 */
import type { PaymentRoute } from "@obol/api/PaymentRoute"
import type * as Conditions from "@obol/controller/Conditions"
import type { HTTPRoute } from "@obol/kube/builtin/HTTPRoute"

/**
 * A condition's verdict, before it gets a type, a generation and a time.
 *
 * @category models
 */
export interface Verdict {
  readonly status: Conditions.Status
  readonly reason: string
  readonly message: string
}

type Route = typeof PaymentRoute.schema.Type

/**
 * A public path without trailing slashes (`/` stays `/`).
 *
 * @category paths
 */
export const normalPath = (path: string): string => (path.length > 1 ? path.replace(/\/+$/u, "") || "/" : path)

/**
 * Whether two public paths overlap: equal, or one is a segment prefix of the other (`/` overlaps
 * every path). Overlapping offers compete for a path, and the older one wins it.
 *
 * @category paths
 */
export const pathsOverlap = (a: string, b: string): boolean => {
  const x = normalPath(a)
  const y = normalPath(b)
  return x === y || x === "/" || y === "/" || x.startsWith(`${y}/`) || y.startsWith(`${x}/`)
}

/**
 * Every segment prefix of a path, itself included: `/a/b` → `/`, `/a`, `/a/b`. Two paths overlap
 * exactly when one is among the other's prefixes.
 *
 * @category paths
 */
export const pathPrefixes = (path: string): ReadonlyArray<string> => {
  const segments = normalPath(path)
    .split("/")
    .filter((segment) => segment !== "")
  return ["/", ...segments.map((_, i) => `/${segments.slice(0, i + 1).join("/")}`)]
}

/**
 * Whether the verifier serves the PaymentRoute's current generation.
 *
 * @category decisions
 */
export const isAdmitted = (route: Pick<Route, "metadata" | "status">): boolean =>
  route.status?.admitted === true && route.status.lastAdmittedGeneration === route.metadata.generation

/**
 * `PaymentGateReady` from the PaymentRoute: True when its current generation is admitted; the
 * verifier's rejection (its reason and message) when it rejected the route; else waiting.
 *
 * @category decisions
 */
export const paymentGate = (route: Pick<Route, "metadata" | "status">): Verdict => {
  if (isAdmitted(route))
    return { status: "True", reason: "Admitted", message: "the x402 verifier serves the current price" }
  if (route.status?.reason !== undefined && route.status.admitted === false) {
    return {
      status: "False",
      reason: route.status.reason,
      message: route.status.message ?? "the verifier rejected the route"
    }
  }
  return {
    status: "False",
    reason: "AwaitingAdmission",
    message: "waiting for the x402 verifier to admit the current price"
  }
}

/**
 * An offer's claim on a public path, as the path decision needs it.
 *
 * @category models
 */
export interface Claim {
  readonly uid: string | undefined
  readonly path: string
  readonly namespace: string
  readonly name: string
  readonly creationTimestamp: string
  /** Being deleted: it no longer claims anything. */
  readonly deleting: boolean
}

/**
 * Older offers win a path; ties break by namespace/name so the verdict is deterministic.
 *
 * @category paths
 */
export const olderThan = (a: Claim, b: Claim): boolean => {
  if (a.creationTimestamp !== b.creationTimestamp) return a.creationTimestamp < b.creationTimestamp
  return `${a.namespace}/${a.name}` < `${b.namespace}/${b.name}`
}

/**
 * The oldest other live offer whose path overlaps `own`'s and that is older than it (it holds the
 * path), among `candidates` (which may include `own` and offers that do not overlap).
 *
 * @category decisions
 */
export const oldestConflict = (own: Claim, candidates: ReadonlyArray<Claim>): Claim | undefined => {
  let oldest: Claim | undefined
  for (const other of candidates) {
    if (other.uid === own.uid || other.deleting) continue
    if (!pathsOverlap(other.path, own.path) || !olderThan(other, own)) continue
    if (oldest === undefined || olderThan(other, oldest)) oldest = other
  }
  return oldest
}

/**
 * What the reconciler observed that decides the HTTPRoute.
 *
 * @category models
 */
export interface Observed {
  /** The offer's public path. */
  readonly path: string
  /** Why the offer is paused, when it is: its spec, or obol-stack's annotation (named). */
  readonly paused: { readonly by: "spec" } | { readonly by: "annotation"; readonly annotation: string } | undefined
  /** Why a ReferenceGrant the route's backend needs could not be made, when it could not. */
  readonly ungranted: string | undefined
  /** The oldest other live offer whose path overlaps this one's and that is older, when there is one. */
  readonly conflict: { readonly path: string; readonly namespace: string; readonly name: string } | undefined
  /** The PaymentRoute's current generation is admitted. */
  readonly admitted: boolean
  /**
   * An HTTPRoute exists and the verifier still serves an earlier admitted generation without
   * having rejected the route: a price change awaiting admission.
   */
  readonly keepsServing: boolean
}

/**
 * What to do with the HTTPRoute: `Publish` (apply it), `Keep` (leave the existing one as it is:
 * the verifier still charges the previously admitted price) or `Withdraw` (make sure none exists),
 * with the `RoutePublished` verdict a withdrawal carries.
 *
 * @category models
 */
export type Publication =
  | { readonly _tag: "Publish" }
  | { readonly _tag: "Keep" }
  | { readonly _tag: "Withdraw"; readonly verdict: Verdict }

const withdraw = (reason: string, message: string): Publication => ({
  _tag: "Withdraw",
  verdict: { status: "False", reason, message }
})

/**
 * The HTTPRoute decision. In order: paused, a grant missing, an older offer's path, no admitted
 * price (and nothing serving an earlier one); otherwise publish when admitted, keep when not.
 *
 * @category decisions
 */
export const publication = (observed: Observed): Publication => {
  if (observed.paused !== undefined) {
    return withdraw(
      "Paused",
      observed.paused.by === "spec"
        ? "the offer is paused; its route is withdrawn"
        : `the offer is paused by its ${observed.paused.annotation} annotation; its route is withdrawn`
    )
  }
  // The Gateway would refuse the backend (RefNotPermitted): publish nothing until granted.
  if (observed.ungranted !== undefined) return withdraw("RefNotGranted", observed.ungranted)
  if (observed.conflict !== undefined) {
    const { conflict } = observed
    return withdraw(
      "PathConflict",
      `path ${observed.path} overlaps ${conflict.path} of the older offer ${conflict.namespace}/${conflict.name}`
    )
  }
  // Without an admitted price the route must not exist (it would be free or broken).
  if (!observed.admitted && !observed.keepsServing) {
    return withdraw("AwaitingPaymentGate", "the route is published once the verifier admits the price")
  }
  return observed.admitted ? { _tag: "Publish" } : { _tag: "Keep" }
}

/**
 * `RoutePublished` for a withdrawn route when the offer cannot be priced at all.
 *
 * @category constants
 */
export const unpriceable: Verdict = {
  status: "False",
  reason: "PaymentGateNotReady",
  message: "the route is withheld until the offer can be priced"
}

/**
 * `RoutePublished` from the Gateway's verdict on a published HTTPRoute: True when the Gateway
 * (by `namespace/name`; a parentRef without a namespace means the route's own) reports both
 * `Accepted` and `ResolvedRefs`; else the first of them that is not True, or waiting.
 *
 * @category decisions
 */
export const routePublished = (
  httpRoute: Pick<typeof HTTPRoute.schema.Type, "status">,
  routeNamespace: string,
  gateway: { readonly namespace: string; readonly name: string },
  path: string
): Verdict => {
  const parent = (httpRoute.status?.parents ?? []).find(
    (p) => p.parentRef.name === gateway.name && (p.parentRef.namespace ?? routeNamespace) === gateway.namespace
  )
  const byType = new Map((parent?.conditions ?? []).map((c) => [c.type, c]))
  const accepted = byType.get("Accepted")
  const resolved = byType.get("ResolvedRefs")
  if (accepted?.status === "True" && resolved?.status === "True") {
    return {
      status: "True",
      reason: "Accepted",
      message: `the Gateway ${gateway.namespace}/${gateway.name} serves ${path}`
    }
  }
  const failing = [accepted, resolved].find((c) => c !== undefined && c.status !== "True")
  return {
    status: "False",
    reason: failing?.reason ?? "AwaitingGateway",
    message: failing?.message ?? "waiting for the Gateway to accept the route"
  }
}
