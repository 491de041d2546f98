/**
 * The local stack's data directory and its `stack.env`: where they are
 * (`${OBOL_STACK_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/obol-serviceoffer/stack}`), how the
 * file's `KEY=value` lines are read, and the payer's settings that `npm run pay` takes from it.
 * `npm start` (`start.ts`) keeps its state in that directory and writes the file; `pay.ts` reads it.
 *
 * - Settings: `PAYER_PRIVATE_KEY` and `RPC_URL`, each from the environment when set, else from
 *   `stack.env`. The key is parsed by `@obol/chain/Signer` into a `Redacted` and no part of it is
 *   in an error; only the payer's address is shown later. A missing file or key says to run
 *   `npm start`.
 *
 * This module reads no file itself (callers pass `readFile`) and writes none.
 *
 * @since 0.1.0
 */
import { Data, Result } from "effect"
import { homedir } from "node:os"
import { join } from "node:path"
import * as Signer from "@obol/chain/Signer"
import type * as Buyer from "@obol/x402/Buyer"

/**
 * @category errors
 */
export class SettingsError extends Data.TaggedError("SettingsError")<{ readonly message: string }> {}

type Env = Readonly<Record<string, string | undefined>>

const set = (env: Env, name: string) => {
  const value = env[name]
  return value === undefined || value === "" ? undefined : value
}

/**
 * The stack data directory: `${OBOL_STACK_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/obol-serviceoffer/stack}`.
 *
 * @category accessors
 */
export const stackDir = (env: Env): string =>
  set(env, "OBOL_STACK_DIR") ??
  join(
    set(env, "XDG_DATA_HOME") ?? join(set(env, "HOME") ?? homedir(), ".local", "share"),
    "obol-serviceoffer",
    "stack"
  )

/**
 * `KEY=value` lines (blank lines and `#` comments skipped, an `export ` prefix and one pair of
 * surrounding quotes dropped) to a record.
 *
 * @category constructors
 */
export const parseEnvFile = (text: string): Record<string, string> => {
  const out: Record<string, string> = Object.create(null)
  for (const line of text.split(/\r?\n/u)) {
    const trimmed = line.trim().replace(/^export\s+/u, "")
    if (trimmed === "" || trimmed.startsWith("#")) continue
    const eq = trimmed.indexOf("=")
    if (eq <= 0) continue
    let value = trimmed.slice(eq + 1).trim()
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) {
      value = value.slice(1, -1)
    }
    out[trimmed.slice(0, eq).trim()] = value
  }
  return out
}

/**
 * The payer's key and the chain's RPC URL, as `Buyer.run` takes them: each from the environment
 * when set, else from `<stackDir>/stack.env`. `readFile` returns the file's text, or undefined
 * when it does not exist.
 *
 * @category constructors
 */
export const loadSettings = (
  env: Env,
  readFile: (path: string) => string | undefined
): Result.Result<Buyer.Settings, SettingsError> => {
  const fail = (message: string) => Result.fail(new SettingsError({ message }))
  const path = join(stackDir(env), "stack.env")
  let file: Record<string, string> | undefined
  const setting = (name: string): { value: string; source: string } | string => {
    const fromEnv = set(env, name)
    if (fromEnv !== undefined) return { value: fromEnv, source: "the environment" }
    if (file === undefined) {
      let text: string | undefined
      try {
        text = readFile(path)
      } catch (error) {
        return `${name} is not set and ${path} cannot be read (${error instanceof Error ? error.message : String(error)})`
      }
      if (text === undefined) {
        return `${name} is not set and ${path} does not exist: run \`npm start\` (it writes that file) or set PAYER_PRIVATE_KEY and RPC_URL`
      }
      file = parseEnvFile(text)
    }
    const value = file[name]
    return value === undefined || value === ""
      ? `${name} is not set, nor in ${path}: run \`npm start\` again or set PAYER_PRIVATE_KEY and RPC_URL`
      : { value, source: path }
  }
  const key = setting("PAYER_PRIVATE_KEY")
  if (typeof key === "string") return fail(key)
  const rpc = setting("RPC_URL")
  if (typeof rpc === "string") return fail(rpc)
  const signer = Signer.fromPrivateKey(key.value)
  if (Result.isFailure(signer)) return fail(`PAYER_PRIVATE_KEY from ${key.source}: ${signer.failure.message}`)
  let rpcUrl: URL
  try {
    rpcUrl = new URL(rpc.value)
  } catch {
    return fail(`RPC_URL from ${rpc.source} is not a URL`)
  }
  if (rpcUrl.protocol !== "http:" && rpcUrl.protocol !== "https:") {
    return fail(`RPC_URL from ${rpc.source} is not an http:// or https:// URL`)
  }
  return Result.succeed({ signer: signer.success, rpcUrl: rpc.value, sources: { key: key.source, rpcUrl: rpc.source } })
}
