/**
 * Keeping a test environment running in the background for manual work (`cluster:up`,
 * `chain:up`): a detached daemon (the calling script run with `daemon`) owns the processes inside
 * an Effect scope and records a state file once ready; `up` is idempotent (a ready recorded
 * environment is only printed), cleans up a recorded one that is not ready, shows the daemon's
 * log while it starts, and fails with the log tail if the daemon dies; `down` stops the daemon
 * (which closes its scope) and kills any recorded process group left behind.
 *
 * This module does not know what an environment is; callers pass `start`, `isReady` and `print`.
 */
import { Effect, Exit, Scope } from "effect"
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"
import { tail } from "../ManagedProcess.ts"

/** What every state file records, beside the environment's own fields. */
export interface Recorded {
  readonly daemonPid: number
  readonly pids: ReadonlyArray<{ readonly name: string; readonly pid: number }>
}

export interface Environment<S extends Recorded> {
  /** Short name for messages and the state directory, e.g. "cluster". */
  readonly name: string
  /** The script to run as the daemon (`import.meta.filename` of the caller). */
  readonly script: string
  /** Starts the environment in `scope` and returns its state (without `daemonPid`). */
  readonly start: (runDir: string) => Effect.Effect<Omit<S, "daemonPid">, unknown, Scope.Scope>
  readonly isReady: (state: S) => Promise<boolean>
  readonly print: (state: S) => void
}

const cacheRoot = () =>
  process.env["OBOL_TEST_ENVS_CACHE"] ??
  join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "obol-serviceoffer", "test-envs")

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const killGroups = (state: Recorded) => {
  for (const { pid } of state.pids) {
    try {
      process.kill(-pid, "SIGKILL")
    } catch {
      // gone
    }
  }
}

/**
 * Runs `up`, `down` or `daemon` (from `process.argv[2]`) for the environment.
 */
export const main = async <S extends Recorded>(env: Environment<S>) => {
  const stateDir = join(cacheRoot(), env.name)
  const stateFile = join(stateDir, "state.json")
  const logFile = join(stateDir, "daemon.log")
  const readState = (): S | undefined => {
    try {
      return JSON.parse(readFileSync(stateFile, "utf8")) as S
    } catch {
      return undefined
    }
  }

  const up = async () => {
    const existing = readState()
    if (existing !== undefined && alive(existing.daemonPid) && (await env.isReady(existing))) {
      console.error(`${env.name}: already running (daemon pid ${existing.daemonPid})`)
      env.print(existing)
      return
    }
    if (existing !== undefined) {
      console.error(`${env.name}: a previous environment is recorded but not ready; cleaning it up`)
      if (alive(existing.daemonPid)) process.kill(existing.daemonPid, "SIGKILL")
      killGroups(existing)
    }
    rmSync(stateDir, { recursive: true, force: true })
    mkdirSync(stateDir, { recursive: true })
    const log = openSync(logFile, "a")
    const daemon = spawn(process.execPath, [env.script, "daemon"], { detached: true, stdio: ["ignore", log, log] })
    daemon.unref()
    console.error(`${env.name}: starting (daemon pid ${daemon.pid}, log ${logFile})`)
    let shown = 0
    for (;;) {
      await sleep(500)
      const text = existsSync(logFile) ? readFileSync(logFile, "utf8") : ""
      if (text.length > shown) {
        process.stderr.write(text.slice(shown))
        shown = text.length
      }
      const state = readState()
      if (state !== undefined) {
        console.error(`${env.name}: ready`)
        env.print(state)
        return
      }
      if (daemon.pid === undefined || !alive(daemon.pid)) {
        console.error(`${env.name}: did not start. Last lines of ${logFile}:\n${tail(logFile, 40)}`)
        process.exit(1)
      }
    }
  }

  const down = async () => {
    const state = readState()
    if (state === undefined) {
      console.error(`${env.name}: nothing recorded as running`)
      return
    }
    if (alive(state.daemonPid)) {
      process.kill(state.daemonPid, "SIGTERM")
      for (let i = 0; i < 60 && alive(state.daemonPid); i++) await sleep(500)
      if (alive(state.daemonPid)) process.kill(state.daemonPid, "SIGKILL")
    }
    killGroups(state)
    rmSync(stateDir, { recursive: true, force: true })
    console.error(`${env.name}: stopped (${state.pids.map((p) => `${p.name} ${p.pid}`).join(", ")})`)
  }

  const daemon = async () => {
    const scope = Effect.runSync(Scope.make())
    const stop = async (code: number) => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      process.exit(code)
    }
    process.on("SIGTERM", () => void stop(0))
    process.on("SIGINT", () => void stop(0))
    const exit = await Effect.runPromiseExit(Scope.provide(env.start(join(stateDir, "run")), scope))
    if (Exit.isFailure(exit)) {
      console.error(`${env.name}: failed to start:`, exit.cause)
      await stop(1)
      return
    }
    const state = { ...exit.value, daemonPid: process.pid }
    writeFileSync(`${stateFile}.tmp`, JSON.stringify(state, null, 2))
    renameSync(`${stateFile}.tmp`, stateFile)
    console.error(`${env.name}: daemon ${process.pid} recorded its state in ${stateFile}`)
    setInterval(() => {}, 1 << 30)
  }

  const command = process.argv[2]
  if (command === "up") await up()
  else if (command === "down") await down()
  else if (command === "daemon") await daemon()
  else {
    console.error(`usage: ${env.script} up|down`)
    process.exit(2)
  }
}
