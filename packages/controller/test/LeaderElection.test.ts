import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Layer, Logger } from "effect"
import { TestClock } from "effect/testing"
import { Lease } from "@obol/kube/builtin/Lease"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as LeaderElection from "@obol/controller/LeaderElection"
import * as Idle from "@obol/controller/testing/Idle"

const settle = Idle.quiesce

const lease = { namespace: "ns", name: "controller-leader" }

/** A candidate whose work logs `<id> start@s` and `<id> stop@s`. */
const candidate = (identity: string, log: Array<string>) =>
  LeaderElection.run(
    { lease, identity },
    Effect.gen(function* () {
      log.push(`${identity} start@${(yield* Clock.currentTimeMillis) / 1000}`)
      return yield* Effect.never
    }).pipe(
      Effect.onInterrupt(() =>
        Effect.gen(function* () {
          log.push(`${identity} stop@${(yield* Clock.currentTimeMillis) / 1000}`)
        })
      )
    )
  ).pipe(Effect.forkChild)

const holder = Effect.gen(function* () {
  const client = yield* KubeClient.KubeClient
  return (yield* client.get(Lease, lease)).spec?.holderIdentity ?? null
})

/** Runs a test against a fresh fake API server, with the idle signal `settle` waits on. */
const run = <A, E>(effect: Effect.Effect<A, E, KubeClient.KubeClient | FakeKube.FakeKube>) =>
  effect.pipe(Effect.provide(Layer.fresh(FakeKube.layer)), Idle.provide)

describe("LeaderElection", () => {
  it.effect("says once why it cannot take the lease (Forbidden), instead of waiting as a silent standby", () => {
    const warnings: Array<string> = []
    const capture = Logger.layer([
      Logger.make((options) => {
        if (options.logLevel === "Warn") warnings.push(String(options.message))
      })
    ])
    return run(
      Effect.gen(function* () {
        const fake = yield* FakeKube.FakeKube
        const forbidden = new KubeError.KubeError({ reason: "Forbidden", code: 403, message: "leases is forbidden" })
        yield* fake.failNext("get", { error: forbidden, times: 3 })
        const log: Array<string> = []
        yield* candidate("a", log)
        for (let i = 0; i < 3; i++) {
          yield* settle
          yield* TestClock.adjust("2 seconds")
        }
        yield* settle
        expect(warnings).toEqual(["Cannot acquire or renew the leader lease"])
        // Once the API server lets it, the candidate leads.
        expect(log).toEqual(["a start@6"])
      })
    ).pipe(Effect.provide(capture))
  })

  it.effect("acquires a free lease, starts the work, and renews every retry period", () =>
    run(
      Effect.gen(function* () {
        const fake = yield* FakeKube.FakeKube
        const log: Array<string> = []
        yield* candidate("a", log)
        yield* settle
        expect(log).toEqual(["a start@0"])
        expect(yield* holder).toBe("a")
        yield* fake.clearRequests
        for (let i = 0; i < 5; i++) {
          yield* TestClock.adjust("2 seconds")
          yield* settle
        }
        expect((yield* fake.requests).filter((r) => r.verb === "replace").length).toBe(5)
      })
    )
  )

  it.effect("keeps a second candidate waiting while the leader renews", () =>
    run(
      Effect.gen(function* () {
        const log: Array<string> = []
        yield* candidate("a", log)
        yield* settle
        yield* candidate("b", log)
        for (let i = 0; i < 30; i++) {
          yield* TestClock.adjust("2 seconds")
          yield* settle
        }
        expect(log).toEqual(["a start@0"])
        expect(yield* holder).toBe("a")
      })
    )
  )

  it.effect("stops the leader's work at the renew deadline, before a successor can take over", () =>
    run(
      Effect.gen(function* () {
        const fake = yield* FakeKube.FakeKube
        const log: Array<string> = []
        yield* candidate("a", log)
        yield* settle
        yield* candidate("b", log)
        yield* settle
        // From now on every write by "a" fails (a partition between a and the API server).
        yield* fake.failNext("replace", {
          error: KubeError.transport("PUT lease", "connection refused"),
          times: 1_000,
          when: (r) => (r.body as { spec?: { holderIdentity?: string | null } }).spec?.holderIdentity !== "b"
        })
        for (let i = 0; i < 20; i++) {
          yield* TestClock.adjust("1 second")
          yield* settle
        }
        // The last renewal by "a" was at 0 s; it stops at 10 s. "b" first saw the lease at 0 s and
        // waits the full 15 s lease from then.
        const stopA = log.find((l) => l.startsWith("a stop"))
        const startB = log.find((l) => l.startsWith("b start"))
        expect(stopA).toBe("a stop@10")
        expect(Number(startB?.split("@")[1])).toBeGreaterThanOrEqual(15)
        expect(log.indexOf(stopA!)).toBeLessThan(log.indexOf(startB!))
      })
    )
  )

  it.effect("on shutdown stops the work first, then releases the lease so a successor starts at once", () =>
    run(
      Effect.gen(function* () {
        const log: Array<string> = []
        const a = yield* candidate("a", log)
        yield* settle
        yield* candidate("b", log)
        yield* TestClock.adjust("4 seconds")
        yield* settle
        yield* Fiber.interrupt(a)
        expect(yield* holder).toBe(null)
        yield* TestClock.adjust("2 seconds")
        yield* settle
        expect(log).toEqual(["a start@0", "a stop@4", "b start@6"])
      })
    )
  )
})
