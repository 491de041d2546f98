/**
 * The entry point of a controller process: launch a Layer until SIGTERM or SIGINT, then shut
 * down gracefully (scopes close in reverse, so reconcilers drain and stop before the leader
 * Lease is released) and exit with code 0. A failure exits with 1. Kubernetes sends SIGTERM on
 * every normal pod stop, so a clean stop must not look like a crash.
 *
 * This is the only module of the runtime that touches `@effect/platform-node`'s runtime; apps
 * call it from `main.ts`; {@link main} prints a process's `--help` text (`Setting.help`) instead
 * when asked.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Exit, Layer } from "effect"
import type { Runtime } from "effect"

/**
 * Exit 0 when the program was interrupted by a signal (a graceful stop) or succeeded; 1 otherwise.
 *
 * @category constructors
 */
export const teardown: Runtime.Teardown = (exit, onExit) => {
  onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
}

/**
 * Runs `layer` as the whole process.
 *
 * @category constructors
 */
export const launch = <E>(layer: Layer.Layer<never, E>): void =>
  Layer.launch(layer).pipe(NodeRuntime.runMain({ teardown }))

/**
 * A process's entry point: prints `help()` for `--help`, else launches `layer`.
 *
 * @category constructors
 */
export const main = <E>(help: () => string, layer: Layer.Layer<never, E>): void => {
  if (process.argv.includes("--help")) console.log(help())
  else launch(layer)
}
