import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as PathMatch from "@obol/x402-verifier/PathMatch"

const normal = (uri: string) => {
  const r = PathMatch.normalize(uri)
  return Result.isSuccess(r) ? r.success : `error: ${r.failure}`
}

describe("PathMatch", () => {
  it.each([
    ["/services/a", "/services/a"],
    ["/services/a?x=1&y=2", "/services/a"],
    ["/services/a#frag", "/services/a"],
    ["/services//a///b", "/services/a/b"],
    ["/services/./a", "/services/a"],
    ["/services/x/../a", "/services/a"],
    ["/../../etc/passwd", "/etc/passwd"],
    ["/services/%61", "/services/a"],
    ["/services/%2e%2e/admin", "/admin"],
    ["/services/a%2Fb", "/services/a%2Fb"],
    ["/services/a%2fb", "/services/a%2Fb"],
    ["/services/caf%C3%A9", "/services/café"],
    ["/services/a/", "/services/a"],
    ["/", "/"]
  ])("normalises %j to %j", (input, expected) => {
    expect(normal(input)).toBe(expected)
  })

  it.each(["services/a", "/services/%zz", "/services/%C3"])("rejects %j", (input) => {
    expect(normal(input)).toMatch(/^error: /u)
  })

  it("matches exact, prefix (at segment boundaries only) and glob patterns", () => {
    const exact = PathMatch.compile("/services/a")
    const prefix = PathMatch.compile("/services/a/*")
    const glob = PathMatch.compile("/inference-*/v1/*")
    expect([PathMatch.matches(exact, "/services/a"), PathMatch.matches(exact, "/services/a/b")]).toEqual([true, false])
    expect([
      PathMatch.matches(prefix, "/services/a"),
      PathMatch.matches(prefix, "/services/a/x/y"),
      PathMatch.matches(prefix, "/services/ab")
    ]).toEqual([true, true, false])
    expect([
      PathMatch.matches(glob, "/inference-qwen/v1/chat"),
      PathMatch.matches(glob, "/inference-qwen/v2/chat"),
      PathMatch.matches(glob, "/other/v1/x")
    ]).toEqual([true, false, false])
  })

  it("orders exact before prefix before glob, and longer prefixes first", () => {
    const patterns = ["/a/*", "/a/b/*", "/a/b", "/a/*/c"].map(PathMatch.compile)
    expect(patterns.toSorted(PathMatch.bySpecificity).map((p) => p.source)).toEqual([
      "/a/b",
      "/a/b/*",
      "/a/*",
      "/a/*/c"
    ])
  })

  it.each([
    ["/services/a/*", "/services/a/*", true],
    ["/services/a/*", "/services/a/b/*", true],
    ["/services/a/*", "/services/a", true],
    ["/services/a/*", "/services/ab/*", false],
    ["/services/a", "/services/a/b", false],
    ["/services/a", "/services/b", false],
    ["/*", "/anything/at/all", true],
    ["/services/*/v1/*", "/services/a/*", true],
    ["/services/*/v1/*", "/services/a/v2", false],
    ["/inference-*/v1/*", "/*-qwen/v1", true],
    ["/inference-*/v1", "/chat-*/v1", false],
    ["/a*z/x", "/ab*/x", true],
    ["/a*z/x", "/ab*y/x", false],
    ["/services/*/x", "/services/a/y", false],
    ["/services/*/x/*", "/services/a", false]
  ])("%j and %j overlap: %j", (a, b, expected) => {
    const [x, y] = [PathMatch.compile(a as string), PathMatch.compile(b as string)]
    expect([PathMatch.overlaps(x, y), PathMatch.overlaps(y, x)]).toEqual([expected, expected])
  })

  it("never calls two patterns disjoint when a path matches both", () => {
    const patterns = ["/a/*", "/a/b", "/a/b/*", "/a/*/c", "/a/b*/c/*", "/*b/c", "/a/x*y", "/*", "/a", "/b/*"]
    const paths = ["/", "/a", "/a/b", "/a/b/c", "/a/bb/c", "/a/xzy", "/a/bx/c/d", "/ab/c", "/b/c", "/x"]
    const compiled = patterns.map(PathMatch.compile)
    const shared = compiled.flatMap((a) =>
      compiled.flatMap((b) =>
        paths.filter((path) => PathMatch.matches(a, path) && PathMatch.matches(b, path)).map((path) => ({ a, b, path }))
      )
    )
    expect(shared.length).toBeGreaterThan(50)
    expect(
      shared.filter(({ a, b }) => !PathMatch.overlaps(a, b)).map(({ a, b, path }) => `${a.source} ${b.source} ${path}`)
    ).toEqual([])
  })
})
