/**
 * The work queue of a controller: keys wait here until they are due, then one worker runs them.
 *
 * Contract:
 * - **Dedupe.** A key is queued at most once; scheduling it again keeps the earlier run time and
 *   the higher priority.
 * - **Priority.** Among the keys that are due, a higher priority runs first, then the earlier run
 *   time (controller-runtime's priority queue has the same rule). A requeue and a retry are
 *   `normal`; only `schedule` asks for another. A key waiting for its time is not run early
 *   because of its priority.
 * - **Per-key serialisation.** A key never runs twice at once. A key scheduled while it runs is
 *   run again after the current run ends (the change that scheduled it may not have been seen).
 * - **Bounded concurrency.** At most `concurrency` keys run at once.
 * - **Backoff.** A failed run is retried after `base * 2^(n-1)` (capped at `max`, with ±`jitter/2`
 *   relative jitter), where `n` counts consecutive failures. A success resets `n`. A failure in a
 *   run that started *before* the previous backoff elapsed (an early retrigger by an event) does
 *   not increase `n`, so unrelated events cannot make the backoff grow faster than exponentially.
 * - **Requeue.** A successful run may ask to run again after a delay.
 * - **Drain.** Interrupting `run` starts nothing new and gives running work `drainTimeout` to
 *   finish before interrupting it.
 *
 * Time is read only through Effect's `Clock` and randomness through `Random`, so `TestClock`
 * drives every timer in tests. Waiting keys sit in heaps by run time and priority
 * (`internal/dueQueue`), so picking the next one costs O(log n) however many keys wait; keys due
 * at the same time with the same priority run in key order. This module knows nothing about
 * Kubernetes objects: what deserves a higher priority is the caller's decision.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, FiberSet, Metric, Queue, Random, Scope } from "effect"
import * as DueQueue from "./internal/dueQueue.ts"
import * as Metrics from "./Metrics.ts"

/**
 * What a run reports back.
 *
 * @category models
 */
export type Outcome =
  | { readonly _tag: "Succeeded"; readonly requeueAfter?: Duration.Duration }
  | { readonly _tag: "Failed"; readonly retryAfter?: Duration.Duration }
  | { readonly _tag: "Terminal" }

/**
 * How urgently a key should run once it is due: higher first. Any number will do; these are the
 * levels the controller uses.
 *
 * @category models
 */
export type Priority = number

/**
 * @category models
 */
export const Priority = {
  /** Behind everything else that is due (e.g. a relist of objects the controller has seen before). */
  low: -1,
  normal: 0,
  /** Ahead of everything else that is due (e.g. an object seen for the first time). */
  high: 1
} as const

/**
 * @category models
 */
export interface Options {
  /** For metrics (`workqueue_*{name}`). */
  readonly name: string
  readonly concurrency?: number
  /** First retry delay. Default 5 ms (controller-runtime's). */
  readonly backoffBase?: Duration.Input
  /** Longest retry delay. Default 5 minutes. */
  readonly backoffMax?: Duration.Input
  /** Relative jitter in [0, 1]: a delay d becomes d * (1 ± jitter/2). Default 0.2. */
  readonly jitter?: number
  /**
   * When `run` is interrupted (shutdown), how long running work may take to finish before it is
   * interrupted too. No new work starts meanwhile. Default 10 seconds.
   */
  readonly drainTimeout?: Duration.Input
}

/**
 * @category models
 */
export interface Scheduler {
  /**
   * Queues `key` to run after `delay` (default now) with `priority` (default normal). The earliest
   * pending time and the highest pending priority win.
   */
  readonly schedule: (key: string, delay?: Duration.Input, priority?: Priority) => Effect.Effect<void>
  /** Runs due keys with `work`, forever. Interrupting it interrupts running work. */
  readonly run: <R>(work: (key: string) => Effect.Effect<Outcome, never, R>) => Effect.Effect<never, never, R>
  /** Keys waiting (not running). */
  readonly depth: Effect.Effect<number>
  /** The consecutive-failure count of a key (0 when its last run succeeded). */
  readonly failures: (key: string) => Effect.Effect<number>
}

interface Pending {
  runAt: number
  addedAt: number
  priority: Priority
}

