import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import * as Store from "@obol/controller/Store"

const object = (name: string, labels: Record<string, string> = {}, extra: object = {}) => ({
  metadata: { name, namespace: "ns", labels, resourceVersion: "1", ...extra }
})

describe("Store", () => {
  it.effect("is not ready until its first full list, and then answers get and list", () =>
    Effect.gen(function* () {
      const writer = yield* Store.make<ReturnType<typeof object>>()
      const waiting = yield* writer.store.waitUntilReady.pipe(Effect.forkChild)
      yield* Effect.yieldNow
      expect(writer.store.isReady()).toBe(false)
      expect(waiting.pollUnsafe()).toBeUndefined()
      writer.reset([object("a"), object("b")])
      yield* Fiber.join(waiting)
      expect(writer.store.isReady()).toBe(true)
      expect(Option.map(writer.store.get("ns/a"), (o) => o.metadata.name)).toEqual(Option.some("a"))
      expect(writer.store.list().map((o) => o.metadata.name)).toEqual(["a", "b"])
    })
  )

  it.effect("applies and deletes single objects, and a relist replaces everything", () =>
    Effect.gen(function* () {
      const writer = yield* Store.make<ReturnType<typeof object>>()
      writer.reset([object("a")])
      writer.apply(object("b"))
      writer.delete(object("a"))
      expect(writer.store.list().map((o) => o.metadata.name)).toEqual(["b"])
      writer.reset([object("c")])
      expect(writer.store.list().map((o) => o.metadata.name)).toEqual(["c"])
    })
  )

  it.effect("builds an index added later over what it already holds, and keeps the first function of a name", () =>
    Effect.gen(function* () {
      const writer = yield* Store.make<ReturnType<typeof object>>()
      writer.reset([object("a", { app: "web" }), object("b", { app: "db" })])
      const app = (o: ReturnType<typeof object>) =>
        o.metadata.labels["app"] === undefined ? [] : [o.metadata.labels["app"]]
      writer.addIndexes({ byApp: app })
      expect(writer.store.byIndex("byApp", "web").map((o) => o.metadata.name)).toEqual(["a"])
      writer.addIndexes({ byApp: () => ["everything"] })
      expect(writer.store.byIndex("byApp", "everything")).toEqual([])
      writer.apply(object("c", { app: "web" }))
      expect(
        writer.store
          .byIndex("byApp", "web")
          .map((o) => o.metadata.name)
          .toSorted()
      ).toEqual(["a", "c"])
    })
  )

  it.effect("keeps indexes current through updates and deletes", () =>
    Effect.gen(function* () {
      const writer = yield* Store.make<ReturnType<typeof object>>({
        indexes: { byApp: (o) => (o.metadata.labels["app"] === undefined ? [] : [o.metadata.labels["app"]]) }
      })
      writer.reset([object("a", { app: "web" }), object("b", { app: "web" }), object("c", { app: "db" })])
      expect(
        writer.store
          .byIndex("byApp", "web")
          .map((o) => o.metadata.name)
          .toSorted()
      ).toEqual(["a", "b"])
      writer.apply(object("b", { app: "db" }))
      writer.delete(object("a"))
      expect(writer.store.byIndex("byApp", "web")).toEqual([])
      expect(
        writer.store
          .byIndex("byApp", "db")
          .map((o) => o.metadata.name)
          .toSorted()
      ).toEqual(["b", "c"])
    })
  )

  it("drops managedFields and the last-applied annotation, keeping other annotations", () => {
    const stripped = Store.strip(
      object(
        "a",
        {},
        {
          managedFields: [{ manager: "kubectl" }],
          annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{...}", note: "keep" }
        }
      )
    )
    expect(stripped.metadata).toEqual({
      name: "a",
      namespace: "ns",
      labels: {},
      resourceVersion: "1",
      annotations: { note: "keep" }
    })
  })

  it("builds keys as namespace/name and splits them back", () => {
    expect(Store.key({ namespace: "ns", name: "a" })).toBe("ns/a")
    expect(Store.key({ name: "cluster-scoped" })).toBe("cluster-scoped")
    expect(Store.refOf("ns/a")).toEqual({ namespace: "ns", name: "a" })
    expect(Store.refOf("cluster-scoped")).toEqual({ name: "cluster-scoped" })
  })
})
