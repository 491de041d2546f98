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
