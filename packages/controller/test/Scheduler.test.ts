import { describe, expect, it } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Fiber, Metric } from "effect"
import { TestClock } from "effect/testing"
import * as Metrics from "@obol/controller/Metrics"
import * as Scheduler from "@obol/controller/Scheduler"

/** Starts a scheduler whose work logs `key@seconds` and answers with `outcome(key, run#)`. */
const harness = (
  options: Partial<Scheduler.Options>,
  outcome: (key: string, n: number) => Effect.Effect<Scheduler.Outcome>
) =>
  Effect.gen(function* () {
    const scheduler = yield* Scheduler.make({
      name: "test",
      jitter: 0,
      backoffBase: "1 second",
      backoffMax: "10 seconds",
      ...options
    })
    const log: Array<string> = []
    const runs = new Map<string, number>()
    yield* scheduler
      .run((key) =>
        Effect.gen(function* () {
          const n = (runs.get(key) ?? 0) + 1
          runs.set(key, n)
          log.push(`${key}@${(yield* Clock.currentTimeMillis) / 1000}`)
          return yield* outcome(key, n)
        })
      )
      .pipe(Effect.forkChild)
    yield* Effect.yieldNow
    return { scheduler, log }
  })

const succeed: Scheduler.Outcome = { _tag: "Succeeded" }
const fail: Scheduler.Outcome = { _tag: "Failed" }
const settleAt = (seconds: number) => TestClock.adjust(Duration.seconds(seconds))

/** A one-worker harness whose first run of `held` waits until `release`; every other run succeeds. */
const holdingFirstRun = (held: string) =>
  Effect.gen(function* () {
    const gate = yield* Deferred.make<void>()
    const started = yield* harness({}, (key, n) =>
      key === held && n === 1 ? Effect.as(Deferred.await(gate), succeed) : Effect.succeed(succeed)
    )
    return { ...started, release: Deferred.succeed(gate, undefined) }
  })

