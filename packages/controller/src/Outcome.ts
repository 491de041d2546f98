/**
 * The outcome policy: what the controller does with the way one reconcile ended. A pure function
 * from the reconcile's `Exit` to a verdict that names the metric result, what the scheduler does
 * next, and (for a `Terminal` failure) what the Warning Event says. The controller carries the
 * verdict out: it counts, logs, publishes and hands `scheduled` to the `Scheduler`.
 *
 * The policy, as controller-runtime writes it down: an `Action` is success (`requeueAfter` runs
 * again after its delay, `awaitChange` waits for a trigger); a `Terminal` failure is not retried
 * and is reported on the object; any other failure or defect is retried with per-key backoff,
 * no sooner than a `Retry-After` the API server sent.
 *
 * It does not touch metrics, logs or the scheduler itself.
 *
 * @since 0.1.0
 */
import { Cause, type Exit, Option } from "effect"
import * as KubeError from "@obol/kube/KubeError"
import type * as Action from "./Action.ts"
import type * as Scheduler from "./Scheduler.ts"
import * as Terminal from "./Terminal.ts"

/**
 * @category models
 */
export type Verdict =
  | { readonly _tag: "Succeeded"; readonly result: "success" | "requeue_after"; readonly scheduled: Scheduler.Outcome }
  | {
      readonly _tag: "Terminal"
      readonly result: "terminal"
      readonly reason: string
      readonly message: string
      readonly scheduled: Scheduler.Outcome
    }
  | { readonly _tag: "Retry"; readonly result: "error"; readonly cause: string; readonly scheduled: Scheduler.Outcome }

/**
 * The verdict on one reconcile's exit.
 *
 * @category constructors
 */
export const of = <E>(exit: Exit.Exit<Action.Action, E>): Verdict => {
  if (exit._tag === "Success") {
    const action = exit.value
    return action._tag === "RequeueAfter"
      ? { _tag: "Succeeded", result: "requeue_after", scheduled: { _tag: "Succeeded", requeueAfter: action.delay } }
      : { _tag: "Succeeded", result: "success", scheduled: { _tag: "Succeeded" } }
  }
  const failure = exit.cause.reasons.find((r) => r._tag === "Fail")
  const error = failure?._tag === "Fail" ? failure.error : undefined
  if (Terminal.isTerminal(error)) {
    return {
      _tag: "Terminal",
      result: "terminal",
      reason: error.reason,
      message: error.message,
      scheduled: { _tag: "Terminal" }
    }
  }
  const retryAfter = KubeError.isKubeError(error) ? Option.getOrUndefined(error.retryAfter) : undefined
  return {
    _tag: "Retry",
    result: "error",
    cause: error === undefined ? Cause.pretty(exit.cause) : String(error),
    scheduled: { _tag: "Failed", ...(retryAfter === undefined ? {} : { retryAfter }) }
  }
}
