import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { Event } from "@obol/kube/builtin/Event"
import * as KubeClient from "@obol/kube/KubeClient"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as EventRecorder from "@obol/controller/EventRecorder"

const regarding = { apiVersion: "test.obol.org/v1", kind: "Widget", name: "a", namespace: "ns", uid: "u-1" }
const warning = {
  regarding,
  type: "Warning",
  reason: "UpstreamDown",
  action: "Reconcile",
  note: "no ready endpoints"
} as const

const layer = EventRecorder.layer({ controller: "obol.org/test", instance: "pod-1" }).pipe(
  Layer.provideMerge(Layer.fresh(FakeKube.layer))
)

describe("EventRecorder", () => {
  it.effect("creates an events.k8s.io/v1 Event about the object", () =>
    Effect.gen(function* () {
      const recorder = yield* EventRecorder.EventRecorder
      const client = yield* KubeClient.KubeClient
      yield* recorder.publish(warning)
      const [event] = (yield* client.list(Event, { namespace: "ns" })).items
      expect(event).toMatchObject({
        reason: "UpstreamDown",
        type: "Warning",
        action: "Reconcile",
        note: "no ready endpoints",
        reportingController: "obol.org/test",
        reportingInstance: "pod-1",
        regarding: { kind: "Widget", name: "a", uid: "u-1" }
      })
      expect(event?.eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/u)
    }).pipe(Effect.provide(layer))
  )

  it.effect("folds repeats within 6 minutes into a series, and starts a new event after that", () =>
    Effect.gen(function* () {
      const recorder = yield* EventRecorder.EventRecorder
      const client = yield* KubeClient.KubeClient
      yield* recorder.publish(warning)
      yield* TestClock.adjust("1 minute")
      yield* recorder.publish(warning)
      yield* recorder.publish(warning)
      let events = (yield* client.list(Event, { namespace: "ns" })).items
      expect(events.length).toBe(1)
      expect(events[0]?.series?.count).toBe(3)
      yield* TestClock.adjust("6 minutes")
      yield* recorder.publish(warning)
      events = (yield* client.list(Event, { namespace: "ns" })).items
      expect(events.length).toBe(2)
    }).pipe(Effect.provide(layer))
  )

  it.effect("does not fold events with a different note", () =>
    Effect.gen(function* () {
      const recorder = yield* EventRecorder.EventRecorder
      const client = yield* KubeClient.KubeClient
      yield* recorder.publish(warning)
      yield* recorder.publish({ ...warning, note: "connection refused" })
      expect((yield* client.list(Event, { namespace: "ns" })).items.length).toBe(2)
    }).pipe(Effect.provide(layer))
  )

  it.effect("never fails the caller when the API server refuses the event", () =>
    Effect.gen(function* () {
      const recorder = yield* EventRecorder.EventRecorder
      const fake = yield* FakeKube.FakeKube
      const { fromResponse } = yield* Effect.promise(() => import("@obol/kube/KubeError"))
      yield* fake.failNext("create", { error: fromResponse({ code: 403, body: "" }) })
      yield* recorder.publish(warning)
    }).pipe(Effect.provide(layer))
  )

  it.effect("rejects a reason that is not PascalCase as a programming error", () =>
    Effect.gen(function* () {
      const recorder = yield* EventRecorder.EventRecorder
      const exit = yield* Effect.exit(recorder.publish({ ...warning, reason: "upstream down" }))
      expect(exit._tag).toBe("Failure")
    }).pipe(Effect.provide(layer))
  )
})
