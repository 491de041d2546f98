/**
 * Who holds which request paths: claims are made one at a time, in priority order, and a claim
 * whose pattern overlaps one already held is refused with the holder's name (the earliest
 * claimed, when several overlap). The verifier uses it
 * so that, for callers that send only a path, no two routes ever serve one path.
 *
 * Cost: an exact or prefix claim checks its own path, its ancestors and one "something is held
 * below here" map, so it costs the pattern's depth, not the number of claims; glob patterns are
 * compared pairwise ({@link PathMatch.overlaps}), and they are rare (the controller writes only
 * prefixes).
 *
 * It decides nothing about who should win: that is the order of the claims. `PathOverlaps` answers
 * the converse question (which of many claimants would refuse one another) in the same terms.
 *
 * @since 0.1.0
 */
import * as PathMatch from "./PathMatch.ts"

/**
 * @category models
 */
export interface PathClaims<A> {
  /** Takes the pattern for `holder`, or returns the holder of an overlapping pattern (and takes nothing). */
  readonly claim: (pattern: PathMatch.Pattern, holder: A) => A | undefined
}

/**
 * The paths whose prefix claims cover `path`, nearest first: `/a/b/c` → `/a/b`, `/a`, `/`.
 *
 * @category getters
 */
export const ancestors = function* (path: string): Generator<string> {
  if (path === "/") return
  for (let end = path.lastIndexOf("/"); end > 0; end = path.lastIndexOf("/", end - 1)) yield path.slice(0, end)
  yield "/"
}

/**
 * An empty set of claims.
 *
 * @category constructors
 */
export const make = <A>(): PathClaims<A> => {
  interface Claim {
    readonly pattern: PathMatch.Pattern
    readonly holder: A
    /** Claim order: of several overlapping holders, the earliest is named. */
    readonly order: number
  }
  /** Exact and prefix claims by their literal path. */
  const at = new Map<string, Claim>()
  /** For every path strictly above an exact or prefix claim, the earliest claim below it. */
  const below = new Map<string, Claim>()
  const globs: Array<Claim> = []
  const all: Array<Claim> = []

  const earliest = (a: Claim | undefined, b: Claim | undefined) =>
    a === undefined ? b : b === undefined ? a : a.order <= b.order ? a : b

  const conflict = (pattern: PathMatch.Pattern): Claim | undefined => {
    if (pattern._tag === "Glob") return all.find((c) => PathMatch.overlaps(c.pattern, pattern))
    const path = pattern._tag === "Exact" ? pattern.path : pattern.prefix
    let found = at.get(path)
    for (const ancestor of ancestors(path)) {
      const held = at.get(ancestor)
      if (held?.pattern._tag === "Prefix") found = earliest(found, held)
    }
    if (pattern._tag === "Prefix") found = earliest(found, below.get(path))
    return earliest(
      found,
      globs.find((c) => PathMatch.overlaps(c.pattern, pattern))
    )
  }

  return {
    claim: (pattern, holder) => {
      const held = conflict(pattern)
      if (held !== undefined) return held.holder
      const claim: Claim = { pattern, holder, order: all.length }
      all.push(claim)
      if (pattern._tag === "Glob") globs.push(claim)
      else {
        const path = pattern._tag === "Exact" ? pattern.path : pattern.prefix
        at.set(path, claim)
        for (const ancestor of ancestors(path)) if (!below.has(ancestor)) below.set(ancestor, claim)
      }
      return undefined
    }
  }
}
