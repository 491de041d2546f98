/**
 * `npm run cluster:up` / `npm run cluster:down`: one control plane kept running in the background
 * for manual work, with the CRDs installed.
 *
 * `up` is idempotent: when the recorded control plane is still ready it only prints its
 * endpoints. Otherwise it starts a detached daemon (this file with `daemon`) that owns the
 * processes, waits until it reports ready, and ends by printing `KUBECONFIG=<absolute path>`.
 * `down` stops the daemon, which stops every process it started (and kills any straggler recorded
 * in the state file). State lives in `<test-envs cache>/cluster/`.
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"
import { ControlPlane } from "../ControlPlane.ts"
import * as KubeHttp from "../KubeHttp.ts"
import { tail } from "../ManagedProcess.ts"

interface State {
  readonly daemonPid: number
  readonly kubeconfig: string
  readonly server: string
  readonly caFile: string
  readonly certFile: string
  readonly keyFile: string
  readonly pids: ReadonlyArray<{ readonly name: string; readonly pid: number }>
}

const cacheRoot =
  process.env["OBOL_TEST_ENVS_CACHE"] ??
  join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "obol-serviceoffer", "test-envs")
const stateDir = join(cacheRoot, "cluster")
const stateFile = join(stateDir, "state.json")
const logFile = join(stateDir, "daemon.log")

const readState = (): State | undefined => {
  try {
    return JSON.parse(readFileSync(stateFile, "utf8")) as State
  } catch {
    return undefined
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const isReady = async (state: State) => {
  if (!alive(state.daemonPid)) return false
  const http = KubeHttp.make({
    server: state.server,
    caFile: state.caFile,
    certFile: state.certFile,
    keyFile: state.keyFile
  })
  return await Effect.runPromise(
    http.request("GET", "/readyz").pipe(
      Effect.map((r) => r.status === 200),
      Effect.catch(() => Effect.succeed(false))
    )
  )
}

const printEndpoints = (state: State) => {
  console.log(`SERVER=${state.server}`)
  console.log(`KUBECONFIG=${state.kubeconfig}`)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const killGroups = (state: State) => {
  for (const { pid } of state.pids) {
    try {
      process.kill(-pid, "SIGKILL")
    } catch {
      // gone
    }
  }
}

const up = async () => {
  const existing = readState()
  if (existing !== undefined && (await isReady(existing))) {
    console.error(`cluster: already running (daemon pid ${existing.daemonPid})`)
    printEndpoints(existing)
    return
  }
  if (existing !== undefined) {
    console.error("cluster: a previous control plane is recorded but not ready; cleaning it up")
    if (alive(existing.daemonPid)) process.kill(existing.daemonPid, "SIGKILL")
    killGroups(existing)
  }
  rmSync(stateDir, { recursive: true, force: true })
  mkdirSync(stateDir, { recursive: true })
  const log = openSync(logFile, "a")
  const daemon = spawn(process.execPath, [import.meta.filename, "daemon"], {
    detached: true,
    stdio: ["ignore", log, log]
  })
  daemon.unref()
  console.error(`cluster: starting (daemon pid ${daemon.pid}, log ${logFile}); a first run builds the binaries`)
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
      console.error("cluster: ready")
      printEndpoints(state)
      return
    }
    if (daemon.pid === undefined || !alive(daemon.pid)) {
      console.error(`cluster: the control plane did not start. Last lines of ${logFile}:\n${tail(logFile, 40)}`)
      process.exit(1)
    }
  }
}

const down = async () => {
  const state = readState()
  if (state === undefined) {
    console.error("cluster: nothing recorded as running")
    return
  }
  if (alive(state.daemonPid)) {
    process.kill(state.daemonPid, "SIGTERM")
    for (let i = 0; i < 60 && alive(state.daemonPid); i++) await sleep(500)
    if (alive(state.daemonPid)) process.kill(state.daemonPid, "SIGKILL")
  }
  killGroups(state)
  rmSync(stateDir, { recursive: true, force: true })
  console.error(`cluster: stopped (${state.pids.map((p) => `${p.name} ${p.pid}`).join(", ")})`)
}

const daemon = async () => {
  const scope = Effect.runSync(Scope.make())
  const stop = async (code: number) => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    process.exit(code)
  }
  process.on("SIGTERM", () => void stop(0))
  process.on("SIGINT", () => void stop(0))
  const runDir = join(stateDir, "run")
  const exit = await Effect.runPromiseExit(
    Layer.buildWithScope(ControlPlane.layer({ runDir }), scope).pipe(Effect.map((c) => Context.get(c, ControlPlane)))
  )
  if (Exit.isFailure(exit)) {
    console.error(`cluster: failed to start:`, exit.cause)
    await stop(1)
    return
  }
  const control = exit.value
  const state: State = {
    daemonPid: process.pid,
    kubeconfig: control.kubeconfig,
    server: control.server,
    caFile: control.pki.caCert,
    certFile: control.pki.adminCert,
    keyFile: control.pki.adminKey,
    pids: control.pids
  }
  writeFileSync(`${stateFile}.tmp`, JSON.stringify(state, null, 2))
  const { renameSync } = await import("node:fs")
  renameSync(`${stateFile}.tmp`, stateFile)
  console.error(`cluster: control plane ready at ${control.server}`)
  setInterval(() => {}, 1 << 30)
}

const command = process.argv[2]
if (command === "up") await up()
else if (command === "down") await down()
else if (command === "daemon") await daemon()
else {
  console.error("usage: cluster.ts up|down")
  process.exit(2)
}