/**
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Scheduler, never, Scope.Scope> =>
  Effect.gen(function* () {
    const concurrency = Math.max(1, options.concurrency ?? 1)
    const base = Duration.toMillis(Duration.fromInputUnsafe(options.backoffBase ?? "5 millis"))
    const max = Duration.toMillis(Duration.fromInputUnsafe(options.backoffMax ?? "5 minutes"))
    const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.2))
    const attributes = { name: options.name }
    const depthGauge = Metrics.workqueueDepth.pipe(Metric.withAttributes(attributes))
    const adds = Metrics.workqueueAdds.pipe(Metric.withAttributes(attributes))
    const retries = Metrics.workqueueRetries.pipe(Metric.withAttributes(attributes))
    const queueDuration = Metrics.workqueueQueueDuration.pipe(Metric.withAttributes(attributes))

    /** Waiting keys. Never holds a running key: those go to `rescheduled` until their run ends. */
    const pending = DueQueue.make()
    const running = new Set<string>()
    /** Keys scheduled while running: run time requested, merged into `pending` when the run ends. */
    const rescheduled = new Map<string, Pending>()
    const failureState = new Map<string, { count: number; retryAt: number }>()
    const wake = yield* Queue.sliding<void>(1)
    const workers = yield* FiberSet.make<void>()

    const rememberRerun = (key: string, runAt: number, now: number, priority: Priority) => {
      const existing = rescheduled.get(key)
      if (existing === undefined) rescheduled.set(key, { runAt, addedAt: now, priority })
      else {
        existing.runAt = Math.min(existing.runAt, runAt)
        existing.priority = Math.max(existing.priority, priority)
      }
    }

    const schedule = (key: string, delay: Duration.Input = 0, priority: Priority = Priority.normal) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const runAt = now + Duration.toMillis(Duration.fromInputUnsafe(delay))
        if (running.has(key)) rememberRerun(key, runAt, now, priority)
        else pending.offer(key, runAt, now, priority)
        yield* Metric.update(adds, 1)
        yield* Metric.update(depthGauge, pending.size())
        Queue.offerUnsafe(wake, undefined)
      })

    const backoff = (count: number) =>
      Effect.map(Random.next, (r) => {
        const raw = Math.min(max, base * 2 ** Math.min(count - 1, 52))
        return Math.max(0, Math.round(raw * (1 + jitter * (r - 0.5))))
      })

    const settle = (key: string, outcome: Outcome) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        running.delete(key)
        switch (outcome._tag) {
          case "Succeeded":
            failureState.delete(key)
            if (outcome.requeueAfter !== undefined)
              pending.offer(key, now + Duration.toMillis(outcome.requeueAfter), now)
            break
          case "Terminal":
            failureState.delete(key)
            break
          case "Failed": {
            const previous = failureState.get(key)
            const count = previous === undefined ? 1 : now >= previous.retryAt ? previous.count + 1 : previous.count
            const delay =
              outcome.retryAfter === undefined
                ? yield* backoff(count)
                : Math.max(yield* backoff(count), Duration.toMillis(outcome.retryAfter))
            failureState.set(key, { count, retryAt: now + delay })
            pending.offer(key, now + delay, now)
            yield* Metric.update(retries, 1)
            break
          }
        }
        const again = rescheduled.get(key)
        if (again !== undefined) {
          rescheduled.delete(key)
          pending.offer(key, again.runAt, again.addedAt, again.priority)
        }
        yield* Metric.update(depthGauge, pending.size())
        Queue.offerUnsafe(wake, undefined)
      })

    const nextDue = (now: number): DueQueue.Entry | { wait: number | undefined } => {
      const first = pending.peek(now)
      if (first !== undefined) return first
      const runAt = pending.nextRunAt()
      return { wait: runAt === undefined ? undefined : runAt - now }
    }

    const run = <R>(work: (key: string) => Effect.Effect<Outcome, never, R>): Effect.Effect<never, never, R> =>
      Effect.gen(function* () {
        for (;;) {
          const now = yield* Clock.currentTimeMillis
          const due = running.size < concurrency ? nextDue(now) : { wait: undefined }
          if ("key" in due) {
            pending.poll(now)
            running.add(due.key)
            // From when the key became due (controller-runtime's rule): a requeue-after's delay is
            // not time spent in the queue.
            yield* Metric.update(queueDuration, Math.max(0, now - Math.max(due.addedAt, due.runAt)) / 1000)
            yield* Metric.update(depthGauge, pending.size())
            yield* FiberSet.run(
              workers,
              work(due.key).pipe(
                Effect.catchCause(() => Effect.succeed<Outcome>({ _tag: "Failed" })),
                Effect.flatMap((outcome) => settle(due.key, outcome)),
                Effect.onInterrupt(() => Effect.sync(() => running.delete(due.key)))
              )
            )
            continue
          }
          if (due.wait === undefined) yield* Queue.take(wake)
          else yield* Effect.raceFirst(Queue.take(wake), Effect.sleep(Duration.millis(due.wait)))
        }
      }).pipe(
        Effect.onInterrupt(() =>
          FiberSet.awaitEmpty(workers).pipe(
            Effect.timeoutOption(options.drainTimeout ?? "10 seconds"),
            Effect.andThen(FiberSet.clear(workers))
          )
        )
      )

    return {
      schedule,
      run,
      depth: Effect.sync(() => pending.size()),
      failures: (key) => Effect.sync(() => failureState.get(key)?.count ?? 0)
    } satisfies Scheduler
  })