describe("Scheduler", () => {
  it.effect("runs a key scheduled twice only once, at the earlier time", () =>
    Effect.gen(function* () {
      const { scheduler, log } = yield* harness({}, () => Effect.succeed(succeed))
      yield* scheduler.schedule("a", "10 seconds")
      yield* scheduler.schedule("a", "5 seconds")
      yield* settleAt(20)
      expect(log).toEqual(["a@5"])
    })
  )

  it.effect("counts queue time from when a key became due, not the delay it was requeued for", () =>
    Effect.gen(function* () {
      const { scheduler, log } = yield* harness({ name: "queue-time" }, () => Effect.succeed(succeed))
      yield* scheduler.schedule("a", "10 seconds")
      yield* settleAt(20)
      expect(log).toEqual(["a@10"])
      const histogram = yield* Metric.value(
        Metrics.workqueueQueueDuration.pipe(Metric.withAttributes({ name: "queue-time" }))
      )
      expect(histogram.count).toBe(1)
      expect(histogram.sum).toBeLessThan(1)
    })
  )

  it.effect("never runs one key twice at once, and reruns it once if it was scheduled meanwhile", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      let concurrent = 0
      let maxConcurrent = 0
      const { scheduler, log } = yield* harness({ concurrency: 4 }, (_, n) =>
        Effect.gen(function* () {
          concurrent++
          maxConcurrent = Math.max(maxConcurrent, concurrent)
          if (n === 1) yield* Deferred.await(gate)
          concurrent--
          return succeed
        })
      )
      yield* scheduler.schedule("a")
      yield* settleAt(0)
      yield* scheduler.schedule("a")
      yield* scheduler.schedule("a")
      yield* settleAt(1)
      expect(log).toEqual(["a@0"])
      yield* Deferred.succeed(gate, undefined)
      yield* settleAt(1)
      expect(log).toEqual(["a@0", "a@1"])
      expect(maxConcurrent).toBe(1)
    })
  )

  it.effect("runs at most `concurrency` keys at once", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const { scheduler, log } = yield* harness({ concurrency: 2 }, () => Effect.as(Deferred.await(gate), succeed))
      for (const key of ["a", "b", "c"]) yield* scheduler.schedule(key)
      yield* settleAt(1)
      expect(log).toEqual(["a@0", "b@0"])
      expect(yield* scheduler.depth).toBe(1)
      yield* Deferred.succeed(gate, undefined)
      yield* settleAt(1)
      expect(log).toEqual(["a@0", "b@0", "c@1"])
    })
  )

  it.effect("backs off exponentially up to the cap, and resets after a success", () =>
    Effect.gen(function* () {
      const { scheduler, log } = yield* harness({}, (_, n) => Effect.succeed(n < 7 ? fail : succeed))
      yield* scheduler.schedule("a")
      yield* settleAt(100)
      // Delays 1, 2, 4, 8, 10 (cap), 10 s.
      expect(log).toEqual(["a@0", "a@1", "a@3", "a@7", "a@15", "a@25", "a@35"])
      expect(yield* scheduler.failures("a")).toBe(0)
    })
  )

  it.effect("does not grow the backoff for failures of runs retriggered before it elapsed", () =>
    Effect.gen(function* () {
      const { scheduler, log } = yield* harness({ backoffBase: "10 seconds", backoffMax: "1 hour" }, () =>
        Effect.succeed(fail)
      )
      yield* scheduler.schedule("a")
      yield* settleAt(0) // fails: 1 failure, retry at 10 s
      yield* settleAt(2)
      yield* scheduler.schedule("a") // an event at 2 s retriggers early; it fails again
      yield* settleAt(0)
      expect(yield* scheduler.failures("a")).toBe(1)
      yield* settleAt(10) // retried at 12 s (2 + 10): the backoff elapsed, so now 2 failures
      expect(yield* scheduler.failures("a")).toBe(2)
      expect(log).toEqual(["a@0", "a@2", "a@12"])
    })
  )

  it.effect("honours a server's retryAfter when it is longer than the backoff", () =>
    Effect.gen(function* () {
      const { scheduler, log } = yield* harness({}, (_, n) =>
        Effect.succeed<Scheduler.Outcome>(n === 1 ? { _tag: "Failed", retryAfter: Duration.seconds(30) } : succeed)
      )
      yield* scheduler.schedule("a")
      yield* settleAt(60)
      expect(log).toEqual(["a@0", "a@30"])
    })
  )

  it.effect("runs a key again after the requested requeue delay", () =>
    Effect.gen(function* () {
      const { scheduler, log } = yield* harness({}, (_, n) =>
        Effect.succeed<Scheduler.Outcome>(n < 3 ? { _tag: "Succeeded", requeueAfter: Duration.seconds(30) } : succeed)
      )
      yield* scheduler.schedule("a")
      yield* settleAt(120)
      expect(log).toEqual(["a@0", "a@30", "a@60"])
    })
  )

  it.effect("does not retry a terminal failure", () =>
    Effect.gen(function* () {
      const { scheduler, log } = yield* harness({}, () => Effect.succeed<Scheduler.Outcome>({ _tag: "Terminal" }))
      yield* scheduler.schedule("a")
      yield* settleAt(3600)
      expect(log).toEqual(["a@0"])
    })
  )

  it.effect("keeps jittered delays within ±jitter/2 of the exponential value", () =>
    Effect.gen(function* () {
      const { scheduler, log } = yield* harness(
        { jitter: 0.5, backoffBase: "100 seconds", backoffMax: "1 hour" },
        (_, n) => Effect.succeed(n < 2 ? fail : succeed)
      )
      yield* scheduler.schedule("a")
      yield* settleAt(200)
      const retry = Number(log[1]?.split("@")[1])
      expect(retry).toBeGreaterThanOrEqual(75)
      expect(retry).toBeLessThanOrEqual(125)
    })
  )

  it.effect("lets running work finish within the drain timeout when interrupted, and starts nothing new", () =>
    Effect.gen(function* () {
      const scheduler = yield* Scheduler.make({ name: "drain", drainTimeout: "5 seconds", concurrency: 1 })
      const log: Array<string> = []
      const fiber = yield* scheduler
        .run((key) =>
          Effect.gen(function* () {
            log.push(`${key} start`)
            yield* Effect.sleep("2 seconds")
            log.push(`${key} done`)
            return succeed
          })
        )
        .pipe(Effect.forkChild)
      yield* scheduler.schedule("a")
      yield* scheduler.schedule("b")
      yield* settleAt(1)
      const stopping = yield* Fiber.interrupt(fiber).pipe(Effect.forkChild)
      yield* settleAt(2)
      yield* Fiber.join(stopping)
      expect(log).toEqual(["a start", "a done"])
    })
  )

  it.effect("interrupts work that outlives the drain timeout", () =>
    Effect.gen(function* () {
      const scheduler = yield* Scheduler.make({ name: "drain", drainTimeout: "1 second" })
      const log: Array<string> = []
      const fiber = yield* scheduler
        .run(() =>
          Effect.sleep("1 hour").pipe(
            Effect.as(succeed),
            Effect.onInterrupt(() => Effect.sync(() => log.push("interrupted")))
          )
        )
        .pipe(Effect.forkChild)
      yield* scheduler.schedule("a")
      yield* settleAt(1)
      const stopping = yield* Fiber.interrupt(fiber).pipe(Effect.forkChild)
      yield* settleAt(1)
      yield* Fiber.join(stopping)
      expect(log).toEqual(["interrupted"])
    })
  )

  it.effect("runs waiting keys in order of their run time, not of scheduling", () =>
    Effect.gen(function* () {
      const { scheduler, log } = yield* harness({}, () => Effect.succeed(succeed))
      yield* scheduler.schedule("c", "30 seconds")
      yield* scheduler.schedule("a", "10 seconds")
      yield* scheduler.schedule("b", "20 seconds")
      expect(yield* scheduler.depth).toBe(3)
      yield* settleAt(60)
      expect(log).toEqual(["a@10", "b@20", "c@30"])
      expect(yield* scheduler.depth).toBe(0)
    })
  )

  it.effect("runs keys due at the same time in key order", () =>
    Effect.gen(function* () {
      const { scheduler, log } = yield* harness({}, () => Effect.succeed(succeed))
      for (const key of ["d", "b", "a", "c"]) yield* scheduler.schedule(key, "5 seconds")
      yield* settleAt(10)
      expect(log).toEqual(["a@5", "b@5", "c@5", "d@5"])
    })
  )

  it.effect("runs a due key of higher priority first, then the rest by run time, never one before its time", () =>
    Effect.gen(function* () {
      const { scheduler, log, release } = yield* holdingFirstRun("busy")
      yield* scheduler.schedule("busy")
      yield* settleAt(1)
      // While the one worker is busy: follow-ups, a relist entry, a new key, and one not yet due.
      yield* scheduler.schedule("followup-b", 0)
      yield* scheduler.schedule("followup-a", "1 second")
      yield* scheduler.schedule("relisted", 0, Scheduler.Priority.low)
      yield* scheduler.schedule("new", "2 seconds", Scheduler.Priority.high)
      yield* scheduler.schedule("urgent-later", "30 seconds", Scheduler.Priority.high)
      yield* settleAt(5)
      yield* release
      yield* settleAt(60)
      expect(log).toEqual(["busy@0", "new@6", "followup-b@6", "followup-a@6", "relisted@6", "urgent-later@31"])
    })
  )

  it.effect("keeps the higher priority of a key scheduled again while it waits or runs", () =>
    Effect.gen(function* () {
      const { scheduler, log, release } = yield* holdingFirstRun("a")
      yield* scheduler.schedule("a")
      yield* settleAt(1)
      yield* scheduler.schedule("b")
      yield* scheduler.schedule("c")
      yield* scheduler.schedule("c", 0, Scheduler.Priority.high)
      yield* scheduler.schedule("c", 0, Scheduler.Priority.low)
      yield* scheduler.schedule("a", 0, Scheduler.Priority.high) // a is running: its rerun is high
      yield* scheduler.schedule("a")
      yield* release
      yield* settleAt(1)
      expect(log).toEqual(["a@0", "a@1", "c@1", "b@1"])
    })
  )

  it.effect("moves a key ahead when scheduled earlier, and not back when scheduled later", () =>
    Effect.gen(function* () {
      const { scheduler, log } = yield* harness({}, () => Effect.succeed(succeed))
      yield* scheduler.schedule("a", "10 seconds")
      yield* scheduler.schedule("b", "20 seconds")
      yield* scheduler.schedule("c", "30 seconds")
      yield* scheduler.schedule("c", "5 seconds")
      yield* scheduler.schedule("a", "40 seconds")
      expect(yield* scheduler.depth).toBe(3)
      yield* settleAt(60)
      expect(log).toEqual(["c@5", "a@10", "b@20"])
    })
  )

  it.effect("queues a key scheduled while it runs at the earliest time asked, among the other keys", () =>
    Effect.gen(function* () {
      const { scheduler, log, release } = yield* holdingFirstRun("a")
      yield* scheduler.schedule("a")
      yield* settleAt(1)
      // a is running: these wait until its run ends, then join the queue at 1 + 4 = 5 s.
      yield* scheduler.schedule("a", "10 seconds")
      yield* scheduler.schedule("a", "4 seconds")
      yield* scheduler.schedule("b", "3 seconds")
      expect(yield* scheduler.depth).toBe(1) // only b waits; a's rerun is held until its run ends
      yield* settleAt(1)
      yield* release // a ends at 2 s
      yield* settleAt(10)
      expect(log).toEqual(["a@0", "b@4", "a@5"])
    })
  )

  it.effect("runs many keys exactly once each, in order of run time and then key", () =>
    Effect.gen(function* () {
      const { scheduler, log } = yield* harness({}, () => Effect.succeed(succeed))
      const earliest = new Map<string, number>()
      // Deterministic spread of run times with many ties, each key asked for twice (earlier or later).
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 500; i++) {
          const key = `k${i}`
          const seconds = 1 + ((i * 7919 + round * 104_729) % 97)
          earliest.set(key, Math.min(seconds, earliest.get(key) ?? Infinity))
          yield* scheduler.schedule(key, Duration.seconds(seconds))
        }
      }
      expect(yield* scheduler.depth).toBe(500)
      yield* settleAt(100)
      const expected = [...earliest]
        .toSorted(([ka, a], [kb, b]) => a - b || (ka < kb ? -1 : 1))
        .map(([key, seconds]) => `${key}@${seconds}`)
      expect(log).toEqual(expected)
    })
  )
})
