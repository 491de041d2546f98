import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as Watcher from "@obol/controller/Watcher"
import { Widget, widget } from "./utils/kinds.ts"
import * as Idle from "@obol/controller/testing/Idle"

const describeEvent = (e: Watcher.Event<{ metadata: { name?: string } }>) => {
  switch (e._tag) {
    case "Restarted":
      return `Restarted[${e.objects.map((o) => o.metadata.name).join(",")}]`
    case "Error":
      return `Error:${e.error.reason}`
    default:
      return `${e._tag}:${e.object.metadata.name}`
  }
}

/** Starts a watcher and returns its event log (as strings) and the fake's controls. */
const start = (options: Watcher.Options = {}) =>
  Effect.gen(function* () {
    const client = yield* KubeClient.KubeClient
    const fake = yield* FakeKube.FakeKube
    const events: Array<string> = []
    yield* Watcher.watch(client, Widget, { namespace: "ns", ...options }).pipe(
      Stream.runForEach((e) => Effect.sync(() => events.push(describeEvent(e)))),
      Effect.forkChild
    )
    yield* settle
    return { client, fake, events }
  })

/** Lets forked fibers run until they are all waiting. */
const settle = Idle.quiesce

const verbs = (fake: FakeKube.Controls) =>
  Effect.map(fake.requests, (rs) => rs.filter((r) => r.verb === "list" || r.verb === "watch").map((r) => r.verb))

describe("Watcher", () => {
  it.effect("lists everything first, then streams each change", () =>
    Idle.provide(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        yield* client.create(Widget, widget("a"))
        yield* client.create(Widget, widget("b"))
        const { events } = yield* start()
        yield* client.create(Widget, widget("c"))
        yield* client.delete(Widget, { namespace: "ns", name: "a" })
        yield* settle
        expect(events).toEqual(["Restarted[a,b]", "Applied:c", "Deleted:a"])
      }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
    )
  )

  it.effect("watches again from the last resourceVersion when the server ends the watch, without relisting", () =>
    Idle.provide(
      Effect.gen(function* () {
        const { client, fake, events } = yield* start()
        yield* client.create(Widget, widget("a"))
        yield* settle
        yield* fake.closeWatches
        yield* settle
        yield* client.create(Widget, widget("b"))
        yield* settle
        expect(events).toEqual(["Restarted[]", "Applied:a", "Applied:b"])
        expect(yield* verbs(fake)).toEqual(["list", "watch", "watch"])
      }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
    )
  )

  it.effect("relists when the resourceVersion is too old (410 Gone), without losing a change", () =>
    Idle.provide(
      Effect.gen(function* () {
        const { client, fake, events } = yield* start()
        yield* client.create(Widget, widget("a"))
        yield* settle
        yield* fake.failNext("watch", {
          error: new KubeError.KubeError({ reason: "Gone", code: 410, message: "too old resource version" })
        })
        yield* fake.closeWatches
        yield* client.create(Widget, widget("b"))
        yield* settle
        // b shows up either in the relist or right after it, depending on which ran first.
        expect(events.slice(0, 2)).toEqual(["Restarted[]", "Applied:a"])
        expect(events.slice(2).join(" ")).toMatch(/^Restarted\[a,b\]$|^Restarted\[a\] Applied:b$/u)
        expect(yield* verbs(fake)).toEqual(["list", "watch", "watch", "list", "watch"])
      }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
    )
  )

  it.effect("restarts a watch that stays silent past the bound, and not before", () =>
    Idle.provide(
      Effect.gen(function* () {
        const { fake } = yield* start({ silence: "5 minutes", timeoutSeconds: 3600 })
        yield* TestClock.adjust("4 minutes")
        expect(yield* verbs(fake)).toEqual(["list", "watch"])
        yield* fake.bookmark // a bookmark is a sign of life
        yield* settle
        yield* TestClock.adjust("4 minutes")
        expect(yield* verbs(fake)).toEqual(["list", "watch"])
        yield* TestClock.adjust("1 minute")
        expect(yield* verbs(fake)).toEqual(["list", "watch", "watch"])
      }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
    )
  )

  it.effect("reports a failed list, then retries it with backoff honouring Retry-After", () =>
    Idle.provide(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        const fake = yield* FakeKube.FakeKube
        yield* client.create(Widget, widget("a"))
        yield* fake.failNext("list", { error: KubeError.fromResponse({ code: 403, body: "" }) })
        yield* fake.failNext("list", { error: KubeError.fromResponse({ code: 429, body: "", retryAfterHeader: "10" }) })
        const events: Array<string> = []
        yield* Watcher.watch(client, Widget, { namespace: "ns" }).pipe(
          Stream.runForEach((e) => Effect.sync(() => events.push(describeEvent(e)))),
          Effect.forkChild
        )
        yield* settle
        expect(events).toEqual(["Error:Forbidden"])
        yield* TestClock.adjust("1 second")
        expect(events).toEqual(["Error:Forbidden", "Error:TooManyRequests"])
        yield* TestClock.adjust("9 seconds") // 2 s of backoff is shorter than the server's 10 s
        expect(events).toEqual(["Error:Forbidden", "Error:TooManyRequests"])
        yield* TestClock.adjust("1 second")
        expect(events).toEqual(["Error:Forbidden", "Error:TooManyRequests", "Restarted[a]"])
      }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
    )
  )
})
