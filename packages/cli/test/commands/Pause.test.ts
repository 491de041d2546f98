import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import { obol, offer, output, payTo, requests, layer, untilOutput, writeStatus } from "../utils/Harness.ts"

describe("obol sell stop / resume", () => {
  it.effect("stop sets spec.paused under its own field manager and touches nothing else", () =>
    Effect.gen(function* () {
      yield* obol("sell", "http", "weather", "-w", payTo, "--upstream", "weather", "--price", "0.001")
      const sent = (yield* requests).length
      expect(yield* obol("sell", "stop", "weather")).toBe(0)
      const writes = (yield* requests).slice(sent).filter((r) => r.verb !== "get")
      expect(writes).toMatchObject([
        { verb: "apply", name: "weather", fieldManager: "obol-pause", body: { spec: { paused: true } } }
      ])
      const paused = yield* offer("weather")
      expect(paused._tag === "Some" && paused.value.spec).toMatchObject({
        paused: true,
        payment: { price: { perRequest: "0.001" } }
      })
      // Selling again with the same flags does not undo the stop.
      yield* obol("sell", "http", "weather", "-w", payTo, "--upstream", "weather", "--price", "0.001")
      const still = yield* offer("weather")
      expect(still._tag === "Some" && still.value.spec.paused).toBe(true)
      expect(yield* obol("sell", "resume", "weather")).toBe(0)
      const resumed = yield* offer("weather")
      expect(resumed._tag === "Some" && resumed.value.spec.paused).toBe(false)
      expect((yield* output).stdout).toContain("serviceoffer.obol.org/weather paused")
      expect((yield* output).stdout).toContain("serviceoffer.obol.org/weather resumed")
    }).pipe(Effect.provide(layer()))
  )

  it.effect("resume also lifts obol-stack's obol.org/paused annotation, which pauses as spec.paused does", () =>
    Effect.gen(function* () {
      yield* obol("sell", "http", "weather", "-w", payTo, "--upstream", "weather", "--price", "0.001")
      yield* KubeClient.KubeClient.use((c) =>
        c.patch(
          ServiceOffer,
          { namespace: "default", name: "weather" },
          { type: "merge", patch: { metadata: { annotations: { "obol.org/paused": "true", keep: "me" } } } }
        )
      )
      expect(yield* obol("sell", "resume", "weather")).toBe(0)
      const resumed = yield* offer("weather")
      expect(resumed._tag === "Some" && resumed.value.metadata.annotations).toEqual({ keep: "me" })
      expect((yield* output).stdout).toContain("serviceoffer.obol.org/weather resumed")
    }).pipe(Effect.provide(layer()))
  )

  it.effect("stop --wait follows the offer until the controller reports it Paused", () =>
    Effect.gen(function* () {
      yield* obol("sell", "http", "weather", "-w", payTo, "--upstream", "weather", "--price", "0.001")
      const run = yield* Effect.forkChild(obol("sell", "stop", "weather", "--wait"))
      yield* untilOutput((o) => o.stdout.includes("serviceoffer.obol.org/weather paused"))
      yield* writeStatus(
        "weather",
        [
          {
            type: "RoutePublished",
            status: "False",
            reason: "Paused",
            message: "the offer is paused; its route is withdrawn"
          },
          { type: "Ready", status: "False", reason: "RoutePublishedFalse" }
        ],
        { phase: "Paused" }
      )
      expect(yield* Fiber.join(run)).toBe(0)
      const { stdout } = yield* output
      expect(stdout).toContain("RoutePublished False Paused 0.00s - the offer is paused; its route is withdrawn")
      expect(stdout.at(-1)).toBe("Paused: http://obol.stack:8080/services/weather is withdrawn")
    }).pipe(Effect.provide(layer()))
  )

  it.effect("resume --wait follows the offer until it is Ready again", () =>
    Effect.gen(function* () {
      yield* obol("sell", "http", "weather", "-w", payTo, "--upstream", "weather", "--price", "0.001", "--paused")
      const run = yield* Effect.forkChild(obol("sell", "resume", "weather", "--wait"))
      yield* untilOutput((o) => o.stdout.includes("serviceoffer.obol.org/weather resumed"))
      yield* writeStatus("weather", [{ type: "Ready", status: "True", reason: "Ready" }], { phase: "Ready" })
      expect(yield* Fiber.join(run)).toBe(0)
      expect((yield* output).stdout.at(-1)).toBe(
        "Ready: http://obol.stack:8080/services/weather sells for 0.001 USDC/request"
      )
    }).pipe(Effect.provide(layer()))
  )

  it.effect("says how to install the CRDs when the cluster does not know ServiceOffers", () =>
    Effect.gen(function* () {
      yield* FakeKube.FakeKube.use((f) =>
        f.failNext("get", {
          error: new KubeError.KubeError({
            reason: "NotFound",
            code: 404,
            message: "the server could not find the requested resource",
            request: "GET /apis/obol.org/v1alpha1/namespaces/default/serviceoffers/weather"
          })
        })
      )
      expect(yield* obol("sell", "stop", "weather")).toBe(1)
      expect((yield* output).stderr).toEqual([
        "error: the cluster at https://fake.test does not know serviceoffers.obol.org: the ServiceOffer CRDs are not installed",
        "  install them with `kubectl apply -f deploy/crds/` (from this repository) and run the command again"
      ])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("stop of an offer that does not exist fails and creates nothing", () =>
    Effect.gen(function* () {
      expect(yield* obol("sell", "stop", "ghost")).toBe(1)
      expect((yield* output).stderr).toEqual(["error: ServiceOffer default/ghost does not exist"])
      expect((yield* requests).map((r) => r.verb)).toEqual(["get"])
    }).pipe(Effect.provide(layer()))
  )
})
