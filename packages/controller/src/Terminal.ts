/**
 * A reconcile failure that retrying cannot fix (an invalid spec, a permanently refused request).
 * The controller records it (Warning Event, metric, log) and does not retry until the object
 * changes. Any other failure is retried with per-key backoff.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * @category errors
 */
export class Terminal extends Data.TaggedError("Terminal")<{
  /** PascalCase reason for the Event, e.g. InvalidPrice. */
  readonly reason: string
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * @category predicates
 */
export const isTerminal = (u: unknown): u is Terminal =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "Terminal"
