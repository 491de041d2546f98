/**
 * The `obol` command tree and how a run ends: `obol sell http|inference|list|status|probe|stop|
 * resume|delete` and `obol completion`, with `--help` (examples on every command) and
 * `--version` built in. {@link run} maps the outcome to an exit status: 0 success, 1 a failure at
 * run time, 2 a usage problem (effect/cli's parse errors, or `CliFailure` with reason `Usage`).
 * Failures are written to stderr as `error: …` with one line per problem.
 *
 * It only assembles; each command lives in `commands/`.
 *
 * @since 0.1.0
 */
import { Cause, Effect } from "effect"
import { CliConfig, CliError, Command, GlobalFlag } from "effect/cli"
import pkg from "../package.json" with { type: "json" }
import { CliFailure } from "./CliFailure.ts"
import * as Completion from "./commands/Completion.ts"
import * as Delete from "./commands/Delete.ts"
import * as List from "./commands/List.ts"
import * as Pause from "./commands/Pause.ts"
import * as Probe from "./commands/Probe.ts"
import * as Sell from "./commands/Sell.ts"
import * as Status from "./commands/Status.ts"
import * as Globals from "./Globals.ts"
import * as Io from "./Io.ts"

/**
 * `obol sell …`.
 *
 * @category commands
 */
export const sell = Command.make("sell").pipe(
  Command.withDescription("Sell services behind an x402 payment gate, and manage the offers"),
  Command.withExamples([
    {
      command: "obol sell inference qwen --model qwen3:8b --upstream ollama --per-mtok 1.25 --wait",
      description: "Sell an LLM endpoint per million tokens"
    },
    { command: "obol sell status qwen", description: "Conditions, children and events of one offer" },
    { command: "obol sell stop qwen", description: "Withdraw its route until `obol sell resume qwen`" }
  ]),
  Command.withSubcommands([
    Sell.http,
    Sell.inference,
    List.list,
    Status.status,
    Probe.probe,
    Pause.stop,
    Pause.resume,
    Delete.remove
  ])
)

/**
 * The whole tree.
 *
 * @category commands
 */
const tree: { current?: Command.Command.Any } = {}

export const command = Globals.obol.pipe(
  Command.withSubcommands([sell, Completion.make(() => tree.current ?? Globals.obol)])
)
tree.current = command

/**
 * @category constants
 */
export const version: string = pkg.version

/**
 * Built-in flags: --help, --version and --completions; no wizard or log level (the CLI logs nothing).
 *
 * @category layers
 */
export const config = CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version, GlobalFlag.Completions] })

/**
 * Runs one command line; succeeds with the exit status.
 *
 * @category running
 */
export const run = (args: ReadonlyArray<string>) =>
  Command.runWith(command, { version })(args).pipe(
    Effect.as(0),
    Effect.catch((error: unknown) =>
      Effect.gen(function* () {
        const io = yield* Io.Io
        if (error instanceof CliFailure) {
          const [first, ...rest] = error.problems
          if (error.reason === "Usage" && error.problems.length > 1) {
            yield* io.err(`error: ${error.problems.length} problems, nothing was sent:`)
            for (const problem of error.problems) yield* io.err(`  - ${problem}`)
          } else {
            yield* io.err(`error: ${first ?? "failed"}`)
            for (const line of rest) yield* io.err(`  ${line}`)
          }
          return error.exitCode
        }
        // effect/cli has printed the help and the parse error already.
        if (CliError.isCliError(error)) return error._tag === "ShowHelp" && error.errors.length === 0 ? 0 : 2
        yield* io.err(`error: ${error instanceof Error ? error.message : String(error)}`)
        return 1
      })
    ),
    // A defect is a bug of ours: say so, with the cause, never exit silently.
    Effect.catchCause((cause) =>
      Effect.flatMap(Io.Io, (io) =>
        Effect.as(io.err(`error: obol failed unexpectedly (please report this):\n${Cause.pretty(cause)}`), 1)
      )
    ),
    Effect.provide(config)
  )
