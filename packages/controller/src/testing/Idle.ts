/**
 * An idle signal for tests: wait until no fiber can run, instead of yielding a hand-tuned number
 * of times and hoping the work is done.
 *
 * `provide` runs a test on a scheduler that counts the tasks it has queued and not yet run (every
 * fiber step the runtime schedules: a fork, a resumption, a yield), wrapping the scheduler in place
 * (under `it.effect`, TestClock's, so `TestClock.adjust` still waits for the fibers it wakes). `quiesce` yields until that
 * count is zero twice in a row, a macrotask apart: at that point every fiber is suspended, waiting
 * on the clock (`TestClock`), a queue, a deferred or outside I/O, so nothing more happens until the
 * test moves the clock or acts. With an in-memory API server (`FakeKube`) that means every watch
 * event is delivered, every store updated, and every reconcile that was due has run.
 *
 * It sees only work the Effect runtime schedules: an answer from a real socket or a child process
 * arrives from outside, so tests of those still wait for what they expect to see. `quiesce` dies
 * when work never stops (a busy loop) after `limit` rounds, saying so, rather than hanging.
 *
 * @since 0.1.0
 */
import { Effect, Scheduler } from "effect"

/**
 * The scheduler in place (TestClock's, which `TestClock.adjust` needs to see woken fibers run to
 * their next sleep), plus a count of the tasks queued and not yet run.
 */
class CountingScheduler implements Scheduler.Scheduler {
  readonly executionMode: Scheduler.Scheduler["executionMode"]
  pending = 0
  private readonly inner: Scheduler.Scheduler
  constructor(inner: Scheduler.Scheduler) {
    this.inner = inner
    this.executionMode = inner.executionMode
  }
  shouldYield(fiber: Parameters<Scheduler.Scheduler["shouldYield"]>[0]) {
    return this.inner.shouldYield(fiber)
  }
  makeDispatcher(): Scheduler.SchedulerDispatcher {
    const dispatcher = this.inner.makeDispatcher()
    return {
      scheduleTask: (task, priority) => {
        this.pending++
        dispatcher.scheduleTask(() => {
          this.pending--
          task()
        }, priority)
      },
      flush: () => dispatcher.flush()
    }
  }
}

/**
 * Runs `effect` (a test) on the counting scheduler `quiesce` reads; fibers it forks inherit it.
 *
 * @category combinators
 */
export const provide = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.service(Scheduler.Scheduler), (parent) =>
    Effect.provideService(effect, Scheduler.Scheduler, new CountingScheduler(parent))
  )

/**
 * Yields until no other fiber can run (see the module header), for at most `limit` rounds. Needs
 * `provide` around the test.
 *
 * @category combinators
 */
export const quiesceWithin = (limit: number): Effect.Effect<void> =>
  Effect.gen(function* () {
    const scheduler = yield* Scheduler.Scheduler
    if (!(scheduler instanceof CountingScheduler)) {
      return yield* Effect.die(new Error("Idle.quiesce needs the test to run inside Idle.provide"))
    }
    let quiet = 0
    for (let round = 0; round < limit; round++) {
      // This fiber's own task is uncounted before it runs: `pending` is everyone else's.
      yield* Effect.yieldNow
      quiet = scheduler.pending === 0 ? quiet + 1 : 0
      if (quiet === 2) return
    }
    return yield* Effect.die(new Error(`Idle.quiesce: fibers were still runnable after ${limit} rounds (a busy loop?)`))
  })

/**
 * `quiesceWithin(100_000)`.
 *
 * @category combinators
 */
export const quiesce: Effect.Effect<void> = quiesceWithin(100_000)
