/**
 * Which of a changing set of patterns overlap a given one, in exactly the terms `PathClaims`
 * refuses a claim: exact and prefix patterns by their literal paths and `PathClaims.ancestors`,
 * anything with a glob by `PathMatch.overlaps`. `Admission` uses it to find the routes whose path
 * claims one change can affect (the connected group of overlapping claimants), so that it re-runs
 * the claims of that group only.
 *
 * Cost: an exact pattern's neighbours are found along its ancestors; a prefix pattern's also
 * include everything below it (a `/*` route overlaps every route, so it costs them all); globs
 * are compared pairwise (a glob query compares every member).
 *
 * It orders nothing and decides nothing: members are plain values, added and removed by the caller.
 *
 * @since 0.1.0
 */
import * as PathClaims from "./PathClaims.ts"
import * as PathMatch from "./PathMatch.ts"

/**
 * @category models
 */
export interface PathOverlaps<A> {
  readonly add: (pattern: PathMatch.Pattern, member: A) => void
  /** Removes a member added with this pattern. */
  readonly remove: (pattern: PathMatch.Pattern, member: A) => void
  /** Every member whose pattern overlaps `pattern` (a member with that very pattern included), each once. */
  readonly overlapping: (pattern: PathMatch.Pattern) => Set<A>
}

/** A literal path: the exact and prefix members at it, and the paths whose nearest ancestor it is. */
interface Node<A> {
  readonly exact: Map<A, PathMatch.Pattern>
  readonly prefix: Map<A, PathMatch.Pattern>
  readonly children: Set<string>
}

const pathOf = (pattern: Exclude<PathMatch.Pattern, { _tag: "Glob" }>) =>
  pattern._tag === "Exact" ? pattern.path : pattern.prefix

const parentOf = (path: string): string | undefined => {
  for (const ancestor of PathClaims.ancestors(path)) return ancestor
  return undefined
}

/**
 * An empty set.
 *
 * @category constructors
 */
export const make = <A>(): PathOverlaps<A> => {
  const nodes = new Map<string, Node<A>>()
  const globs = new Map<A, PathMatch.Pattern>()

  const nodeAt = (path: string): Node<A> => {
    let node = nodes.get(path)
    if (node !== undefined) return node
    node = { exact: new Map(), prefix: new Map(), children: new Set() }
    nodes.set(path, node)
    const parent = parentOf(path)
    if (parent !== undefined) nodeAt(parent).children.add(path)
    return node
  }

  /** Drops empty nodes from `path` up. */
  const prune = (path: string) => {
    const node = nodes.get(path)
    if (node === undefined || node.exact.size + node.prefix.size + node.children.size > 0) return
    nodes.delete(path)
    const parent = parentOf(path)
    if (parent === undefined) return
    nodes.get(parent)?.children.delete(path)
    prune(parent)
  }

  const below = (path: string, into: Set<A>) => {
    const node = nodes.get(path)
    if (node === undefined) return
    for (const child of node.children) {
      const at = nodes.get(child)!
      for (const member of at.exact.keys()) into.add(member)
      for (const member of at.prefix.keys()) into.add(member)
      below(child, into)
    }
  }

  return {
    add: (pattern, member) => {
      if (pattern._tag === "Glob") globs.set(member, pattern)
      else nodeAt(pathOf(pattern))[pattern._tag === "Exact" ? "exact" : "prefix"].set(member, pattern)
    },
    remove: (pattern, member) => {
      if (pattern._tag === "Glob") {
        globs.delete(member)
        return
      }
      const path = pathOf(pattern)
      nodes.get(path)?.[pattern._tag === "Exact" ? "exact" : "prefix"].delete(member)
      prune(path)
    },
    overlapping: (pattern) => {
      const found = new Set<A>()
      if (pattern._tag === "Glob") {
        for (const node of nodes.values()) {
          for (const [member, p] of node.exact) if (PathMatch.overlaps(p, pattern)) found.add(member)
          for (const [member, p] of node.prefix) if (PathMatch.overlaps(p, pattern)) found.add(member)
        }
      } else {
        const path = pathOf(pattern)
        const at = nodes.get(path)
        if (at !== undefined) {
          for (const member of at.exact.keys()) found.add(member)
          for (const member of at.prefix.keys()) found.add(member)
        }
        for (const ancestor of PathClaims.ancestors(path)) {
          const node = nodes.get(ancestor)
          if (node !== undefined) for (const member of node.prefix.keys()) found.add(member)
        }
        if (pattern._tag === "Prefix") below(path, found)
      }
      for (const [member, p] of globs) if (PathMatch.overlaps(p, pattern)) found.add(member)
      return found
    }
  }
}
