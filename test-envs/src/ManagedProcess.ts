/**
 * A long-running child process tied to an Effect Scope: started in its own process group with
 * its output in a log file, stopped (SIGTERM to the group, SIGKILL after a grace period) when the
 * scope closes.
 *
 * If the Node process that started it dies without closing the scope (a crashed or killed test
 * runner), a small watchdog shell, started next to the child, notices within a second and kills
 * the child's whole process group. So no control-plane process outlives the run that started it.
 *
 * This module does not decide *when* a process is ready; callers poll with {@link waitUntil},
 * which fails early, with the tail of the log, if the process exits first.
 *
 * @since 0.1.0
 */
import { Data, Deferred, Duration, Effect, Schedule, Scope } from "effect"
import { spawn } from "node:child_process"
import { closeSync, openSync, readFileSync } from "node:fs"

/**
 * @category errors
 */
export class ProcessFailed extends Data.TaggedError("ProcessFailed")<{
  readonly name: string
  readonly reason: "SpawnFailed" | "ExitedEarly" | "NotReady"
  readonly detail: string
  readonly logFile: string
  readonly logTail: string
}> {
  override get message() {
    return `${this.name}: ${this.reason}: ${this.detail}\n--- last lines of ${this.logFile} ---\n${this.logTail}`
  }
}

/**
 * @category models
 */
export interface Spec {
  readonly name: string
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly logFile: string
  readonly env?: Record<string, string>
  /** Start from an empty environment instead of this process's (`env` is then all it gets). Default false. */
  readonly cleanEnv?: boolean
  readonly cwd?: string
  /** How long to wait after SIGTERM before SIGKILL. Default 10 seconds. */
  readonly stopTimeout?: Duration.Input
  /** Keep running when the starting Node process exits (for `cluster:up`). Default false. */
  readonly outliveParent?: boolean
}

/**
 * @category models
 */
export interface ManagedProcess {
  readonly name: string
  readonly pid: number
  readonly logFile: string
  /** Completes with the exit code (or signal name) when the process exits. */
  readonly exited: Deferred.Deferred<string>
  readonly logTail: (lines?: number) => string
}

/** The last `lines` lines of a file, or a note that it cannot be read. */
export const tail = (file: string, lines = 30): string => {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n")
  } catch (error) {
    return `(no log: ${String(error)})`
  }
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Whether any process of the process group `pgid` is still alive.
 *
 * @category predicates
 */
export const isGroupAlive = (pgid: number) => {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

const signalGroup = (pgid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pgid, signal)
  } catch {
    // Already gone.
  }
}

const watchdogScript = `
parent=$1; group=$2
while kill -0 "$parent" 2>/dev/null && kill -0 -- "-$group" 2>/dev/null; do sleep 1; done
if kill -0 -- "-$group" 2>/dev/null; then
  kill -TERM -- "-$group" 2>/dev/null; sleep 5; kill -KILL -- "-$group" 2>/dev/null
fi`

/**
 * Starts a process in the current scope.
 *
 * @category constructors
 */
export const start = (spec: Spec): Effect.Effect<ManagedProcess, ProcessFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const exited = yield* Deferred.make<string>()
    const logTail = (lines?: number) => tail(spec.logFile, lines)
    const acquire = Effect.suspend(() => {
      const fd = openSync(spec.logFile, "a")
      try {
        const child = spawn(spec.command, [...spec.args], {
          detached: true,
          stdio: ["ignore", fd, fd],
          env: spec.cleanEnv === true ? { ...spec.env } : { ...process.env, ...spec.env },
          ...(spec.cwd === undefined ? {} : { cwd: spec.cwd })
        })
        const pid = child.pid
        if (pid === undefined) {
          return Effect.callback<never, ProcessFailed>((resume) => {
            child.once("error", (error) =>
              resume(
                Effect.fail(
                  new ProcessFailed({
                    name: spec.name,
                    reason: "SpawnFailed",
                    detail: `cannot run ${spec.command}: ${error.message}`,
                    logFile: spec.logFile,
                    logTail: logTail()
                  })
                )
              )
            )
          })
        }
        child.once("exit", (code, signal) => Deferred.doneUnsafe(exited, Effect.succeed(signal ?? String(code))))
        child.unref()
        let watchdog: number | undefined
        if (spec.outliveParent !== true) {
          const dog = spawn("bash", ["-c", watchdogScript, "watchdog", String(process.pid), String(pid)], {
            detached: true,
            stdio: "ignore"
          })
          dog.unref()
          watchdog = dog.pid
        }
        return Effect.succeed({ pid, watchdog })
      } finally {
        closeSync(fd)
      }
    })
    const release = ({ pid, watchdog }: { pid: number; watchdog: number | undefined }) =>
      Effect.gen(function* () {
        if (spec.outliveParent === true) return
        signalGroup(pid, "SIGTERM")
        const stopped = yield* Deferred.await(exited).pipe(
          Effect.timeoutOption(spec.stopTimeout ?? "10 seconds"),
          Effect.map((o) => o._tag === "Some")
        )
        if (!stopped) signalGroup(pid, "SIGKILL")
        // Children of the process (if any) share its group; make sure none is left, and wait
        // until the group is gone so its ports and files are free when the scope has closed.
        signalGroup(pid, "SIGKILL")
        yield* Effect.sync(() => isGroupAlive(pid)).pipe(
          Effect.repeat({ while: (alive) => alive, schedule: Schedule.spaced("20 millis"), times: 250 })
        )
        if (watchdog !== undefined && isAlive(watchdog)) signalGroup(watchdog, "SIGKILL")
      })
    const { pid } = yield* Effect.acquireRelease(acquire, release)
    return { name: spec.name, pid, logFile: spec.logFile, exited, logTail } satisfies ManagedProcess
  })

/**
 * SIGKILL to the process's whole group (a crash, for the chaos tier); completes once it has
 * exited. Its scope's release later finds it gone and does nothing more.
 *
 * @category combinators
 */
export const kill = (running: ManagedProcess): Effect.Effect<void> =>
  Effect.suspend(() => {
    signalGroup(running.pid, "SIGKILL")
    return Effect.asVoid(Deferred.await(running.exited))
  })

/**
 * Polls `check` until it succeeds, failing with the log tail when the process exits first or
 * when `timeout` passes.
 *
 * @category combinators
 */
export const waitUntil = <E>(
  process: ManagedProcess,
  what: string,
  check: Effect.Effect<boolean, E>,
  timeout: Duration.Input
): Effect.Effect<void, ProcessFailed> => {
  const fail = (reason: "ExitedEarly" | "NotReady", detail: string) =>
    new ProcessFailed({ name: process.name, reason, detail, logFile: process.logFile, logTail: process.logTail() })
  const ready = check.pipe(
    Effect.catch(() => Effect.succeed(false)),
    Effect.repeat({ until: (ok) => ok, schedule: Schedule.spaced("200 millis") }),
    Effect.asVoid,
    Effect.timeoutOrElse({
      duration: timeout,
      orElse: () =>
        Effect.fail(fail("NotReady", `not ${what} within ${Duration.format(Duration.fromInputUnsafe(timeout))}`))
    })
  )
  const died = Deferred.await(process.exited).pipe(
    Effect.flatMap((code) => Effect.fail(fail("ExitedEarly", `exited (${code}) before it was ${what}`)))
  )
  return Effect.raceFirst(ready, died)
}
