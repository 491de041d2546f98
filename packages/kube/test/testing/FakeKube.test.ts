import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Stream } from "effect"
import { TestClock } from "effect/testing"
import { ConfigMap } from "@obol/kube/builtin/ConfigMap"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import { configMap, offer, Offer } from "@obol/kube/testing/Conformance"

const fresh = Layer.fresh(FakeKube.layer)

describe("FakeKube", () => {
  it.effect("records requests, so tests can assert the order of a reconciler's writes", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const fake = yield* FakeKube.FakeKube
      yield* client.create(Offer, offer("ns", "a"))
      yield* fake.clearRequests
      yield* client.patch(
        Offer,
        { namespace: "ns", name: "a" },
        {
          type: "json",
          patch: [{ op: "add", path: "/metadata/finalizers", value: ["obol.org/serviceoffer-cleanup"] }]
        }
      )
      yield* client.applyStatus(
        Offer,
        {
          apiVersion: "obol.org/v1alpha1",
          kind: "ServiceOffer",
          metadata: { name: "a", namespace: "ns" },
          status: { phase: "Pending" }
        },
        { fieldManager: "controller" }
      )
      const log = yield* fake.requests
      expect(log.map((r) => `${r.verb}${r.subresource === undefined ? "" : `/${r.subresource}`} ${r.name}`)).toEqual([
        "patch a",
        "applyStatus/status a"
      ])
    }).pipe(Effect.provide(fresh))
  )

  it.effect("fails the next matching request with an injected error, once", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const fake = yield* FakeKube.FakeKube
      yield* client.create(ConfigMap, configMap("ns", "x"))
      yield* fake.failNext("get", {
        error: KubeError.fromResponse({ code: 429, body: "", retryAfterHeader: "1" }),
        when: (r) => r.name === "x"
      })
      const first = yield* Effect.flip(client.get(ConfigMap, { namespace: "ns", name: "x" }))
      expect(first.reason).toBe("TooManyRequests")
      expect((yield* client.get(ConfigMap, { namespace: "ns", name: "x" })).metadata.name).toBe("x")
    }).pipe(Effect.provide(fresh))
  )

  it.effect("delays a verb by injected latency on the test clock", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const fake = yield* FakeKube.FakeKube
      yield* fake.setLatency("create", "2 seconds")
      const fiber = yield* client.create(ConfigMap, configMap("ns", "slow")).pipe(Effect.forkChild)
      yield* TestClock.adjust("1 second")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(fiber)).metadata.name).toBe("slow")
    }).pipe(Effect.provide(fresh))
  )

  it.effect("leaves a failed write without effect (writes are atomic)", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* client.create(Offer, offer("ns", "held", "1", { finalizers: ["a/b"] }))
      yield* client.delete(Offer, { namespace: "ns", name: "held" })
      yield* Effect.flip(
        client.patch(
          Offer,
          { namespace: "ns", name: "held" },
          { type: "merge", patch: { metadata: { finalizers: ["a/b", "c/d"] } } }
        )
      )
      expect((yield* client.get(Offer, { namespace: "ns", name: "held" })).metadata.finalizers).toEqual(["a/b"])
    }).pipe(Effect.provide(fresh))
  )

  it.effect("sends bookmarks on request and ends watches after timeoutSeconds", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const fake = yield* FakeKube.FakeKube
      const fiber = yield* client
        .watch(ConfigMap, { namespace: "ns", resourceVersion: "0", timeoutSeconds: 30 })
        .pipe(Stream.runCollect, Effect.forkChild)
      yield* Effect.yieldNow
      yield* client.create(ConfigMap, configMap("ns", "w"))
      yield* fake.bookmark
      yield* TestClock.adjust("30 seconds")
      const events = yield* Fiber.join(fiber)
      expect(events.map((e) => e.type)).toEqual(["ADDED", "BOOKMARK"])
    }).pipe(Effect.provide(fresh))
  )

  it.effect("orphans dependents when asked, removing only the owner reference", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const owner = yield* client.create(Offer, offer("ns", "owner"))
      const ref = { apiVersion: "obol.org/v1alpha1", kind: "ServiceOffer", name: "owner", uid: owner.metadata.uid! }
      yield* client.create(ConfigMap, configMap("ns", "child", { ownerReferences: [ref] }))
      yield* client.delete(Offer, { namespace: "ns", name: "owner" }, { propagationPolicy: "Orphan" })
      const child = yield* client.get(ConfigMap, { namespace: "ns", name: "child" })
      expect(child.metadata.ownerReferences).toBeUndefined()
    }).pipe(Effect.provide(fresh))
  )
})
