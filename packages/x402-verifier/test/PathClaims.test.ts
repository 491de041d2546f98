import { describe, expect, it } from "@effect/vitest"
import * as PathClaims from "@obol/x402-verifier/PathClaims"
import * as PathMatch from "@obol/x402-verifier/PathMatch"

/** The same claims decided the slow way: each against every one taken before it. */
const pairwise = (patterns: ReadonlyArray<string>) => {
  const taken: Array<PathMatch.Pattern> = []
  return patterns.map((source) => {
    const pattern = PathMatch.compile(source)
    const holder = taken.find((t) => PathMatch.overlaps(t, pattern))
    if (holder === undefined) taken.push(pattern)
    return holder?.source
  })
}

const indexed = (patterns: ReadonlyArray<string>) => {
  const claims = PathClaims.make<string>()
  return patterns.map((source) => claims.claim(PathMatch.compile(source), source))
}

describe("PathClaims", () => {
  it("refuses a claim that overlaps a held one and names the holder", () => {
    const claims = PathClaims.make<string>()
    expect(claims.claim(PathMatch.compile("/services/api/*"), "victim/api")).toBeUndefined()
    expect(claims.claim(PathMatch.compile("/services/api/v1/*"), "attacker/api")).toBe("victim/api")
    expect(claims.claim(PathMatch.compile("/services/*"), "attacker/all")).toBe("victim/api")
    expect(claims.claim(PathMatch.compile("/services/api"), "attacker/exact")).toBe("victim/api")
    expect(claims.claim(PathMatch.compile("/services/apiary/*"), "other/apiary")).toBeUndefined()
  })

  it("decides exactly as comparing every pair would, for prefixes, exact paths and globs", () => {
    const pool = ["/a/*", "/a/b", "/a/b/*", "/a/*/c", "/a/b*/c/*", "/*b/c", "/a/x*y", "/a", "/b/*", "/b/c/d", "/c/*/d"]
    let seed = 7
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31)
    for (let run = 0; run < 300; run++) {
      const patterns = Array.from({ length: 1 + (next() % 6) }, () => pool[next() % pool.length]!)
      expect(indexed(patterns), patterns.join(" ")).toEqual(pairwise(patterns))
    }
    expect(indexed(["/b/c/d", "/*"])).toEqual([undefined, "/b/c/d"])
  })
})
