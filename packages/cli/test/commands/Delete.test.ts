import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import * as KubeClient from "@obol/kube/KubeClient"
import { paymentRoute } from "@obol/test-envs/Fixtures"
import { obol, offer, output, payTo, requests, layer } from "../utils/Harness.ts"

const sellTwo = Effect.gen(function* () {
  for (const name of ["my", "my-qwen"]) {
    yield* obol("sell", "http", name, "-w", payTo, "--upstream", "weather", "--price", "0.001")
    const created = yield* offer(name)
    const uid = created._tag === "Some" ? (created.value.metadata.uid ?? "") : ""
    yield* KubeClient.KubeClient.use((c) =>
      c.create(PaymentRoute, paymentRoute("default", name, { owner: { name, uid } }))
    )
  }
})

const routes = KubeClient.KubeClient.use((c) => c.list(PaymentRoute, { namespace: "default" })).pipe(
  Effect.map((l) => l.items.map((r) => r.metadata.name))
)

describe("obol sell delete", () => {
  it.effect("deletes only that offer and waits until it and its children are gone", () =>
    Effect.gen(function* () {
      yield* sellTwo
      expect(yield* obol("sell", "delete", "my")).toBe(0)
      expect((yield* offer("my"))._tag).toBe("None")
      expect((yield* offer("my-qwen"))._tag).toBe("Some")
      // obol-stack's delete removed every route whose pattern contained /services/my.
      expect(yield* routes).toEqual(["my-qwen-payment"])
      expect((yield* output).stdout.at(-1)).toMatch(
        /^serviceoffer.obol.org\/my deleted with its route, price and registration request/u
      )
      const deletes = (yield* requests).filter((r) => r.verb === "delete")
      expect(deletes).toMatchObject([{ kind: "ServiceOffer", name: "my" }])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("asks on a terminal, and a no deletes nothing", () =>
    Effect.gen(function* () {
      yield* sellTwo
      expect(yield* obol("sell", "delete", "my")).toBe(1)
      const { questions, stderr } = yield* output
      expect(questions[0]).toMatch(/^Delete ServiceOffer default\/my\?/u)
      expect(stderr.at(-1)).toBe("error: not deleted")
      expect((yield* offer("my"))._tag).toBe("Some")
    }).pipe(Effect.provide(layer({ tty: true, answers: [false] })))
  )

  it.effect("--force skips the question; --wait=false returns once the deletion is accepted", () =>
    Effect.gen(function* () {
      yield* sellTwo
      expect(yield* obol("sell", "delete", "my", "--force", "--wait=false")).toBe(0)
      expect((yield* output).questions).toEqual([])
      expect((yield* output).stdout.at(-1)).toBe("serviceoffer.obol.org/my deletion requested")
    }).pipe(Effect.provide(layer({ tty: true })))
  )

  it.effect("follows the finalizer: it returns only once the controller has let the offer go", () =>
    Effect.gen(function* () {
      yield* sellTwo
      yield* KubeClient.KubeClient.use((c) =>
        c.patch(
          ServiceOffer,
          { name: "my", namespace: "default" },
          { type: "merge", patch: { metadata: { finalizers: ["obol.org/serviceoffer-cleanup"] } } }
        )
      ).pipe(Effect.orDie)
      const run = yield* Effect.forkChild(obol("sell", "delete", "my", "--force"))
      for (let i = 0; i < 1000 && !(yield* requests).some((r) => r.verb === "watch"); i++) yield* Effect.yieldNow
      const marked = yield* offer("my")
      expect(marked._tag === "Some" && marked.value.metadata.deletionTimestamp).toBeTruthy()
      expect(run.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("3 seconds")
      expect(run.pollUnsafe()).toBeUndefined()
      yield* KubeClient.KubeClient.use((c) =>
        c.patch(
          ServiceOffer,
          { name: "my", namespace: "default" },
          { type: "merge", patch: { metadata: { finalizers: null } } }
        )
      ).pipe(Effect.orDie)
      expect(yield* Fiber.join(run)).toBe(0)
      expect(yield* routes).toEqual(["my-qwen-payment"])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("a missing offer is an error", () =>
    Effect.gen(function* () {
      expect(yield* obol("sell", "delete", "ghost", "--force")).toBe(1)
      expect((yield* output).stderr).toEqual(["error: ServiceOffer default/ghost does not exist"])
    }).pipe(Effect.provide(layer()))
  )
})
