import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Deferred, Effect, Exit, Fiber, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { ConfigMap } from "@obol/kube/builtin/ConfigMap"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as Action from "@obol/controller/Action"
import * as Controller from "@obol/controller/Controller"
import * as EventRecorder from "@obol/controller/EventRecorder"
import * as Informers from "@obol/controller/Informers"
import * as Idle from "@obol/controller/testing/Idle"
import * as Terminal from "@obol/controller/Terminal"
import * as Triggers from "@obol/controller/Triggers"
import { configMap, Widget, widget } from "./utils/kinds.ts"

const settle = Idle.quiesce

type Reconcile = Controller.Options<typeof Widget, unknown, KubeClient.KubeClient>["reconcile"]

/** Starts a controller whose reconcile logs `name` per run and then does `then`. */
const start = (
  then: (object: Parameters<Reconcile>[0], n: number, context: Controller.Context) => ReturnType<Reconcile> = () =>
    Effect.succeed(Action.awaitChange),
  options: Partial<Controller.Options<typeof Widget, unknown, KubeClient.KubeClient>> = {}
) =>
  Effect.gen(function* () {
    const runs: Array<string> = []
    const counts = new Map<string, number>()
    const fiber = yield* Controller.run({
      name: "widgets",
      for: Widget,
      reconcile: (object, context) => {
        const name = object.metadata.name ?? ""
        const n = (counts.get(name) ?? 0) + 1
        counts.set(name, n)
        runs.push(name)
        return then(object, n, context)
      },
      scheduler: { jitter: 0, backoffBase: "1 second" },
      ...options
    }).pipe(Effect.forkChild)
    yield* settle
    return { runs, fiber }
  })

const published: Array<EventRecorder.Published> = []

const withFake = <A, E>(effect: Effect.Effect<A, E, KubeClient.KubeClient | FakeKube.FakeKube>) =>
  effect.pipe(Effect.provide(Layer.fresh(FakeKube.layer)), Idle.provide)

