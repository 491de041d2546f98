/**
 * The one error a command fails with: a tagged `CliFailure` whose `reason` decides the exit
 * status and whose `problems` are the lines the user reads, one per thing to fix.
 *
 * Exit statuses, as scripts rely on them: 0 success; 1 a runtime failure (the API server refused,
 * the offer did not become Ready in time, a condition failed, the endpoint is not gated); 2 a usage
 * problem found before anything was sent (bad flags, invalid values). `effect/cli`'s own parse
 * errors are usage problems too and exit 2.
 *
 * This module only classifies; translating API errors into these is `Explain.ts`.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * - `Usage`: flags or values rejected before anything was sent (exit 2).
 * - `Cluster`: no cluster, or the API server refused (RBAC, CRD missing, invalid object).
 * - `NotFound`: the named offer does not exist.
 * - `Failed`: the offer reports a condition that waiting will not fix.
 * - `Timeout`: `--wait` ran out of time.
 * - `NotGated`: `probe` got an answer without paying (the offer is not payment-gated).
 * - `Payment`: `probe --pay` could not pay, or the paid request failed.
 * - `Aborted`: the user answered no at a prompt.
 *
 * @category errors
 */
export class CliFailure extends Data.TaggedError("CliFailure")<{
  readonly reason: "Usage" | "Cluster" | "NotFound" | "Failed" | "Timeout" | "NotGated" | "Payment" | "Aborted"
  /** One line per problem; the first is the headline. */
  readonly problems: ReadonlyArray<string>
}> {
  override get message(): string {
    return this.problems.join("; ")
  }

  /** 2 for usage problems, 1 for everything else. */
  get exitCode(): 1 | 2 {
    return this.reason === "Usage" ? 2 : 1
  }
}

/**
 * @category constructors
 */
export const usage = (problems: ReadonlyArray<string>) => new CliFailure({ reason: "Usage", problems })

/**
 * @category constructors
 */
export const make = (reason: CliFailure["reason"], ...problems: ReadonlyArray<string>) =>
  new CliFailure({ reason, problems })
