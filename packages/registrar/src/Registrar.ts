/**
 * The registrar controller: `RegistrarReconciler` run by the runtime's `Controller` for
 * RegistrationRequests (all namespaces, or one). Failed attempts back off exponentially from 1 s
 * to `backoffMax`; OffChainOnly requests are looked at again periodically by the reconciler.
 *
 * @since 0.1.0
 */
import { Duration, Effect } from "effect"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import * as Controller from "@obol/controller/Controller"
import * as RegistrarReconciler from "./RegistrarReconciler.ts"

/**
 * @category models
 */
export interface Options {
  /** Watch one namespace only. Default: all. */
  readonly namespace?: string
  /** Requests reconciled at once. Default 4 (sends are serialized per signer anyway). */
  readonly concurrency?: number
  /** Longest wait between retries of a failing request. Default 5 minutes. */
  readonly backoffMax?: Duration.Input
}

/**
 * Runs the registrar until interrupted.
 *
 * @category constructors
 */
export const run = (options: Options = {}) =>
  Effect.flatMap(RegistrarReconciler.make, (reconcile) =>
    Controller.run({
      name: "registrar",
      for: RegistrationRequest,
      reconcile,
      concurrency: options.concurrency ?? 4,
      scheduler: { backoffBase: "1 second", backoffMax: options.backoffMax ?? "5 minutes" },
      ...(options.namespace === undefined ? {} : { namespace: options.namespace })
    })
  )
