import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import * as OwnWrites from "@obol/controller/OwnWrites"
import type * as Store from "@obol/controller/Store"

const kind = "test.obol.org/v1/Widget"
const at = (name: string, resourceVersion: string, extra: Partial<Store.KubeObject["metadata"]> = {}) => ({
  metadata: { name, namespace: "ns", resourceVersion, ...extra }
})
const rv = (object: Option.Option<Store.KubeObject>) => Option.getOrUndefined(object)?.metadata.resourceVersion

describe("OwnWrites", () => {
  it("answers with our write while the cache is older or lacks the object, and with the cache once it catches up", () => {
    const writes = OwnWrites.make()
    writes.record(kind, at("a", "120"))
    expect(rv(writes.read(kind, "ns/a", Option.some(at("a", "119"))))).toBe("120")
    expect(rv(writes.read(kind, "ns/a", Option.none()))).toBe("120")
    expect(rv(writes.read(kind, "ns/a", Option.some(at("a", "121"))))).toBe("121")
    // Caught up once: the write is dropped, so an older cache entry is the cache's word again.
    expect(writes.size()).toBe(0)
    expect(rv(writes.read(kind, "ns/a", Option.some(at("a", "5"))))).toBe("5")
  })

  it("keeps the newest of several writes, per kind", () => {
    const writes = OwnWrites.make()
    writes.record(kind, at("k", "10"))
    writes.record(kind, at("k", "30"))
    writes.record(kind, at("k", "20"))
    writes.record("v1/ConfigMap", at("k", "40"))
    expect(rv(writes.read(kind, "ns/k", Option.some(at("k", "25"))))).toBe("30")
    expect(rv(writes.read("v1/ConfigMap", "ns/k", Option.none()))).toBe("40")
  })

  it("compares as integers, not strings, and holds nothing it cannot compare", () => {
    const writes = OwnWrites.make()
    writes.record(kind, at("k", "100"))
    expect(rv(writes.read(kind, "ns/k", Option.some(at("k", "99"))))).toBe("100")
    expect(rv(writes.read(kind, "ns/k", Option.some(at("k", "abc"))))).toBe("abc")
    writes.record(kind, at("j", "opaque"))
    expect(writes.size()).toBe(0)
  })

  it("lets go of a write when the watch brings it or anything newer, when the object is deleted, or on a relist", () => {
    const writes = OwnWrites.make()
    for (const name of ["a", "b", "c", "d", "e"]) writes.record(kind, at(name, "50"))
    writes.seen(kind, at("a", "49"))
    writes.seen(kind, at("b", "50"))
    writes.seen(kind, at("c", "51"))
    writes.forget(kind, "ns/d")
    expect(writes.size()).toBe(2) // a (the cache is still behind) and e
    writes.relisted(kind, [at("a", "48")])
    // e is not in the list (deleted while no watch was open); a is listed older than our write.
    expect(writes.size()).toBe(1)
    expect(rv(writes.read(kind, "ns/a", Option.some(at("a", "48"))))).toBe("50")
    writes.relisted(kind, [at("a", "60")])
    expect(writes.size()).toBe(0)
  })

  it("holds at most its capacity, the oldest write going first", () => {
    const writes = OwnWrites.make(2)
    writes.record(kind, at("a", "1"))
    writes.record(kind, at("b", "2"))
    writes.record(kind, at("a", "3")) // a is now the newest
    writes.record(kind, at("c", "4"))
    expect(writes.size()).toBe(2)
    expect(rv(writes.read(kind, "ns/b", Option.none()))).toBeUndefined()
    expect(rv(writes.read(kind, "ns/a", Option.none()))).toBe("3")
    expect(rv(writes.read(kind, "ns/c", Option.none()))).toBe("4")
  })

  it("holds what a cache would keep, without managedFields", () => {
    const writes = OwnWrites.make()
    writes.record(kind, at("a", "7", { managedFields: [{ manager: "m" }] as never }))
    expect(
      Option.getOrThrow(writes.read<Store.KubeObject>(kind, "ns/a", Option.none())).metadata.managedFields
    ).toBeUndefined()
  })
})
