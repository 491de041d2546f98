import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as Action from "@obol/controller/Action"
import * as Finalizer from "@obol/controller/Finalizer"
import { Widget, widget } from "./utils/kinds.ts"

const name = "test.obol.org/cleanup"
const ref = { namespace: "ns", name: "a" }

const step = (cleanup: Finalizer.Cleanup = Finalizer.done) =>
  Effect.gen(function* () {
    const client = yield* KubeClient.KubeClient
    const object = yield* client.get(Widget, ref)
    const calls: Array<string> = []
    let applied: typeof object | undefined
    const action = yield* Finalizer.run({
      kind: Widget,
      object,
      finalizer: name,
      apply: (seen) =>
        Effect.sync(() => {
          calls.push("apply")
          applied = seen
        }).pipe(Effect.as(Action.requeueAfter("1 minute"))),
      cleanup: () => Effect.sync(() => calls.push("cleanup")).pipe(Effect.as(cleanup))
    })
    return { action, calls, applied, after: yield* KubeError_ignore(client.get(Widget, ref)) }
  })

const KubeError_ignore = <A, E>(effect: Effect.Effect<A, E>) => Effect.option(effect)

describe("Finalizer", () => {
  it.effect("adds the finalizer, then applies in the same pass to the object the patch returned", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* client.create(Widget, widget("a"))
      const first = yield* step()
      expect(first.calls).toEqual(["apply"])
      expect(first.applied?.metadata.finalizers).toEqual([name])
      expect(first.action._tag).toBe("RequeueAfter")
      expect(first.after._tag === "Some" && first.after.value.metadata.finalizers).toEqual([name])
      const second = yield* step()
      expect(second.calls).toEqual(["apply"])
    }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
  )

  it.effect("appends to other controllers' finalizers without touching them", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* client.create(Widget, widget("a", 1, { finalizers: ["other.io/keep"] }))
      const first = yield* step()
      expect(first.after._tag === "Some" && first.after.value.metadata.finalizers).toEqual(["other.io/keep", name])
    }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
  )

  it.effect("cleans up, then removes only its own finalizer, when the object is deleted", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const fake = yield* FakeKube.FakeKube
      yield* client.create(Widget, widget("a", 1, { finalizers: [name, "other.io/keep"] }))
      yield* client.delete(Widget, ref)
      yield* fake.clearRequests
      const result = yield* step()
      expect(result.calls).toEqual(["cleanup"])
      expect(result.after._tag === "Some" && result.after.value.metadata.finalizers).toEqual(["other.io/keep"])
      const patches = (yield* fake.requests).filter((r) => r.verb === "patch").map((r) => r.body)
      expect(patches).toEqual([
        {
          type: "json",
          patch: [
            { op: "test", path: "/metadata/finalizers/0", value: name },
            { op: "remove", path: "/metadata/finalizers/0" }
          ]
        }
      ])
    }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
  )

  it.effect("keeps the finalizer and requeues while cleanup is pending; the object goes once it is done", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* client.create(Widget, widget("a", 1, { finalizers: [name] }))
      yield* client.delete(Widget, ref)
      const waiting = yield* step(Finalizer.pending("5 seconds"))
      expect(waiting.action._tag).toBe("RequeueAfter")
      expect(waiting.after._tag).toBe("Some")
      const finished = yield* step()
      expect(finished.after._tag).toBe("None")
    }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
  )

  it.effect("fails with RemoveFinalizer, leaving the list alone, when the list changed under it", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* client.create(Widget, widget("a", 1, { finalizers: ["other.io/first", name] }))
      yield* client.delete(Widget, ref)
      const stale = yield* client.get(Widget, ref)
      // Someone removes the other finalizer meanwhile: ours moves from index 1 to 0.
      yield* client.patch(Widget, ref, { type: "json", patch: [{ op: "remove", path: "/metadata/finalizers/0" }] })
      const error = yield* Effect.flip(
        Finalizer.run({
          kind: Widget,
          object: stale,
          finalizer: name,
          apply: () => Effect.succeed(Action.awaitChange),
          cleanup: () => Effect.succeed(Finalizer.done)
        })
      )
      expect(error._tag === "FinalizerError" && error.reason).toBe("RemoveFinalizer")
      expect((yield* client.get(Widget, ref)).metadata.finalizers).toEqual([name])
    }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
  )

  it.effect("treats removing its finalizer from an object already gone as done: no failure, no retry", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const fake = yield* FakeKube.FakeKube
      yield* client.create(Widget, widget("a", 1, { finalizers: [name] }))
      yield* client.delete(Widget, ref)
      // The reconcile read this copy from its cache; then the object went away (its finalizer was
      // released by an earlier run) before this run's removal patch reached the API server.
      const stale = yield* client.get(Widget, ref)
      yield* client.patch(Widget, ref, { type: "json", patch: [{ op: "remove", path: "/metadata/finalizers/0" }] })
      expect(Option.isNone(yield* Effect.option(client.get(Widget, ref)))).toBe(true)
      yield* fake.clearRequests
      const calls: Array<string> = []
      const exit = yield* Effect.exit(
        Finalizer.run({
          kind: Widget,
          object: stale,
          finalizer: name,
          apply: () => Effect.sync(() => calls.push("apply")).pipe(Effect.as(Action.awaitChange)),
          cleanup: () => Effect.sync(() => calls.push("cleanup")).pipe(Effect.as(Finalizer.done))
        })
      )
      expect(exit._tag === "Success" && exit.value).toEqual(Action.awaitChange)
      expect(calls).toEqual(["cleanup"])
      // One removal attempt, answered NotFound and taken as done: nothing is patched again.
      expect((yield* fake.requests).filter((r) => r.verb === "patch")).toHaveLength(1)
    }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
  )

  it.effect("treats adding its finalizer to an object that vanished as moot: no failure, no apply", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const fake = yield* FakeKube.FakeKube
      yield* client.create(Widget, widget("a"))
      const stale = yield* client.get(Widget, ref)
      yield* client.delete(Widget, ref)
      yield* fake.clearRequests
      const calls: Array<string> = []
      const exit = yield* Effect.exit(
        Finalizer.run({
          kind: Widget,
          object: stale,
          finalizer: name,
          apply: () => Effect.sync(() => calls.push("apply")).pipe(Effect.as(Action.requeueAfter("1 minute"))),
          cleanup: () => Effect.sync(() => calls.push("cleanup")).pipe(Effect.as(Finalizer.done))
        })
      )
      expect(exit._tag === "Success" && exit.value).toEqual(Action.awaitChange)
      expect(calls).toEqual([])
      expect((yield* fake.requests).filter((r) => r.verb === "patch")).toHaveLength(1)
      expect(Option.isNone(yield* Effect.option(client.get(Widget, ref)))).toBe(true)
    }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
  )

  it.effect("still fails with RemoveFinalizer on other errors, so they are retried", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const fake = yield* FakeKube.FakeKube
      yield* client.create(Widget, widget("a", 1, { finalizers: [name] }))
      yield* client.delete(Widget, ref)
      yield* fake.failNext("patch", {
        error: new KubeError.KubeError({ reason: "ServerError", code: 500, message: "etcdserver: request timed out" })
      })
      const error = yield* Effect.flip(step())
      expect(error._tag === "FinalizerError" && [error.reason, error.cause.reason]).toEqual([
        "RemoveFinalizer",
        "ServerError"
      ])
    }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
  )
})
