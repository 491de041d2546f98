/**
 * Cleanup before deletion, with a finalizer, in the shape kube-rs made standard.
 *
 * Expected flow:
 * 1. The object is not being deleted and lacks our finalizer: add it (JSON patch), then run
 *    `apply` in the same pass with the object the patch returned (the controller does not re-run
 *    on the echo of its own write, and one trip through the queue is saved).
 * 2. The object is not being deleted and has the finalizer: run `apply`.
 * 3. The object is being deleted and has the finalizer: run `cleanup`. When it reports `Done`,
 *    remove the finalizer (JSON patch); when it reports `Pending`, requeue after the given delay
 *    and keep the finalizer.
 * 4. The object is being deleted without our finalizer: nothing to do.
 *
 * Guarantees: every finalizer patch carries a JSON-patch `test` of the current list, so it never
 * removes a finalizer someone else added or re-adds ours to a list that changed meanwhile (the API
 * server does not deduplicate finalizers); a failed test is an `Invalid` error and the reconcile is
 * retried against a fresh read. Cleanup runs before the finalizer goes, so an object is never gone
 * with its cleanup undone. An object that no longer exists when a finalizer patch reaches the API
 * server (deleted between the cache read and the patch) is not an error: removing a finalizer from
 * an object that is gone is done, and adding one to it is moot, so a `NotFound` answer to either
 * patch ends the run with `AwaitChange` (nothing logged as a failure, nothing retried).
 *
 * Errors: `FinalizerError` with reason `AddFinalizer` or `RemoveFinalizer` (wrapping the
 * `KubeError`, never `NotFound`); failures of `apply` and `cleanup` pass through unchanged.
 *
 * @since 0.1.0
 */
import { Data, Duration, Effect } from "effect"
import * as KubeClient from "@obol/kube/KubeClient"
import type * as KubeError from "@obol/kube/KubeError"
import type { ResourceKind } from "@obol/kube/ResourceKind"
import * as Action from "./Action.ts"
import type { KubeObject } from "./Store.ts"

/**
 * @category errors
 */
export class FinalizerError extends Data.TaggedError("FinalizerError")<{
  readonly reason: "AddFinalizer" | "RemoveFinalizer"
  readonly cause: KubeError.KubeError
}> {
  override get message() {
    return `${this.reason}: ${this.cause.message}`
  }
}

/**
 * What cleanup reports: finished (the finalizer may go) or still waiting on something.
 *
 * @category models
 */
export type Cleanup = { readonly _tag: "Done" } | { readonly _tag: "Pending"; readonly requeueAfter: Duration.Duration }

/** @category constructors */
export const done: Cleanup = { _tag: "Done" }

/** @category constructors */
export const pending = (requeueAfter: Duration.Input): Cleanup => ({
  _tag: "Pending",
  requeueAfter: Duration.fromInputUnsafe(requeueAfter)
})

/** The object a finalizer patch addressed no longer exists. */
const isGone = (error: KubeError.KubeError) => error.reason === "NotFound"

/**
 * Runs one reconcile step under a finalizer (see the module header for the flow).
 *
 * @category constructors
 */
export const run = <K extends ResourceKind, O extends KubeObject, E1, R1, E2, R2>(options: {
  readonly kind: K
  readonly object: O
  /** The finalizer name, e.g. `obol.org/serviceoffer-cleanup`. */
  readonly finalizer: string
  readonly apply: (object: O) => Effect.Effect<Action.Action, E1, R1>
  readonly cleanup: (object: O) => Effect.Effect<Cleanup, E2, R2>
}): Effect.Effect<Action.Action, E1 | E2 | FinalizerError, R1 | R2 | KubeClient.KubeClient> =>
  Effect.gen(function* () {
    const client = yield* KubeClient.KubeClient
    const { metadata } = options.object
    const ref = {
      name: metadata.name ?? "",
      ...(metadata.namespace === undefined ? {} : { namespace: metadata.namespace })
    }
    const finalizers = metadata.finalizers ?? []
    const index = finalizers.indexOf(options.finalizer)
    const deleting = metadata.deletionTimestamp !== undefined

    if (deleting) {
      if (index === -1) return Action.awaitChange
      const outcome = yield* options.cleanup(options.object)
      if (outcome._tag === "Pending") return Action.requeueAfter(outcome.requeueAfter)
      yield* client
        .patch(options.kind, ref, {
          type: "json",
          patch: [
            // Remove exactly our entry: if the list moved, the test fails and we retry on a fresh read.
            { op: "test", path: `/metadata/finalizers/${index}`, value: options.finalizer },
            { op: "remove", path: `/metadata/finalizers/${index}` }
          ]
        })
        .pipe(
          // The object is already gone (deleted meanwhile): the finalizer is removed, as asked.
          Effect.catchIf(isGone, () => Effect.void),
          Effect.mapError((cause) => new FinalizerError({ reason: "RemoveFinalizer", cause }))
        )
      return Action.awaitChange
    }

    if (index === -1) {
      const guarded = yield* client
        .patch(options.kind, ref, {
          type: "json",
          patch:
            finalizers.length === 0
              ? [
                  // A missing list tests equal to null; this fails if someone added one meanwhile.
                  { op: "test", path: "/metadata/finalizers", value: null },
                  { op: "add", path: "/metadata/finalizers", value: [options.finalizer] }
                ]
              : [
                  { op: "test", path: "/metadata/finalizers", value: finalizers },
                  { op: "add", path: "/metadata/finalizers/-", value: options.finalizer }
                ]
        })
        .pipe(
          Effect.map((object) => object as O),
          // The object vanished after it was read: there is nothing left to guard, nor to apply.
          Effect.catchIf(isGone, () => Effect.succeed(undefined)),
          Effect.mapError((cause) => new FinalizerError({ reason: "AddFinalizer", cause }))
        )
      if (guarded === undefined) return Action.awaitChange
      return yield* options.apply(guarded)
    }
    return yield* options.apply(options.object)
  })
