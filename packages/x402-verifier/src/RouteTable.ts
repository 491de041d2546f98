/**
 * The verifier's routes: immutable snapshots built from PaymentRoutes, so a lookup never waits
 * for a writer and never sees half an update. A new snapshot is either built whole (`make`) or
 * derived from the previous one by replacing a few routes (`update`), which shares the previous
 * snapshot's maps and copies only a small overlay of what changed since they were built; once the
 * overlay outgrows sixteen times the square root of the table's size it is folded into new maps
 * (one whole build, about every 500 changed routes at 10,000 routes: copying the overlay on every
 * update and rebuilding now and then cost about the same there).
 *
 * Lookups:
 * - by offer identity (`namespace/name`, from the ForwardAuth address): one map lookup (two while
 *   an overlay is present);
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
const byGlob = <A>(a: Route<A>, b: Route<A>) => PathMatch.bySpecificity(a.pattern, b.pattern) || byKey(a, b)

type Index = "keys" | "offers" | "exact" | "prefix"
const indexes: ReadonlyArray<Index> = ["keys", "offers", "exact", "prefix"]
/** Per index, the routes under each name (route key, offer, exact path, prefix), sorted by key: the first one is served. */
type Maps<A> = Readonly<Record<Index, ReadonlyMap<string, ReadonlyArray<Route<A>>>>>

/** What a snapshot is made of; never mutated once the snapshot exists. */
interface State<A> {
  readonly base: Maps<A>
  /** Names changed since `base` was built: their routes now (an empty list: none). */
  readonly overlay: Maps<A>
  readonly overlaid: number
  readonly globs: ReadonlyArray<Route<A>>
  readonly size: number
}

const states = new WeakMap<RouteTable<unknown>, State<unknown>>()

/** The name a route has in an index, if it is in that index. */
const nameIn = <A>(index: Index, route: Route<A>): string | undefined => {
  switch (index) {
    case "keys":
      return route.key
    case "offers":
      return route.offer
    case "exact":
      return route.pattern._tag === "Exact" ? route.pattern.path : undefined
    case "prefix":
      return route.pattern._tag === "Prefix" ? route.pattern.prefix : undefined
  }
}

const emptyMaps: Maps<never> = { keys: new Map(), offers: new Map(), exact: new Map(), prefix: new Map() }

const snapshot = <A>(state: State<A>): RouteTable<A> => {
  const { base, overlay, globs } = state
  const lookup = (index: Index) => {
    const inBase = base[index]
    const inOverlay = overlay[index]
    return inOverlay.size === 0
      ? (name: string) => inBase.get(name)?.[0]
      : (name: string) => {
          const changed = inOverlay.get(name)
          return changed === undefined ? inBase.get(name)?.[0] : changed[0]
        }
  }
  const offers = lookup("offers")
  const exact = lookup("exact")
  const prefix = lookup("prefix")
  let all: ReadonlyArray<Route<A>> | undefined
  const table: RouteTable<A> = {
    size: state.size,
    byOffer: (offer) => Option.fromUndefinedOr(offers(offer)),
    match: (path) => {
      const hit = exact(path)
      if (hit !== undefined) return Option.some(hit)
      for (let end = path.length; end > 0; end = path.lastIndexOf("/", end - 1)) {
        const candidate = prefix(path.slice(0, end))
        if (candidate !== undefined) return Option.some(candidate)
      }
      const root = prefix("/")
      if (root !== undefined) return Option.some(root)
      for (const route of globs) if (PathMatch.matches(route.pattern, path)) return Option.some(route)
      return Option.none()
    },
    routes: () => (all ??= [...contents(state)].toSorted(byKey))
  }
  states.set(table, state)
  return table
}

/** Every route of a snapshot, in no particular order. */
const contents = function* <A>(state: State<A>): Generator<Route<A>> {
  for (const [key, routes] of state.base.keys) if (!state.overlay.keys.has(key)) yield* routes
  for (const routes of state.overlay.keys.values()) yield* routes
}

/**
 * Builds a snapshot.
 *
 * @category constructors
 */
export const make = <A>(routes: Iterable<Route<A>>): RouteTable<A> => {
  const base: Record<Index, Map<string, Array<Route<A>>>> = {
    keys: new Map(),
    offers: new Map(),
    exact: new Map(),
    prefix: new Map()
  }
  const globs: Array<Route<A>> = []
  let size = 0
  for (const route of [...routes].toSorted(byKey)) {
    size++
    for (const index of indexes) {
      const name = nameIn(index, route)
      if (name === undefined) continue
      const held = base[index].get(name)
      if (held === undefined) base[index].set(name, [route])
      else held.push(route)
    }
    if (route.pattern._tag === "Glob") globs.push(route)
  }
  globs.sort(byGlob)
  return snapshot({ base, overlay: emptyMaps, overlaid: 0, globs, size })
}

/**
 * A new snapshot with some routes replaced: each `[key, route]` sets the route under that key
 * (`route.key` must be `key`), or removes it when `route` is undefined. The given snapshot is
 * unchanged. Costs what changes (plus, now and then, folding the overlay into new maps).
 *
 * @category combinators
 */
export const update = <A>(
  table: RouteTable<A>,
  changes: Iterable<readonly [key: string, route: Route<A> | undefined]>
): RouteTable<A> => {
  const state = states.get(table) as State<A> | undefined
  if (state === undefined) throw new Error("RouteTable.update: not a RouteTable snapshot")
  const overlay: Record<Index, Map<string, ReadonlyArray<Route<A>>>> = {
    keys: new Map(state.overlay.keys),
    offers: new Map(state.overlay.offers),
    exact: new Map(state.overlay.exact),
    prefix: new Map(state.overlay.prefix)
  }
  const under = (index: Index, name: string) => overlay[index].get(name) ?? state.base[index].get(name) ?? []
  let globs = state.globs
  let size = state.size
  for (const [key, next] of changes) {
    const previous = under("keys", key)[0]
    if (previous !== undefined) {
      size--
      for (const index of indexes) {
        const name = nameIn(index, previous)
        if (name !== undefined)
          overlay[index].set(
            name,
            under(index, name).filter((r) => r.key !== key)
          )
      }
      if (previous.pattern._tag === "Glob") globs = globs.filter((r) => r.key !== key)
    }
    if (next !== undefined) {
      size++
      for (const index of indexes) {
        const name = nameIn(index, next)
        if (name !== undefined) overlay[index].set(name, [...under(index, name), next].toSorted(byKey))
      }
      if (next.pattern._tag === "Glob") globs = [...globs, next].toSorted(byGlob)
    }
  }
  const overlaid = indexes.reduce((n, index) => n + overlay[index].size, 0)
  const next: State<A> = { base: state.base, overlay, overlaid, globs, size }
  return overlaid > 16 * Math.ceil(Math.sqrt(size)) + 64 ? make(contents(next)) : snapshot(next)
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
