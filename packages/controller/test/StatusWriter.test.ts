import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as KubeClient from "@obol/kube/KubeClient"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as StatusWriter from "@obol/controller/StatusWriter"
import { Widget, widget } from "./utils/kinds.ts"

const ref = { namespace: "ns", name: "a" }

describe("StatusWriter.applyIfChanged", () => {
  it.effect("sends nothing when the object already has that status", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const fake = yield* FakeKube.FakeKube
      yield* client.create(Widget, widget("a"))
      yield* StatusWriter.applyIfChanged(Widget, yield* client.get(Widget, ref), { observed: 1 }, "test")
      const read = yield* client.get(Widget, ref)
      yield* fake.clearRequests
      const wrote = yield* StatusWriter.applyIfChanged(Widget, read, { observed: 1 }, "test")
      expect(wrote).toBe(false)
      expect(yield* fake.requests).toEqual([])
    }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
  )

  it.effect("applies a changed status to the status subresource and says it wrote", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const fake = yield* FakeKube.FakeKube
      yield* client.create(Widget, widget("a"))
      yield* fake.clearRequests
      const wrote = yield* StatusWriter.applyIfChanged(Widget, yield* client.get(Widget, ref), { observed: 2 }, "test")
      expect(wrote).toBe(true)
      expect((yield* client.get(Widget, ref)).status).toEqual({ observed: 2 })
      expect((yield* fake.requests).filter((r) => r.verb === "applyStatus").length).toBe(1)
    }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
  )

  it.effect("removes what it set before and leaves out now (the status is owned whole)", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* client.create(Widget, widget("a"))
      yield* StatusWriter.applyIfChanged(Widget, yield* client.get(Widget, ref), { observed: 2 }, "test")
      yield* StatusWriter.applyIfChanged(Widget, yield* client.get(Widget, ref), {}, "test")
      expect((yield* client.get(Widget, ref)).status ?? {}).toEqual({})
    }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
  )
})
