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
})
