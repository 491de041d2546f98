import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Queue } from "effect"
import * as Idle from "@obol/controller/testing/Idle"

describe("Idle", () => {
  it.effect("returns only once work handed between fibers through queues has run to the end", () =>
    Effect.gen(function* () {
      const requests = yield* Queue.unbounded<number>()
      const answers = yield* Queue.unbounded<number>()
      let done = 0
      // Two fibers passing 2,000 messages back and forth: far more steps than a fixed yield count covers.
      yield* Queue.take(requests).pipe(
        Effect.flatMap((n) => Queue.offer(answers, n + 1)),
        Effect.forever,
        Effect.forkChild
      )
      yield* Effect.gen(function* () {
        for (let i = 0; i < 2_000; i++) {
          yield* Queue.offer(requests, i)
          yield* Queue.take(answers)
          done++
        }
      }).pipe(Effect.forkChild)
      yield* Idle.quiesce
      expect(done).toBe(2_000)
    }).pipe(Idle.provide)
  )

  it.effect("does not wait for a fiber asleep on the test clock", () =>
    Effect.gen(function* () {
      let woke = false
      yield* Effect.sleep("1 hour").pipe(Effect.andThen(Effect.sync(() => (woke = true))), Effect.forkChild)
      yield* Idle.quiesce
      expect(woke).toBe(false)
    }).pipe(Idle.provide)
  )

  it.effect("dies, saying so, when some fiber never stops running", () =>
    Effect.gen(function* () {
      yield* Effect.yieldNow.pipe(Effect.forever, Effect.forkChild)
      const exit = yield* Effect.exit(Idle.quiesceWithin(1_000))
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("still runnable after 1000 rounds")
    }).pipe(Idle.provide)
  )

  it.effect("dies when the test does not run inside Idle.provide", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Idle.quiesce)
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("needs the test to run inside Idle.provide")
    })
  )
})
