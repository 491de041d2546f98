import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Stream } from "effect"
import { TestClock } from "effect/testing"
import { ConfigMap } from "@obol/kube/builtin/ConfigMap"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as Reflector from "@obol/controller/Reflector"
import { configMap, Widget, widget } from "./utils/kinds.ts"
import * as Idle from "@obol/controller/testing/Idle"

const settle = Idle.quiesce

const forbidden = KubeError.fromResponse({
  code: 403,
  body: { kind: "Status", code: 403, reason: "Forbidden", message: "widgets.test.obol.org is forbidden" }
})

describe("Reflector", () => {
  it.effect("applies each event to its store before passing it on", () =>
    Idle.provide(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        yield* client.create(Widget, widget("a", 1))
        const reflector = yield* Reflector.make(client, Widget, { namespace: "ns" })
        const seen: Array<string> = []
        yield* reflector.events.pipe(
          Stream.runForEach((event) =>
            Effect.sync(() => {
              // What the consumer reads from the store already includes the event it is handed.
              if (event._tag === "Restarted") seen.push(`Restarted:${reflector.store.size()}`)
              if (event._tag === "Applied")
                seen.push(
                  `Applied:${Option.map(reflector.store.get("ns/b"), (w) => w.spec.size).pipe(Option.getOrNull)}`
                )
              if (event._tag === "Deleted") seen.push(`Deleted:${Option.isSome(reflector.store.get("ns/a"))}`)
            })
          ),
          Effect.forkChild
        )
        yield* settle
        yield* client.create(Widget, widget("b", 7))
        yield* client.delete(Widget, { namespace: "ns", name: "a" })
        yield* settle
        expect(seen).toEqual(["Restarted:1", "Applied:7", "Deleted:false"])
        expect(reflector.store.isReady()).toBe(true)
      }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
    )
  )

  it.effect("keeps a failing watch's store as it was, remembers the error until the next event, and says so", () =>
    Idle.provide(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        const fake = yield* FakeKube.FakeKube
        yield* client.create(ConfigMap, configMap("c"))
        const widgets = yield* Reflector.make(client, Widget, { namespace: "ns" })
        const maps = yield* Reflector.make(client, ConfigMap, { namespace: "ns" })
        const check = Reflector.readiness([widgets, maps])
        expect(check()).toEqual({ ready: false, reason: "caches not synced yet (Widget, ConfigMap)" })
        yield* fake.failNext("list", { error: forbidden, when: (request) => request.kind === "Widget" })
        yield* Stream.runDrain(widgets.events).pipe(Effect.forkChild)
        yield* Stream.runDrain(maps.events).pipe(Effect.forkChild)
        yield* settle
        expect(widgets.error()?.reason).toBe("Forbidden")
        expect(check()).toEqual({
          ready: false,
          reason: "list/watch of Widget is forbidden: widgets.test.obol.org is forbidden"
        })
        expect(maps.store.size()).toBe(1)
        yield* TestClock.adjust("1 second")
        yield* settle
        expect(widgets.error()).toBeUndefined()
        expect(check()).toEqual({ ready: true })
      }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
    )
  )
})
