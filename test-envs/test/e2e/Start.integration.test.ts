/**
 * `npm start` as a newcomer runs it: the command in the foreground prints its `KEY=value` lines
 * and `Stack ready.`, the demo offer answers 402 through Traefik and `npm run pay` pays it; a
 * second start on the same data directory refuses; SIGTERM stops every process it started (none is
 * left, found by an environment marker every child inherits); a restart keeps the offers.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { eventually } from "../../src/vitest/TestCluster.ts"

const repoRoot = join(import.meta.dirname, "..", "..", "..")
const startScript = join(repoRoot, "test-envs", "src", "cli", "start.ts")
const payScript = join(repoRoot, "test-envs", "src", "cli", "pay.ts")
const dataDir = mkdtempSync(join(tmpdir(), "obol-start-test-"))
const marker = `OBOL_START_TEST_${randomBytes(4).toString("hex")}`
const started: Array<ChildProcess> = []

afterAll(() => {
  for (const child of started) if (child.exitCode === null) child.kill("SIGKILL")
  rmSync(dataDir, { recursive: true, force: true })
})

interface Run {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exited: Promise<number | null>
}

const run = (script: string, args: ReadonlyArray<string> = []): Run => {
  // The stack's own files are the only source of keys: nothing inherited from the test's environment.
  const { PAYER_PRIVATE_KEY: _key, RPC_URL: _rpc, ...inherited } = process.env
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...inherited, OBOL_STACK_DIR: dataDir, [marker]: "1" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  started.push(child)
  let out = ""
  let err = ""
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()))
  child.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  return { child, stdout: () => out, stderr: () => err, exited }
}

const ready = async (stack: Run) => {
  await eventually(
    "Stack ready.",
    async () => {
      if (stack.child.exitCode !== null) throw new Error(`npm start exited ${stack.child.exitCode}:\n${stack.stderr()}`)
      return stack.stdout().includes("Stack ready.") ? true : undefined
    },
    600_000
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n--- stderr ---\n${stack.stderr().slice(-4000)}`)
  })
  return Object.fromEntries(
    stack
      .stdout()
      .split("\n")
      .filter((line) => /^[A-Z_]+=/u.test(line))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)])
  ) as Record<string, string>
}

/** Processes still carrying this test's marker in their environment. */
const leftBehind = () =>
  readdirSync("/proc")
    .filter((entry) => /^\d+$/u.test(entry) && Number(entry) !== process.pid)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`${marker}=1`)
      } catch {
        return false
      }
    })

const demoOffer = async (env: Record<string, string>) => {
  const { execFileSync } = await import("node:child_process")
  return JSON.parse(
    execFileSync(
      "kubectl",
      ["--kubeconfig", env["KUBECONFIG"]!, "get", "serviceoffer", "-n", "demo", "echo", "-o", "json"],
      {
        encoding: "utf8"
      }
    )
  )
}

describe("npm start", () => {
  let firstUid: string

  it("starts the stack in the foreground, prints its settings and Stack ready., and serves the demo offer for payment", async () => {
    const stack = run(startScript)
    const env = await ready(stack)
    expect(Object.keys(env).toSorted()).toEqual(
      [
        "KUBECONFIG",
        "GATEWAY_URL",
        "DEMO_URL",
        "RPC_URL",
        "CHAIN_ID",
        "NETWORK",
        "USDC_ADDRESS",
        "REGISTRY_ADDRESS",
        "FACILITATOR_URL",
        "PAYER_PRIVATE_KEY",
        "SELLER_ADDRESS",
        "UPSTREAM_NAMESPACE",
        "UPSTREAM_SERVICE",
        "UPSTREAM_PORT"
      ].toSorted()
    )
    expect(env["CHAIN_ID"]).toBe("84532")
    const unpaid = await fetch(env["DEMO_URL"]!)
    expect(unpaid.status).toBe(402)
    expect(unpaid.headers.get("payment-required")).not.toBeNull()

    // The buyer script finds the keys in the stack's directory.
    const pay = run(payScript, [env["DEMO_URL"]!])
    expect(await pay.exited, pay.stderr()).toBe(0)
    expect(pay.stdout()).toContain("HTTP 200")
    expect(pay.stdout()).toContain('"service":"echo"')

    const second = run(startScript)
    expect(await second.exited).toBe(1)
    expect(second.stderr()).toContain("A stack is already running")

    firstUid = (await demoOffer(env)).metadata.uid
    // The marker finds the stack's processes while they run (so "none left" below means something).
    expect(leftBehind().length).toBeGreaterThanOrEqual(9)
    stack.child.kill("SIGTERM")
    expect(await stack.exited).toBe(0)
    expect(leftBehind()).toEqual([])
  }, 900_000)

  it("keeps its offers across a restart, and stops again on SIGINT", async () => {
    const stack = run(startScript)
    const env = await ready(stack)
    expect((await demoOffer(env)).metadata.uid).toBe(firstUid)
    expect((await fetch(env["DEMO_URL"]!)).status).toBe(402)
    stack.child.kill("SIGINT")
    expect(await stack.exited).toBe(0)
    expect(leftBehind()).toEqual([])
  }, 900_000)
})
