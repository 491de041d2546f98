/**
 * The terminal as commands see it: result lines on stdout, progress and errors on stderr, one
 * transient status line (a spinner) that only a terminal gets, and a y/N question.
 *
 * `layer` is the process's own terminal (the question is `effect/cli`'s `Prompt.Confirm`);
 * `layerTest` records every write so tests read exactly what a user would see, with the terminal
 * and the answers chosen by the test. It formats nothing itself.
 *
 * @since 0.1.0
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Context, Effect, Layer, Ref } from "effect"
import { Prompt } from "effect/cli"

/**
 * @category models
 */
export interface Shape {
  /** A result line (stdout). */
  readonly out: (line: string) => Effect.Effect<void>
  /** A progress or error line (stderr). */
  readonly err: (line: string) => Effect.Effect<void>
  /** Replaces the transient status line on a terminal (`undefined` clears it); a no-op otherwise. */
  readonly status: (line: string | undefined) => Effect.Effect<void>
  /** Whether stdout is a terminal (spinners, colours, prompts). */
  readonly tty: boolean
  /** Whether colour may be used: a terminal, and `NO_COLOR` unset. */
  readonly color: boolean
  /** Asks a yes/no question (default no); false without a terminal to ask on. */
  readonly confirm: (question: string) => Effect.Effect<boolean>
}

/**
 * @category services
 */
export class Io extends Context.Service<Io, Shape>()("@obol/cli/Io") {}

/**
 * The process's stdout, stderr and terminal.
 *
 * @category layers
 */
export const layer: Layer.Layer<Io> = Layer.sync(Io, () => {
  const tty = process.stdout.isTTY === true
  const statusTty = process.stderr.isTTY === true
  let shown = false
  const clear = () => {
    if (shown) process.stderr.write("\r\u001b[2K")
    shown = false
  }
  return {
    out: (line) =>
      Effect.sync(() => {
        clear()
        process.stdout.write(`${line}\n`)
      }),
    err: (line) =>
      Effect.sync(() => {
        clear()
        process.stderr.write(`${line}\n`)
      }),
    status: (line) =>
      Effect.sync(() => {
        if (!statusTty) return
        clear()
        if (line !== undefined) {
          process.stderr.write(line.slice(0, Math.max(10, (process.stderr.columns ?? 80) - 1)))
          shown = true
        }
      }),
    tty,
    color: tty && (process.env["NO_COLOR"] ?? "") === "",
    confirm: (question) =>
      process.stdin.isTTY === true && tty
        ? Prompt.run(Prompt.Confirm({ message: question, initial: false })).pipe(
            Effect.provide(NodeServices.layer),
            Effect.orElseSucceed(() => false)
          )
        : Effect.succeed(false)
  }
})

/**
 * What a test terminal recorded.
 *
 * @category models
 */
export interface Recorded {
  readonly stdout: ReadonlyArray<string>
  readonly stderr: ReadonlyArray<string>
  /** Every status line shown, in order (`undefined` for a clear). */
  readonly status: ReadonlyArray<string | undefined>
  readonly questions: ReadonlyArray<string>
}

/**
 * The recording of a {@link layerTest} terminal.
 *
 * @category services
 */
export class Recording extends Context.Service<Recording, { readonly get: Effect.Effect<Recorded> }>()(
  "@obol/cli/Io/Recording"
) {}

/**
 * A recording terminal; `tty` makes it a terminal (status lines, colour, questions), `answers`
 * are the replies to its questions in order (no when they run out).
 *
 * @category layers
 */
export const layerTest = (
  options: { readonly tty?: boolean; readonly color?: boolean; readonly answers?: ReadonlyArray<boolean> } = {}
): Layer.Layer<Io | Recording> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const recorded = yield* Ref.make<Recorded>({ stdout: [], stderr: [], status: [], questions: [] })
      const answers = [...(options.answers ?? [])]
      const tty = options.tty ?? false
      const io: Shape = {
        out: (line) => Ref.update(recorded, (r) => ({ ...r, stdout: [...r.stdout, ...line.split("\n")] })),
        err: (line) => Ref.update(recorded, (r) => ({ ...r, stderr: [...r.stderr, ...line.split("\n")] })),
        status: (line) => (tty ? Ref.update(recorded, (r) => ({ ...r, status: [...r.status, line] })) : Effect.void),
        tty,
        color: options.color ?? false,
        confirm: (question) =>
          Ref.update(recorded, (r) => ({ ...r, questions: [...r.questions, question] })).pipe(
            Effect.as(tty && (answers.shift() ?? false))
          )
      }
      return Context.make(Io, io).pipe(Context.add(Recording, { get: Ref.get(recorded) }))
    })
  )
