/**
 * What a reconciler asks for after a successful run: run again after a delay, or wait for the
 * next change. Failures are not Actions: a failed reconcile is retried with per-key backoff, and a
 * `Terminal` failure is not retried at all (see `Controller`).
 *
 * @since 0.1.0
 */
import { Duration } from "effect"

/**
 * @category models
 */
export type Action =
  | { readonly _tag: "RequeueAfter"; readonly delay: Duration.Duration }
  | { readonly _tag: "AwaitChange" }

/**
 * Reconcile again after `delay`, even if nothing changes. The usual choice: a periodic requeue
 * repairs drift that no watch event reports (an upstream that went unhealthy, a missed event).
 *
 * @category constructors
 */
export const requeueAfter = (delay: Duration.Input): Action => ({
  _tag: "RequeueAfter",
  delay: Duration.fromInputUnsafe(delay)
})

/**
 * Reconcile again only when a watched object changes.
 *
 * **Gotchas**: anything not visible through a watch (time passing, an external system) is then
 * never looked at again; prefer {@link requeueAfter} unless the object is fully described by
 * Kubernetes state.
 *
 * @category constructors
 */
export const awaitChange: Action = { _tag: "AwaitChange" }
