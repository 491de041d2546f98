import { describe, expect, it } from "@effect/vitest"
import * as Echoes from "@obol/controller/Echoes"

const kind = "v1/ConfigMap"

describe("Echoes", () => {
  it("recognises the event of our own write once, by its resourceVersion", () => {
    const echoes = Echoes.make()
    echoes.record(kind, "ns/a", "10")
    expect(echoes.isEcho(kind, "ns/a", "10")).toBe(true)
    expect(echoes.isEcho(kind, "ns/a", "10")).toBe(false)
  })

  it("does not take someone else's write, another object's or another kind's for ours", () => {
    const echoes = Echoes.make()
    echoes.record(kind, "ns/a", "10")
    expect(echoes.isEcho(kind, "ns/a", "11")).toBe(false)
    expect(echoes.isEcho(kind, "ns/b", "10")).toBe(false)
    expect(echoes.isEcho("v1/Secret", "ns/a", "10")).toBe(false)
    expect(echoes.isEcho(kind, "ns/a", undefined)).toBe(false)
  })

  it("drops versions written before the one whose event arrived (events come in order)", () => {
    const echoes = Echoes.make()
    echoes.record(kind, "ns/a", "10")
    echoes.record(kind, "ns/a", "12")
    expect(echoes.isEcho(kind, "ns/a", "12")).toBe(true)
    expect(echoes.isEcho(kind, "ns/a", "10")).toBe(false)
  })

  it("forgets what a deletion or a relist means will never arrive, and keeps a bounded number per object", () => {
    const echoes = Echoes.make(2)
    echoes.record(kind, "ns/a", "10")
    echoes.forget(kind, "ns/a")
    expect(echoes.isEcho(kind, "ns/a", "10")).toBe(false)
    echoes.record(kind, "ns/b", "20")
    echoes.forgetKind(kind)
    expect(echoes.isEcho(kind, "ns/b", "20")).toBe(false)
    for (const rv of ["1", "2", "3"]) echoes.record(kind, "ns/c", rv)
    expect(echoes.isEcho(kind, "ns/c", "1")).toBe(false)
    expect(echoes.isEcho(kind, "ns/c", "3")).toBe(true)
  })
})
