/**
 * List-then-watch one kind as an endless `Stream` of events, recovering from everything a long
 * watch meets:
 *
 * 1. **List** every object (following pagination) and emit `Restarted` with all of them.
 * 2. **Watch** from the list's resourceVersion with bookmarks and a server-side `timeoutSeconds`;
 *    emit `Applied`/`Deleted` per change and remember the last resourceVersion (bookmarks too).
 * 3. When the server ends the watch (its timeout), watch again from the remembered version.
 * 4. When the version is too old (410 Gone), go back to 1: relist.
 * 5. When nothing at all arrives for `silence` (no event, no bookmark), the connection is presumed
 *    dead: drop it and watch again from the remembered version.
 * 6. On any other failure, emit `Error` (so readiness can report, e.g., Forbidden), wait with
 *    capped exponential backoff that honours the server's `Retry-After`, and retry the same step.
 *
 * Malformed objects are logged and skipped. The stream never fails; interrupt it to stop.
 * Every wait goes through Effect's `Clock`, so `TestClock` drives it in tests.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Option, Queue, Ref, Stream } from "effect"
import * as KubeClient from "@obol/kube/KubeClient"
import type * as KubeError from "@obol/kube/KubeError"
import type { ResourceKind } from "@obol/kube/ResourceKind"

/**
 * @category models
 */
export type Event<A> =
  | { readonly _tag: "Restarted"; readonly objects: ReadonlyArray<A> }
  | { readonly _tag: "Applied"; readonly object: A }
  | { readonly _tag: "Deleted"; readonly object: A }
  | { readonly _tag: "Error"; readonly error: KubeError.KubeError }

/**
 * @category models
 */
export interface Options {
  readonly namespace?: string
  readonly labelSelector?: string
  readonly fieldSelector?: string
  /** Page size for the initial list. Default 500. */
  readonly pageSize?: number
  /** Server-side watch timeout. Default 290 seconds (a little under five minutes, like client-go). */
  readonly timeoutSeconds?: number
  /** Restart a watch that delivers nothing for this long. Default 5 minutes (bookmarks arrive about every minute). */
  readonly silence?: Duration.Input
  /** First retry delay after an error. Default 1 second. */
  readonly backoffBase?: Duration.Input
  /** Longest retry delay. Default 60 seconds. */
  readonly backoffMax?: Duration.Input
}

type Step = "list" | { readonly from: string }

/**
 * @category constructors
 */
export const watch = <K extends ResourceKind>(
  client: KubeClient.Shape,
  kind: K,
  options: Options = {}
): Stream.Stream<Event<K["schema"]["Type"]>> => {
  type A = K["schema"]["Type"]
  const silence = Duration.fromInputUnsafe(options.silence ?? "5 minutes")
  const base = Duration.toMillis(Duration.fromInputUnsafe(options.backoffBase ?? "1 second"))
  const max = Duration.toMillis(Duration.fromInputUnsafe(options.backoffMax ?? "60 seconds"))
  const selection = {
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    ...(options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector }),
    ...(options.fieldSelector === undefined ? {} : { fieldSelector: options.fieldSelector })
  }

  return Stream.callback<Event<A>>((queue) =>
    Effect.gen(function* () {
      const emit = (event: Event<A>) => Queue.offer(queue, event)
      let failures = 0
      const backoff = (error: KubeError.KubeError) =>
        Effect.gen(function* () {
          failures++
          const exponential = Math.min(max, base * 2 ** Math.min(failures - 1, 30))
          const delay = Math.max(
            exponential,
            Option.getOrElse(Option.map(error.retryAfter, Duration.toMillis), () => 0)
          )
          yield* Effect.logWarning(`Watch of ${kind.kind} failed; retrying`).pipe(
            Effect.annotateLogs({ reason: error.reason, message: error.message, retryInMillis: delay })
          )
          yield* Effect.sleep(Duration.millis(delay))
        })

      /** Runs one watch from `from`; returns the next step. */
      const watchFrom = (from: string) =>
        Effect.gen(function* () {
          const last = yield* Ref.make(from)
          const lastSeen = yield* Ref.make(yield* Clock.currentTimeMillis)
          const consume = client
            .watch(kind, {
              ...selection,
              resourceVersion: from,
              allowWatchBookmarks: true,
              timeoutSeconds: options.timeoutSeconds ?? 290
            })
            .pipe(
              Stream.runForEach((event) =>
                Effect.gen(function* () {
                  yield* Ref.set(lastSeen, yield* Clock.currentTimeMillis)
                  failures = 0
                  switch (event.type) {
                    case "BOOKMARK":
                      if (event.resourceVersion !== "") yield* Ref.set(last, event.resourceVersion)
                      return
                    case "Malformed":
                      yield* Effect.logWarning(`Skipped a malformed ${kind.kind} watch event`).pipe(
                        Effect.annotateLogs({ message: event.error.message })
                      )
                      return
                    default: {
                      const rv = (event.object as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion
                      if (rv !== undefined) yield* Ref.set(last, rv)
                      yield* emit(
                        event.type === "DELETED"
                          ? { _tag: "Deleted", object: event.object }
                          : { _tag: "Applied", object: event.object }
                      )
                    }
                  }
                })
              ),
              Effect.as("ended" as const)
            )
          const watchdog = Effect.gen(function* () {
            for (;;) {
              const now = yield* Clock.currentTimeMillis
              const idle = now - (yield* Ref.get(lastSeen))
              const left = Duration.toMillis(silence) - idle
              if (left <= 0) return "silent" as const
              yield* Effect.sleep(Duration.millis(left))
            }
          })
          const result = yield* Effect.raceFirst(consume, watchdog).pipe(Effect.result)
          const resume = yield* Ref.get(last)
          if (result._tag === "Success") {
            if (result.success === "silent") {
              yield* Effect.logWarning(`Watch of ${kind.kind} went silent; restarting it`)
            }
            return { from: resume } satisfies Step
          }
          const error = result.failure
          if (error.reason === "Gone") return "list" satisfies Step
          yield* emit({ _tag: "Error", error })
          yield* backoff(error)
          return { from: resume } satisfies Step
        })

      const list = Effect.gen(function* () {
        const result = yield* KubeClient.listAll(client, kind, { ...selection, limit: options.pageSize ?? 500 }).pipe(
          Effect.result
        )
        if (result._tag === "Failure") {
          yield* emit({ _tag: "Error", error: result.failure })
          yield* backoff(result.failure)
          return "list" satisfies Step
        }
        failures = 0
        yield* emit({ _tag: "Restarted", objects: result.success.items })
        return { from: result.success.resourceVersion } satisfies Step
      })

      let step: Step = "list"
      for (;;) step = step === "list" ? yield* list : yield* watchFrom(step.from)
    }).pipe(Effect.forkScoped)
  )
}
