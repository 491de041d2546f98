/**
 * `-o json|yaml` for scripts: objects printed as kubectl prints them (YAML documents, or JSON
 * with two-space indentation), and the check that a command supports the format asked for.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { stringify } from "yaml"
import * as CliFailure from "./CliFailure.ts"
import * as Io from "./Io.ts"

/**
 * @category models
 */
export type Format = "json" | "yaml" | "wide"

/**
 * An object without `metadata.managedFields`, which kubectl also hides unless asked.
 *
 * @category printing
 */
export const clean = <A>(object: A): A => {
  if (typeof object !== "object" || object === null || !("metadata" in object)) return object
  const metadata = (object as { metadata: Record<string, unknown> }).metadata
  if (typeof metadata !== "object" || metadata === null || !("managedFields" in metadata)) return object
  const { managedFields: _, ...rest } = metadata
  return { ...object, metadata: rest }
}

/**
 * Prints `value` in `format`.
 *
 * @category printing
 */
export const print = (value: unknown, format: "json" | "yaml") =>
  Effect.flatMap(Io.Io, (io) =>
    io.out(format === "json" ? JSON.stringify(value, null, 2) : stringify(value, { lineWidth: 0 }).trimEnd())
  )

/**
 * Fails with a usage error when `format` is not one `command` supports.
 *
 * @category validation
 */
export const supported = <const F extends Format>(
  command: string,
  format: Format | undefined,
  formats: ReadonlyArray<F>
): Effect.Effect<F | undefined, CliFailure.CliFailure> =>
  format === undefined || (formats as ReadonlyArray<Format>).includes(format)
    ? Effect.succeed(format as F | undefined)
    : Effect.fail(
        CliFailure.usage([
          formats.length === 0
            ? `${command} prints text only; drop -o ${format}`
            : `${command} does not support -o ${format} (use ${formats.join(" or ")})`
        ])
      )
