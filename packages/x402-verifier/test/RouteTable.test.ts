import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import * as PathMatch from "@obol/x402-verifier/PathMatch"
import * as RouteTable from "@obol/x402-verifier/RouteTable"

const route = (key: string, pattern: string, offer = key) => ({
  key,
  offer,
  pattern: PathMatch.compile(pattern),
  value: key
})
const hit = (table: RouteTable.RouteTable<string>, path: string) =>
  Option.getOrUndefined(Option.map(table.match(path), (r) => r.key))

describe("RouteTable", () => {
  it("finds a route by offer identity", () => {
    const table = RouteTable.make([route("ns/a-payment", "/services/a/*", "ns/a")])
    expect(Option.map(table.byOffer("ns/a"), (r) => r.key)).toEqual(Option.some("ns/a-payment"))
    expect(table.byOffer("ns/b")).toEqual(Option.none())
  })

  it("prefers the most specific match: exact, then the longest prefix, then globs", () => {
    const table = RouteTable.make([
      route("x/wide", "/services/*"),
      route("x/narrow", "/services/a/*"),
      route("x/exact", "/services/a/health"),
      route("x/glob", "/services/*/v1/*")
    ])
    expect(hit(table, "/services/a/health")).toBe("x/exact")
    expect(hit(table, "/services/a/chat")).toBe("x/narrow")
    expect(hit(table, "/services/b/v1/chat")).toBe("x/wide")
    expect(hit(table, "/elsewhere")).toBeUndefined()
  })

  it("breaks ties between identical patterns by key, whatever the insertion order", () => {
    const a = route("ns/a", "/shared/*")
    const b = route("ns/b", "/shared/*")
    expect(hit(RouteTable.make([b, a]), "/shared/x")).toBe("ns/a")
    expect(hit(RouteTable.make([a, b]), "/shared/x")).toBe("ns/a")
  })

  it("uses globs only when no exact or prefix route matches", () => {
    const table = RouteTable.make([route("g/one", "/inference-*/v1/*")])
    expect(hit(table, "/inference-qwen/v1/chat")).toBe("g/one")
  })

  it("swaps whole snapshots: readers see the old table or the new one", () => {
    const holder = RouteTable.holder<string>()
    const before = holder.get()
    holder.set(RouteTable.make([route("ns/a", "/a/*")]))
    expect(before.size).toBe(0)
    expect(holder.get().size).toBe(1)
  })

  it("derives a snapshot with some routes replaced, and leaves the one it came from as it was", () => {
    let table = RouteTable.make([route("ns/a", "/a/*"), route("ns/b", "/b/*")])
    const before = table
    table = RouteTable.update(table, [
      ["ns/a", undefined],
      ["ns/b", route("ns/b", "/b/v2/*")],
      ["ns/c", route("ns/c", "/c/*/x")]
    ])
    expect([hit(table, "/a/x"), hit(table, "/b/x"), hit(table, "/b/v2/x"), hit(table, "/c/1/x")]).toEqual([
      undefined,
      undefined,
      "ns/b",
      "ns/c"
    ])
    expect(table.routes().map((r) => r.key)).toEqual(["ns/b", "ns/c"])
    expect([hit(before, "/a/x"), hit(before, "/b/x"), before.size]).toEqual(["ns/a", "ns/b", 2])
  })

  it("serves the next route by key when the first of identical patterns is removed, across many updates", () => {
    let table = RouteTable.make([route("ns/a", "/shared/*"), route("ns/b", "/shared/*")])
    table = RouteTable.update(table, [["ns/a", undefined]])
    expect(hit(table, "/shared/x")).toBe("ns/b")
    // Enough updates to fold the overlay into new maps more than once.
    for (let i = 0; i < 200; i++) table = RouteTable.update(table, [[`ns/r${i}`, route(`ns/r${i}`, `/r${i}/*`)]])
    table = RouteTable.update(table, [["ns/a", route("ns/a", "/shared/*")]])
    expect([hit(table, "/shared/x"), hit(table, "/r150/y"), table.size]).toEqual(["ns/a", "ns/r150", 202])
  })

  it("looks up among 10,000 routes by identity and by path", () => {
    const routes = Array.from({ length: 10_000 }, (_, i) => route(`ns/r${i}-payment`, `/services/r${i}/*`, `ns/r${i}`))
    const table = RouteTable.make(routes)
    expect(Option.map(table.byOffer("ns/r9999"), (r) => r.key)).toEqual(Option.some("ns/r9999-payment"))
    expect(hit(table, "/services/r4242/v1/chat/completions")).toBe("ns/r4242-payment")
  })
})
