/**
 * Request paths and route patterns for the verifier's path matching (the fallback when a
 * ForwardAuth call does not name its offer).
 *
 * Normalisation, applied to every request path before matching, so that a path cannot be dressed
 * up to slip past a pattern:
 * - the query string and fragment are dropped;
 * - percent-escapes are decoded, except `%2F` and `%5C` (an encoded slash stays part of its
 *   segment, as Traefik routes it); a malformed escape is an error, and the request is denied;
 * - empty segments (`//`) collapse, `.` segments vanish, `..` removes the previous segment and never
 *   climbs above the root.
 *
 * Patterns: exact (`/services/a`), prefix (`/services/a/*`, which also matches `/services/a`), or
 * glob (any segment may contain `*`, matching within that segment; a final `*` segment matches the
 * rest). More specific patterns win: exact, then prefix by length, then glob by literal length;
 * ties break by the route's key, so the winner never depends on insertion order.
 *
 * Two patterns overlap when some path matches both ({@link overlaps}); the verifier lets only one
 * of two overlapping routes serve a path (see `Routes`).
 *
 * @since 0.1.0
 */
import { Result } from "effect"

/**
 * @category models
 */
export type Pattern =
  | { readonly _tag: "Exact"; readonly path: string; readonly source: string }
  | { readonly _tag: "Prefix"; readonly prefix: string; readonly source: string }
  | {
      readonly _tag: "Glob"
      readonly segments: ReadonlyArray<RegExp | "**">
      /** The segments as written (`*` inside), for {@link overlaps}. */
      readonly parts: ReadonlyArray<string>
      readonly literal: number
      readonly source: string
    }

const keepEncoded = new Set(["%2F", "%5C"])

/**
 * Normalises a request URI (path plus optional query) into a canonical path.
 *
 * @category constructors
 */
export const normalize = (uri: string): Result.Result<string, string> => {
  const cut = uri.search(/[?#]/u)
  const raw = cut === -1 ? uri : uri.slice(0, cut)
  if (!raw.startsWith("/")) return Result.fail(`path must start with /: ${JSON.stringify(raw.slice(0, 100))}`)
  const segments: Array<string> = []
  for (const part of raw.split("/")) {
    let decoded: string
    try {
      // Decode everything but encoded slashes and backslashes, which stay inside their segment.
      decoded = part
        .split(/(%2F|%5C)/iu)
        .map((piece) => (keepEncoded.has(piece.toUpperCase()) ? piece.toUpperCase() : decodeURIComponent(piece)))
        .join("")
    } catch {
      return Result.fail(`malformed percent-escape in ${JSON.stringify(part.slice(0, 100))}`)
    }
    if (decoded === "" || decoded === ".") continue
    if (decoded === "..") segments.pop()
    else segments.push(decoded)
  }
  return Result.succeed(`/${segments.join("/")}`)
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/gu, "\\$&")

/**
 * Compiles a PaymentRoute pattern.
 *
 * @category constructors
 */
export const compile = (source: string): Pattern => {
  const trimmed = source.length > 1 ? source.replace(/\/+$/u, "") : source
  if (trimmed.endsWith("/*") && !trimmed.slice(0, -2).includes("*")) {
    const prefix = trimmed.slice(0, -2) === "" ? "/" : trimmed.slice(0, -2)
    return { _tag: "Prefix", prefix, source }
  }
  if (!trimmed.includes("*")) return { _tag: "Exact", path: trimmed === "" ? "/" : trimmed, source }
  const parts = trimmed.split("/").filter((p) => p !== "")
  const segments = parts.map((part, i): RegExp | "**" =>
    part === "*" && i === parts.length - 1
      ? "**"
      : new RegExp(`^${part.split("*").map(escapeRegExp).join("[^/]*")}$`, "u")
  )
  return { _tag: "Glob", segments, parts, literal: parts.join("").replaceAll("*", "").length, source }
}

/**
 * Whether a normalised path matches a pattern.
 *
 * @category predicates
 */
export const matches = (pattern: Pattern, path: string): boolean => {
  switch (pattern._tag) {
    case "Exact":
      return path === pattern.path
    case "Prefix":
      return pattern.prefix === "/" || path === pattern.prefix || path.startsWith(`${pattern.prefix}/`)
    case "Glob": {
      const parts = path.split("/").filter((p) => p !== "")
      for (let i = 0; i < pattern.segments.length; i++) {
        const segment = pattern.segments[i]!
        if (segment === "**") return parts.length >= i
        const part = parts[i]
        if (part === undefined || !segment.test(part)) return false
      }
      return parts.length === pattern.segments.length
    }
  }
}

/**
 * Orders patterns from most to least specific (negative when `a` wins).
 *
 * @category combinators
 */
export const bySpecificity = (a: Pattern, b: Pattern): number => {
  const rank = (p: Pattern) => (p._tag === "Exact" ? 0 : p._tag === "Prefix" ? 1 : 2)
  if (rank(a) !== rank(b)) return rank(a) - rank(b)
  if (a._tag === "Prefix" && b._tag === "Prefix") return b.prefix.length - a.prefix.length
  if (a._tag === "Glob" && b._tag === "Glob") return b.literal - a.literal || b.segments.length - a.segments.length
  return 0
}

/**
 * A pattern as segments (each a literal or a `*` glob within one segment) and whether any number
 * of further segments may follow.
 */
const shape = (pattern: Pattern): { readonly segments: ReadonlyArray<string>; readonly tail: boolean } => {
  const split = (path: string) => path.split("/").filter((p) => p !== "")
  switch (pattern._tag) {
    case "Exact":
      return { segments: split(pattern.path), tail: false }
    case "Prefix":
      return { segments: split(pattern.prefix), tail: true }
    case "Glob":
      return pattern.segments.at(-1) === "**"
        ? { segments: pattern.parts.slice(0, -1), tail: true }
        : { segments: pattern.parts, tail: false }
  }
}

/**
 * Whether some segment matches both segment patterns. With a `*` in each, a common match exists
 * exactly when their literal starts agree (one is a prefix of the other) and their literal ends
 * agree: the stars absorb every middle piece of both.
 */
const segmentsMeet = (a: string, b: string): boolean => {
  const aGlob = a.includes("*")
  const bGlob = b.includes("*")
  if (!aGlob && !bGlob) return a === b
  if (!bGlob) return new RegExp(`^${a.split("*").map(escapeRegExp).join("[^/]*")}$`, "u").test(b)
  if (!aGlob) return segmentsMeet(b, a)
  const pa = a.split("*")
  const pb = b.split("*")
  const [startA, endA] = [pa[0]!, pa.at(-1)!]
  const [startB, endB] = [pb[0]!, pb.at(-1)!]
  return (startA.startsWith(startB) || startB.startsWith(startA)) && (endA.endsWith(endB) || endB.endsWith(endA))
}

/**
 * Whether some normalised path matches both patterns: the paths one route would serve are not
 * disjoint from the other's.
 *
 * @category predicates
 */
export const overlaps = (a: Pattern, b: Pattern): boolean => {
  const x = shape(a)
  const y = shape(b)
  const n = Math.min(x.segments.length, y.segments.length)
  for (let i = 0; i < n; i++) if (!segmentsMeet(x.segments[i]!, y.segments[i]!)) return false
  if (x.segments.length === y.segments.length) return true
  // The shorter one must take the longer one's remaining segments with its tail.
  return x.segments.length < y.segments.length ? x.tail : y.tail
}
