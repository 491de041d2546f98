/**
 * `obol completion bash|zsh|fish`: prints the shell completion script `effect/cli` generates from
 * the command tree (`source <(obol completion bash)`).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Argument, Command, Completions } from "effect/cli"
import * as Io from "../Io.ts"

/**
 * The command, for the tree `tree` returns (given lazily: the tree contains this command).
 *
 * @category commands
 */
export const make = (tree: () => Command.Command.Any) =>
  Command.make(
    "completion",
    { shell: Argument.Literals("shell", ["bash", "zsh", "fish"]).pipe(Argument.withDescription("Your shell")) },
    (input) =>
      Effect.flatMap(Io.Io, (io) =>
        io.out(Completions.generate("obol", input.shell, Completions.fromCommand(tree())).trimEnd())
      )
  ).pipe(
    Command.withDescription("Print a shell completion script"),
    Command.withExamples([
      { command: "source <(obol completion bash)", description: "Completion in this bash session" },
      { command: 'obol completion zsh > "${fpath[1]}/_obol"', description: "Install for zsh" }
    ])
  )
