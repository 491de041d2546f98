import { describe, expect, it } from "vitest"
import { Effect, Exit, Scope } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ManagedProcess from "../src/ManagedProcess.ts"

const waitFor = async (what: string, check: () => boolean, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const logFile = () => join(mkdtempSync(join(tmpdir(), "managed-process-")), "out.log")

describe("ManagedProcess", () => {
  it("stops the whole process group, children included, when its scope closes", async () => {
    const scope = Effect.runSync(Scope.make())
    const proc = await Effect.runPromise(
      ManagedProcess.start({
        name: "sleepers",
        command: "bash",
        args: ["-c", "sleep 300 & sleep 300"],
        logFile: logFile()
      }).pipe(Scope.provide(scope))
    )
    expect(ManagedProcess.isGroupAlive(proc.pid)).toBe(true)
    await Effect.runPromise(Scope.close(scope, Exit.void))
    expect(ManagedProcess.isGroupAlive(proc.pid)).toBe(false)
  })

  it("fails with the tail of the log when the process exits before it is ready", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.gen(function* () {
          const proc = yield* ManagedProcess.start({
            name: "crasher",
            command: "bash",
            args: ["-c", "echo 'listen tcp: address already in use'; exit 3"],
            logFile: logFile()
          })
          yield* ManagedProcess.waitUntil(proc, "ready", Effect.succeed(false), "30 seconds")
        })
      )
    )
    expect(Exit.isFailure(exit)).toBe(true)
    const message = Exit.isFailure(exit) ? String(exit.cause) : ""
    expect(message).toContain("crasher: ExitedEarly: exited (3) before it was ready")
    expect(message).toContain("listen tcp: address already in use")
  })

  it("fails with a clear reason when the command does not exist", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        ManagedProcess.start({ name: "ghost", command: "/nonexistent/ghost", args: [], logFile: logFile() })
      )
    )
    expect(Exit.isFailure(exit) ? String(exit.cause) : "").toContain(
      "ghost: SpawnFailed: cannot run /nonexistent/ghost"
    )
  })

  it("kills the process group when the process that started it dies without cleaning up", async () => {
    const starter = spawn(process.execPath, [join(import.meta.dirname, "fixtures", "startAndHang.ts")], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    const pid = await new Promise<number>((resolve, reject) => {
      starter.stdout.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())))
      starter.once("exit", (code) => reject(new Error(`starter exited early (${code})`)))
    })
    expect(ManagedProcess.isGroupAlive(pid)).toBe(true)
    starter.kill("SIGKILL")
    await waitFor("the orphaned process group to be killed by its watchdog", () => !ManagedProcess.isGroupAlive(pid))
  })
})
