import { describe, expect, it } from "@effect/vitest"
import * as Canonical from "@obol/controller/Canonical"

describe("Canonical", () => {
  it("treats objects with the same entries in another key order as equal, at every depth", () => {
    expect(Canonical.equals({ a: 1, b: { c: [1, { d: 2, e: 3 }] } }, { b: { c: [1, { e: 3, d: 2 }] }, a: 1 })).toBe(
      true
    )
    expect(Canonical.canonical({ b: 1, a: 2 })).toBe('{"a":2,"b":1}')
  })

  it("keeps array order and value differences significant", () => {
    expect(Canonical.equals({ a: [1, 2] }, { a: [2, 1] })).toBe(false)
    expect(Canonical.equals({ a: "0" }, { a: 0 })).toBe(false)
    expect(Canonical.equals({ a: 1 }, { a: 1, b: 2 })).toBe(false)
  })
})

describe("Canonical.contains", () => {
  it("holds when every desired field is there, whatever else the actual object has", () => {
    const actual = {
      metadata: { name: "a", uid: "u", labels: { x: "1", y: "2" } },
      spec: { rules: [{ backendRefs: [{ name: "svc", port: 80, group: "", kind: "Service", weight: 1 }] }] },
      status: { ok: true }
    }
    expect(
      Canonical.contains(actual, {
        metadata: { name: "a", labels: { x: "1" } },
        spec: { rules: [{ backendRefs: [{ name: "svc", port: 80 }] }] }
      })
    ).toBe(true)
  })

  it("fails on a changed value, a missing field, another array length, or a type change", () => {
    const actual = { spec: { price: "1000", list: [1, 2], nested: { a: 1 } } }
    expect(Canonical.contains(actual, { spec: { price: "2000" } })).toBe(false)
    expect(Canonical.contains(actual, { spec: { payTo: "0x" } })).toBe(false)
    expect(Canonical.contains(actual, { spec: { list: [1] } })).toBe(false)
    expect(Canonical.contains(actual, { spec: { list: [1, 3] } })).toBe(false)
    expect(Canonical.contains(actual, { spec: { nested: [1] } })).toBe(false)
    expect(Canonical.contains(actual, { spec: { price: 1000 } })).toBe(false)
  })
})
