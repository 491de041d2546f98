/**
 * The verifier's routes: an immutable snapshot built from PaymentRoutes and swapped whole when
 * they change, so a lookup never waits for a writer and never sees half an update.
 *
 * Lookups:
 * - by offer identity (`namespace/name`, from the ForwardAuth address): one map lookup;
 * - by path (the fallback): the exact-path map, then the prefix map for each ancestor of the
 *   path from the longest down (so cost grows with the path's depth, not the number of routes),
 *   then the few glob patterns in specificity order. Ties between routes with the same pattern
 *   break by the route key, deterministically.
 *
 * This module decides nothing about payments; it only finds the route.
 *
 * @since 0.1.0
 */
import { Option } from "effect"
import * as PathMatch from "./PathMatch.ts"

/**
 * @category models
 */
export interface Route<A = unknown> {
  /** `namespace/name` of the PaymentRoute. */
  readonly key: string
  /** `namespace/name` of the ServiceOffer it prices. */
  readonly offer: string
  readonly pattern: PathMatch.Pattern
  readonly value: A
}

/**
 * @category models
 */
export interface RouteTable<A = unknown> {
  readonly size: number
  readonly byOffer: (offer: string) => Option.Option<Route<A>>
  /** `path` must already be normalised (`PathMatch.normalize`). */
  readonly match: (path: string) => Option.Option<Route<A>>
  readonly routes: () => ReadonlyArray<Route<A>>
}

const byKey = <A>(a: Route<A>, b: Route<A>) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)

/**
 * Builds a snapshot.
 *
 * @category constructors
 */
export const make = <A>(routes: Iterable<Route<A>>): RouteTable<A> => {
  const all = [...routes].toSorted(byKey)
  const offers = new Map<string, Route<A>>()
  const exact = new Map<string, Route<A>>()
  const prefix = new Map<string, Route<A>>()
  const globs: Array<Route<A>> = []
  for (const route of all) {
    if (!offers.has(route.offer)) offers.set(route.offer, route)
    const p = route.pattern
    if (p._tag === "Exact") {
      if (!exact.has(p.path)) exact.set(p.path, route)
    } else if (p._tag === "Prefix") {
      if (!prefix.has(p.prefix)) prefix.set(p.prefix, route)
    } else globs.push(route)
  }
  globs.sort((a, b) => PathMatch.bySpecificity(a.pattern, b.pattern) || byKey(a, b))
  return {
    size: all.length,
    byOffer: (offer) => Option.fromUndefinedOr(offers.get(offer)),
    match: (path) => {
      const hit = exact.get(path)
      if (hit !== undefined) return Option.some(hit)
      for (let end = path.length; end > 0; end = path.lastIndexOf("/", end - 1)) {
        const candidate = prefix.get(path.slice(0, end))
        if (candidate !== undefined) return Option.some(candidate)
      }
      const root = prefix.get("/")
      if (root !== undefined) return Option.some(root)
      for (const route of globs) if (PathMatch.matches(route.pattern, path)) return Option.some(route)
      return Option.none()
    },
    routes: () => all
  }
}

/**
 * A mutable holder of the current snapshot. `set` replaces it in one step.
 *
 * @category models
 */
export interface Holder<A> {
  readonly get: () => RouteTable<A>
  readonly set: (table: RouteTable<A>) => void
}

/**
 * @category constructors
 */
export const holder = <A>(initial: RouteTable<A> = make<A>([])): Holder<A> => {
  let current = initial
  return {
    get: () => current,
    set: (table) => {
      current = table
    }
  }
}