describe("Controller", () => {
  it.effect("reconciles every object once its caches are ready, and not before", () =>
    withFake(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        const fake = yield* FakeKube.FakeKube
        yield* client.create(Widget, widget("a"))
        yield* client.create(Widget, widget("b"))
        yield* fake.failNext("list", { error: KubeError.fromResponse({ code: 500, body: "" }) })
        const { runs } = yield* start()
        expect(runs).toEqual([])
        yield* TestClock.adjust("1 second")
        yield* settle
        expect(runs.toSorted()).toEqual(["a", "b"])
      })
    )
  )

  it.effect(
    "started again on the process's informers (leadership regained), reconciles every object without listing again",
    () =>
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        const fake = yield* FakeKube.FakeKube
        yield* client.create(Widget, widget("a"))
        const first = yield* start()
        expect(first.runs).toEqual(["a"])
        yield* Fiber.interrupt(first.fiber)
        yield* client.create(Widget, widget("b"))
        yield* settle
        const second = yield* start()
        expect(second.runs.toSorted()).toEqual(["a", "b"])
        const lists = (yield* fake.requests).filter((r) => r.verb === "list" && r.kind === "Widget")
        expect(lists).toHaveLength(1)
      }).pipe(
        Effect.scoped,
        Effect.provide(Informers.Informers.layer.pipe(Layer.provideMerge(Layer.fresh(FakeKube.layer)))),
        Idle.provide
      )
  )

  it.effect("skips status-only changes but reconciles spec, label, finalizer and deletion changes", () =>
    withFake(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        yield* client.create(Widget, widget("a"))
        const { runs } = yield* start()
        const ref = { namespace: "ns", name: "a" }
        const status = () =>
          client.applyStatus(
            Widget,
            {
              apiVersion: "test.obol.org/v1",
              kind: "Widget",
              metadata: { name: "a", namespace: "ns" },
              status: { observed: runs.length }
            },
            { fieldManager: "widgets" }
          )
        const step = (effect: Effect.Effect<unknown, KubeError.KubeError>) => Effect.andThen(effect, settle)
        yield* step(status())
        expect(runs).toEqual(["a"])
        yield* step(client.patch(Widget, ref, { type: "merge", patch: { spec: { size: 2 } } }))
        expect(runs).toEqual(["a", "a"])
        yield* step(client.patch(Widget, ref, { type: "merge", patch: { metadata: { labels: { tier: "gold" } } } }))
        expect(runs.length).toBe(3)
        yield* step(client.patch(Widget, ref, { type: "merge", patch: { metadata: { annotations: { note: "x" } } } }))
        expect(runs.length).toBe(3)
        yield* step(client.patch(Widget, ref, { type: "merge", patch: { metadata: { finalizers: ["test/hold"] } } }))
        expect(runs.length).toBe(4)
        yield* step(client.delete(Widget, ref))
        expect(runs.length).toBe(5)
      })
    )
  )

  it.effect("takes a predicate function: the default widened to one annotation", () =>
    withFake(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        yield* client.create(Widget, widget("a"))
        const { runs } = yield* start(undefined, {
          predicate: (previous, next) =>
            Triggers.generationChanged(previous, next) ||
            previous?.metadata.annotations?.["hold"] !== next.metadata.annotations?.["hold"]
        })
        const ref = { namespace: "ns", name: "a" }
        const annotate = (annotations: Record<string, string>) =>
          client
            .patch(Widget, ref, { type: "merge", patch: { metadata: { annotations } } })
            .pipe(Effect.andThen(settle))
        yield* annotate({ note: "x" })
        expect(runs.length).toBe(1)
        yield* annotate({ hold: "true" })
        expect(runs.length).toBe(2)
      })
    )
  )

  it.effect("reconciles on every change with the `any` predicate", () =>
    withFake(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        yield* client.create(Widget, widget("a"))
        const { runs } = yield* start(undefined, { predicate: "any" })
        yield* client.patch(
          Widget,
          { namespace: "ns", name: "a" },
          { type: "merge", patch: { metadata: { annotations: { n: "1" } } } }
        )
        yield* settle
        expect(runs).toEqual(["a", "a"])
      })
    )
  )

  it.effect("reconciles the controller owner when an owned object changes or is deleted", () =>
    withFake(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        const owner = yield* client.create(Widget, widget("a"))
        yield* client.create(Widget, widget("b"))
        const { runs } = yield* start(undefined, { owns: [ConfigMap] })
        expect(runs.toSorted()).toEqual(["a", "b"])
        const ref = {
          apiVersion: "test.obol.org/v1",
          kind: "Widget",
          name: "a",
          uid: owner.metadata.uid!,
          controller: true
        }
        yield* client.create(ConfigMap, configMap("a-child", { ownerReferences: [ref] }))
        yield* client.create(
          ConfigMap,
          configMap("b-unowned", { ownerReferences: [{ ...ref, name: "b", controller: false }] })
        )
        yield* settle
        expect(runs.slice(2)).toEqual(["a"])
        yield* client.delete(ConfigMap, { namespace: "ns", name: "a-child" })
        yield* settle
        expect(runs.slice(2)).toEqual(["a", "a"])
      })
    )
  )

  it.effect("is not run again by the echoes of its own writes, but is by anyone else's change to them", () =>
    withFake(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        const owner = yield* client.create(Widget, widget("a"))
        const ownerRef = {
          apiVersion: "test.obol.org/v1",
          kind: "Widget",
          name: "a",
          uid: owner.metadata.uid!,
          controller: true
        }
        const { runs } = yield* start(
          (object) =>
            Effect.gen(function* () {
              const writer = yield* KubeClient.KubeClient
              // A child and a label on the primary: both come back as watch events.
              yield* writer.apply(ConfigMap, configMap("a-child", { ownerReferences: [ownerRef] }, { n: "1" }), {
                fieldManager: "widgets",
                force: true
              })
              if (object.metadata.labels?.["seen"] === undefined) {
                yield* writer.patch(
                  Widget,
                  { namespace: "ns", name: "a" },
                  { type: "merge", patch: { metadata: { labels: { seen: "yes" } } } }
                )
              }
              return Action.awaitChange
            }),
          { owns: [ConfigMap] }
        )
        yield* settle
        expect(runs).toEqual(["a"])
        yield* client.patch(
          ConfigMap,
          { namespace: "ns", name: "a-child" },
          { type: "merge", patch: { data: { n: "edited" } } }
        )
        yield* settle
        expect(runs).toEqual(["a", "a"])
        yield* client.patch(
          Widget,
          { namespace: "ns", name: "a" },
          { type: "merge", patch: { metadata: { labels: { seen: "again" } } } }
        )
        yield* settle
        expect(runs).toEqual(["a", "a", "a"])
      })
    )
  )

  it.effect("reconciles the owner of a child deleted while no watch was open (found missing by the relist)", () =>
    withFake(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        const fake = yield* FakeKube.FakeKube
        const owner = yield* client.create(Widget, widget("a"))
        const ref = {
          apiVersion: "test.obol.org/v1",
          kind: "Widget",
          name: "a",
          uid: owner.metadata.uid!,
          controller: true
        }
        yield* client.create(ConfigMap, configMap("a-child", { ownerReferences: [ref] }))
        const { runs } = yield* start(undefined, { owns: [ConfigMap] })
        expect(runs).toEqual(["a"])
        // The ConfigMap watch breaks with 410; the relist is slow, and the child is deleted meanwhile.
        yield* fake.failNext("watch", {
          error: new KubeError.KubeError({ reason: "Gone", code: 410, message: "too old" }),
          when: (r) => r.kind === "ConfigMap"
        })
        yield* fake.setLatency("list", "1 second")
        yield* fake.closeWatches
        yield* settle
        yield* client.delete(ConfigMap, { namespace: "ns", name: "a-child" })
        yield* TestClock.adjust("1 second")
        yield* settle
        expect(runs).toEqual(["a", "a"])
      })
    )
  )

  it.effect("reconciles the keys a watches-mapper returns", () =>
    withFake(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        yield* client.create(Widget, widget("a"))
        const { runs } = yield* start(undefined, {
          watches: [
            {
              kind: ConfigMap,
              map: (cm) => (cm.metadata.labels?.["widget"] === undefined ? [] : [`ns/${cm.metadata.labels["widget"]}`])
            }
          ]
        })
        yield* client.create(ConfigMap, configMap("points-at-a", { labels: { widget: "a" } }))
        yield* settle
        expect(runs).toEqual(["a", "a"])
      })
    )
  )

  it.effect("runs a new object first, a change next, and what the start-up list queued last", () =>
    withFake(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        for (const name of ["a", "b", "c"]) yield* client.create(Widget, widget(name))
        const gate = yield* Deferred.make<void>()
        // One worker, held by the first key of the start-up list while the others wait behind it.
        const { runs } = yield* start(
          (object, n) =>
            object.metadata.name === "a" && n === 1
              ? Effect.as(Deferred.await(gate), Action.awaitChange)
              : Effect.succeed(Action.awaitChange),
          { concurrency: 1 }
        )
        expect(runs).toEqual(["a"])
        yield* client.patch(Widget, { namespace: "ns", name: "c" }, { type: "merge", patch: { spec: { size: 2 } } })
        yield* client.create(Widget, widget("new"))
        yield* settle
        yield* Deferred.succeed(gate, undefined)
        yield* settle
        expect(runs).toEqual(["a", "new", "c", "b"])
      })
    )
  )

  it.effect("requeues after the delay a reconcile asks for", () =>
    withFake(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        yield* client.create(Widget, widget("a"))
        const { runs } = yield* start(() => Effect.succeed(Action.requeueAfter("30 seconds")))
        yield* TestClock.adjust("29 seconds")
        expect(runs.length).toBe(1)
        yield* TestClock.adjust("1 second")
        yield* settle
        expect(runs.length).toBe(2)
      })
    )
  )

  it.effect("retries a failed reconcile with backoff, and stops retrying a Terminal failure", () =>
    withFake(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        yield* client.create(Widget, widget("flaky"))
        yield* client.create(Widget, widget("broken"))
        const { runs } = yield* start((object, n) =>
          object.metadata.name === "broken"
            ? Effect.fail(new Terminal.Terminal({ reason: "InvalidSize", message: "size must be even" }))
            : n < 3
              ? Effect.fail("transient")
              : Effect.succeed(Action.awaitChange)
        )
        yield* TestClock.adjust("1 hour")
        yield* settle
        expect(runs.filter((r) => r === "flaky").length).toBe(3)
        expect(runs.filter((r) => r === "broken").length).toBe(1)
      })
    )
  )

  it.effect("records a Terminal failure as a Warning Event about the object", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* client.create(Widget, widget("broken"))
      yield* start(() => Effect.fail(new Terminal.Terminal({ reason: "InvalidSize", message: "size must be even" })))
      expect(published.map((e) => [e.type, e.reason, e.regarding.name, e.note])).toEqual([
        ["Warning", "InvalidSize", "broken", "size must be even"]
      ])
    }).pipe(
      Effect.provide(Layer.mergeAll(Layer.fresh(FakeKube.layer), EventRecorder.layerMemory(published))),
      Idle.provide
    )
  )

  it.effect("treats a defect in reconcile like a failure: retried, and the controller keeps running", () =>
    withFake(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        yield* client.create(Widget, widget("a"))
        const { runs, fiber } = yield* start((_, n) =>
          n === 1 ? Effect.die(new Error("bug")) : Effect.succeed(Action.awaitChange)
        )
        yield* TestClock.adjust("2 seconds")
        yield* settle
        expect(runs).toEqual(["a", "a"])
        expect(fiber.pollUnsafe()).toBeUndefined()
      })
    )
  )

  it.effect("never reconciles an object that is gone by the time its turn comes", () =>
    withFake(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        yield* client.create(Widget, widget("a"))
        const { runs } = yield* start(() => Effect.succeed(Action.requeueAfter("10 seconds")))
        yield* client.delete(Widget, { namespace: "ns", name: "a" })
        yield* TestClock.adjust("1 minute")
        yield* settle
        expect(runs).toEqual(["a"])
      })
    )
  )

  it.effect("reconciles from its own last write, at once, when the cache is older than it", () =>
    withFake(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        const fake = yield* FakeKube.FakeKube
        yield* client.create(Widget, widget("a"))
        const seen: Array<{ size: unknown; rv: string | undefined; written: string | undefined }> = []
        let lastWritten: string | undefined
        yield* start((object, n) =>
          Effect.gen(function* () {
            seen.push({ size: object.spec.size, rv: object.metadata.resourceVersion, written: lastWritten })
            if (n > 3) return Action.awaitChange
            const k = yield* KubeClient.KubeClient
            const written = yield* k.patch(
              Widget,
              { namespace: "ns", name: "a" },
              { type: "merge", patch: { spec: { size: n + 1 } } }
            )
            lastWritten = written.metadata.resourceVersion
            return Action.requeueAfter(0)
          }).pipe(Effect.orDie)
        )
        expect(seen.map((s) => s.size)).toEqual([1, 2, 3, 4])
        for (const { rv, written } of seen) {
          if (written !== undefined) expect(Number(rv)).toBeGreaterThanOrEqual(Number(written))
        }
        // No time passed: no pass waited for a poll or a timer.
        expect(yield* Clock.currentTimeMillis).toBe(0)
        expect((yield* fake.requests).filter((r) => r.verb === "get")).toEqual([])
      })
    )
  )

  it.effect("reads its own child writes through the context until the cache holds them, then the cache", () =>
    withFake(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        yield* client.create(Widget, widget("a"))
        const reads: Array<string | undefined> = []
        yield* start(
          (object, n, context) =>
            Effect.gen(function* () {
              const k = yield* KubeClient.KubeClient
              reads.push(Option.getOrUndefined(context.store(ConfigMap).get("ns/a-child"))?.data?.["pass"])
              if (n === 1) {
                const owner = { apiVersion: "test.obol.org/v1", kind: "Widget", name: "a", controller: true }
                yield* k.apply(
                  ConfigMap,
                  configMap("a-child", { ownerReferences: [{ ...owner, uid: object.metadata.uid! }] }, { pass: "1" }),
                  { fieldManager: "widgets" }
                )
                return Action.requeueAfter(0)
              }
              return Action.awaitChange
            }).pipe(Effect.orDie),
          { owns: [ConfigMap] }
        )
        expect(reads).toEqual([undefined, "1"])
        // Someone else's later write reaches the cache and is what the next pass reads.
        yield* client.patch(
          ConfigMap,
          { namespace: "ns", name: "a-child" },
          { type: "merge", patch: { data: { pass: "theirs" } } }
        )
        yield* settle
        expect(reads).toEqual([undefined, "1", "theirs"])
      })
    )
  )

  it.effect("refuses a kind named twice, saying which", () =>
    withFake(
      Effect.gen(function* () {
        const exit = yield* Controller.run({
          name: "widgets",
          for: Widget,
          owns: [ConfigMap],
          watches: [{ kind: ConfigMap, map: () => [] }],
          reconcile: () => Effect.succeed(Action.awaitChange)
        }).pipe(Effect.exit)
        expect(Exit.isFailure(exit) && String(Cause.squash(exit.cause))).toContain("names v1/ConfigMap twice")
      })
    )
  )

  it.effect("stops when interrupted", () =>
    withFake(
      Effect.gen(function* () {
        const { fiber } = yield* start()
        yield* Fiber.interrupt(fiber)
        expect(fiber.pollUnsafe()?._tag).toBe("Failure")
      })
    )
  )
})
