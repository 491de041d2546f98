import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import * as Cli from "@obol/cli/Cli"
import { consoleText, obol, output, layer } from "./utils/Harness.ts"

/** `--help` of every command, compared with test/golden/help-*.txt (OBOL_UPDATE_GOLDEN=1 rewrites them). */
const commands = [
  [],
  ["sell"],
  ["sell", "http"],
  ["sell", "inference"],
  ["sell", "list"],
  ["sell", "status"],
  ["sell", "probe"],
  ["sell", "stop"],
  ["sell", "resume"],
  ["sell", "delete"],
  ["completion"]
].map((args) => ({ command: ["obol", ...args].join(" "), args }))

describe("obol --help", () => {
  it.effect.each(commands)("matches the golden text for `$command --help`, examples included", ({ args }) =>
    Effect.gen(function* () {
      expect(yield* obol(...args, "--help")).toBe(0)
      const text = `${yield* consoleText}\n`
      const file = new URL(`./golden/help-${["obol", ...args].join("-")}.txt`, import.meta.url)
      if (process.env["OBOL_UPDATE_GOLDEN"] === "1") writeFileSync(file, text)
      expect(existsSync(file), `${file.pathname} is missing: run with OBOL_UPDATE_GOLDEN=1 to write it`).toBe(true)
      expect(text).toBe(readFileSync(file, "utf8"))
      expect(text).toContain("EXAMPLES")
    }).pipe(Effect.provide(layer()))
  )
})

describe("obol", () => {
  it.effect("--version prints the package version", () =>
    Effect.gen(function* () {
      expect(yield* obol("--version")).toBe(0)
      expect(yield* consoleText).toBe(`obol v${Cli.version}`)
    }).pipe(Effect.provide(layer()))
  )

  it.effect("an unknown flag is a usage error (exit 2) with the help", () =>
    Effect.gen(function* () {
      expect(yield* obol("sell", "list", "--bogus")).toBe(2)
      expect(yield* consoleText).toContain("USAGE")
    }).pipe(Effect.provide(layer()))
  )

  it.effect("-o wide where it means nothing is a usage error", () =>
    Effect.gen(function* () {
      expect(yield* obol("sell", "status", "x", "-o", "wide")).toBe(2)
      expect((yield* output).stderr).toEqual(["error: sell status <name> does not support -o wide (use json or yaml)"])
    }).pipe(Effect.provide(layer()))
  )

  it.effect.each(["bash", "zsh", "fish"])(
    "completion %s prints a script that completes the sell subcommands",
    (shell) =>
      Effect.gen(function* () {
        expect(yield* obol("completion", shell)).toBe(0)
        const script = (yield* output).stdout.join("\n")
        expect(script).toContain("obol")
        for (const sub of ["http", "inference", "list", "status", "probe", "stop", "resume", "delete"])
          expect(script).toContain(sub)
        expect(script).toContain("--per-mtok")
      }).pipe(Effect.provide(layer()))
  )
})
