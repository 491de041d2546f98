/**
 * The entry point of a controller process: launch a Layer until SIGTERM or SIGINT, then shut
 * down gracefully (scopes close in reverse, so reconcilers drain and stop before the leader
 * Lease is released) and exit with code 0. A failure exits with 1. Kubernetes sends SIGTERM on
 * every normal pod stop, so a clean stop must not look like a crash.
 *
 * This is the only module of the runtime that touches `@effect/platform-node`'s runtime; apps
 * call it from `main.ts`. {@link help} renders the `--help` text every process prints from its
 * table of settings; {@link namespaceConfig}, {@link identityConfig} and
 * {@link leaderElectionSettings} are the settings every leader-elected process shares.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Config, Exit, Layer } from "effect"
import type { Runtime } from "effect"
import { randomBytes } from "node:crypto"
import { hostname } from "node:os"

/**
 * Exit 0 when the program was interrupted by a signal (a graceful stop) or succeeded; 1 otherwise.
 *
 * @category constructors
 */
export const teardown: Runtime.Teardown = (exit, onExit) => {
  onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
}

/**
 * Runs `layer` as the whole process.
 *
 * @category constructors
 */
export const launch = <E>(layer: Layer.Layer<never, E>): void =>
  Layer.launch(layer).pipe(NodeRuntime.runMain({ teardown }))

/**
 * One environment variable a process reads, for its `--help` text.
 *
 * @category models
 */
export interface Setting {
  readonly env: string
  readonly fallback: string
  readonly help: string
}

/**
 * The `--help` text: what the command does, then every setting with its default.
 *
 * @category constructors
 */
export const help = (bin: string, summary: string, settings: ReadonlyArray<Setting>): string => {
  const width = Math.max(...settings.map((s) => s.env.length)) + 1
  return [
    `${bin}: ${summary}`,
    "",
    "Settings (environment variables):",
    ...settings.map((s) => `  ${s.env.padEnd(width)} ${s.help}\n  ${"".padEnd(width)} default: ${s.fallback}`),
    ""
  ].join("\n")
}

/**
 * A namespace setting: the variable `name`, else `POD_NAMESPACE` (the downward API's namespace of
 * the pod), else `default`.
 *
 * @category constructors
 */
export const namespaceConfig = (name: string): Config.Config<string> =>
  Config.String(name).pipe(
    Config.orElse(() => Config.String("POD_NAMESPACE")),
    Config.withDefault("default")
  )

/**
 * The leader-election identity: `POD_NAME`, else the hostname with a random suffix (so two
 * processes on one host never share an identity).
 *
 * @category constructors
 */
export const identityConfig: Config.Config<string> = Config.String("POD_NAME").pipe(
  Config.orElse(() => Config.succeed(`${hostname()}-${randomBytes(3).toString("hex")}`))
)

/**
 * The `--help` rows of {@link namespaceConfig}`("LEASE_NAMESPACE")` and {@link identityConfig}.
 *
 * @category constants
 */
export const leaderElectionSettings: ReadonlyArray<Setting> = [
  { env: "LEASE_NAMESPACE", fallback: "(POD_NAMESPACE, else default)", help: "namespace of the leader-election Lease" },
  { env: "POD_NAME", fallback: "(hostname + random suffix)", help: "leader-election identity" }
]

/**
 * Where a process's HTTP servers listen: `LISTEN_ADDRESS` (e.g. `127.0.0.1` on a shared machine),
 * else every interface (what a pod wants). Spread into `NodeHttpServer.layer`'s options.
 *
 * @category constructors
 */
export const listenConfig: Config.Config<{ readonly host?: string }> = Config.String("LISTEN_ADDRESS").pipe(
  Config.map((host) => ({ host })),
  Config.withDefault({})
)

/**
 * The `--help` row of {@link listenConfig}.
 *
 * @category constants
 */
export const listenSetting: Setting = {
  env: "LISTEN_ADDRESS",
  fallback: "(every interface)",
  help: "address the HTTP servers listen on, e.g. 127.0.0.1"
}
