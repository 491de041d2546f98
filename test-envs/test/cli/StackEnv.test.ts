/**
 * The local stack's directory and `stack.env`, and the payer's settings from the environment or
 * that file: where each comes from, what a missing one says, and that the key is never shown.
 */
import { Result } from "effect"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as StackEnv from "../../src/cli/StackEnv.ts"

const key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
const address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

describe("settings", () => {
  it("finds the stack directory as ${OBOL_STACK_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/obol-serviceoffer/stack}", () => {
    expect(StackEnv.stackDir({ OBOL_STACK_DIR: "/s", XDG_DATA_HOME: "/x", HOME: "/h" })).toBe("/s")
    expect(StackEnv.stackDir({ OBOL_STACK_DIR: "", XDG_DATA_HOME: "/x", HOME: "/h" })).toBe(
      join("/x", "obol-serviceoffer", "stack")
    )
    expect(StackEnv.stackDir({ XDG_DATA_HOME: "", HOME: "/h" })).toBe(
      join("/h", ".local", "share", "obol-serviceoffer", "stack")
    )
  })

  it("parses KEY=value lines, skipping blanks and comments", () => {
    expect(
      StackEnv.parseEnvFile("# stack\nRPC_URL=http://127.0.0.1:8545\n\nexport A='b=c'\r\nB=\"q\"\nnot a pair\nC=\n")
    ).toEqual({ RPC_URL: "http://127.0.0.1:8545", A: "b=c", B: "q", C: "" })
  })

  const file = `PAYER_PRIVATE_KEY=${key}\nRPC_URL=http://127.0.0.1:8545\n`
  const reads = (text: string | undefined) => {
    const seen: Array<string> = []
    return {
      seen,
      read: (path: string) => {
        seen.push(path)
        return text
      }
    }
  }

  it("takes each setting from the environment when set, else from stack.env", () => {
    const fromEnv = reads(undefined)
    const both = StackEnv.loadSettings({ PAYER_PRIVATE_KEY: key, RPC_URL: "http://rpc:1" }, fromEnv.read)
    expect(Result.isSuccess(both) && both.success).toMatchObject({
      signer: { address },
      rpcUrl: "http://rpc:1",
      sources: { key: "the environment", rpcUrl: "the environment" }
    })
    expect(fromEnv.seen).toEqual([])

    const mixed = reads(file)
    const settings = StackEnv.loadSettings({ OBOL_STACK_DIR: "/s", RPC_URL: "http://rpc:2" }, mixed.read)
    expect(Result.isSuccess(settings) && settings.success).toMatchObject({
      signer: { address },
      rpcUrl: "http://rpc:2",
      sources: { key: join("/s", "stack.env"), rpcUrl: "the environment" }
    })
    expect(mixed.seen).toEqual([join("/s", "stack.env")])
  })

  it("says to run npm start when neither the environment nor stack.env has them", () => {
    const missing = StackEnv.loadSettings({ OBOL_STACK_DIR: "/s" }, () => undefined)
    expect(Result.isFailure(missing) && missing.failure.message).toBe(
      `PAYER_PRIVATE_KEY is not set and ${join("/s", "stack.env")} does not exist: run \`npm start\` (it writes that file) or set PAYER_PRIVATE_KEY and RPC_URL`
    )
    const partial = StackEnv.loadSettings({ OBOL_STACK_DIR: "/s", PAYER_PRIVATE_KEY: key }, () => "OTHER=1\n")
    expect(Result.isFailure(partial) && partial.failure.message).toMatch(/RPC_URL is not set, nor in .*npm start/)
    const unreadable = StackEnv.loadSettings({ OBOL_STACK_DIR: "/s" }, () => {
      throw new Error("EACCES")
    })
    expect(Result.isFailure(unreadable) && unreadable.failure.message).toMatch(/cannot be read \(EACCES\)/)
  })

  it("refuses a bad key without echoing any of it, and a non-http RPC_URL", () => {
    const bad = `${key.slice(0, 64)}zz`
    const refused = StackEnv.loadSettings({ PAYER_PRIVATE_KEY: bad, RPC_URL: "http://rpc:1" }, () => undefined)
    expect(Result.isFailure(refused) && refused.failure.message).toBe(
      "PAYER_PRIVATE_KEY from the environment: the private key is not 32 bytes of hex (64 hex digits)"
    )
    const ws = StackEnv.loadSettings({ PAYER_PRIVATE_KEY: key, RPC_URL: "ws://rpc:1" }, () => undefined)
    expect(Result.isFailure(ws) && ws.failure.message).toMatch(/RPC_URL from the environment is not an http/)
  })

  it("never shows the key when the settings are printed", () => {
    const settings = StackEnv.loadSettings({ PAYER_PRIVATE_KEY: key, RPC_URL: "http://rpc:1" }, () => undefined)
    expect(Result.isSuccess(settings)).toBe(true)
    const shown = `${JSON.stringify(settings)} ${String(Result.isSuccess(settings) && settings.success.signer.privateKey)}`
    expect(shown).not.toContain(key.slice(2))
  })
})
