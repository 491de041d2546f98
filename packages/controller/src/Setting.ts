/**
 * One environment variable a process reads, defined once: its name, its default, its `--help`
 * row and the `Config` that reads it. A process lists its settings in one record; `read` gives the
 * values and `help` the text, so a variable cannot be read without being documented, nor
 * documented with a default other than the one it has.
 *
 * It does not validate across settings (a process does that after `read`), and it does not read
 * anything at import time.
 *
 * @since 0.1.0
 */
import { Config, type Effect, type Option } from "effect"
import { randomBytes } from "node:crypto"
import { hostname } from "node:os"

/**
 * @category models
 */
export interface Setting<A> {
  readonly env: string
  /** The default as `--help` shows it. */
  readonly fallback: string
  readonly help: string
  readonly config: Config.Config<A>
}

type Value<S> = S extends Setting<infer A> ? A : never

/**
 * A setting read by `config` (named after `env`), shown with `fallback` as its default.
 *
 * @category constructors
 */
export const make = <A>(
  env: string,
  options: { readonly help: string; readonly fallback: string; readonly config: Config.Config<A> }
): Setting<A> => ({ env, ...options })

/** @category constructors */
export const string = (env: string, fallback: string, help: string): Setting<string> =>
  make(env, { help, fallback, config: Config.String(env).pipe(Config.withDefault(fallback)) })

/** A string without a default: reading fails, naming the variable, when it is unset. */
export const required = (env: string, help: string): Setting<string> =>
  make(env, { help, fallback: "(required)", config: Config.String(env) })

/** A string that may be unset; `shown` says in `--help` what unset means. */
export const optional = (env: string, shown: string, help: string): Setting<Option.Option<string>> =>
  make(env, { help, fallback: shown, config: Config.String(env).pipe(Config.option) })

/** @category constructors */
export const int = (env: string, fallback: number, help: string): Setting<number> =>
  make(env, { help, fallback: String(fallback), config: Config.Int(env).pipe(Config.withDefault(fallback)) })

/** @category constructors */
export const port = (env: string, fallback: number, help: string): Setting<number> =>
  make(env, { help, fallback: String(fallback), config: Config.Port(env).pipe(Config.withDefault(fallback)) })

/** @category constructors */
export const boolean = (env: string, fallback: boolean, help: string): Setting<boolean> =>
  make(env, { help, fallback: String(fallback), config: Config.Boolean(env).pipe(Config.withDefault(fallback)) })

/**
 * A variable read by something else (`KUBECONFIG` by the Kubernetes client), listed in `--help`
 * only.
 *
 * @category constructors
 */
export const documented = (env: string, fallback: string, help: string): Setting<void> =>
  make(env, { help, fallback, config: Config.succeed(undefined) })

/**
 * Reads every setting of the record.
 *
 * @category constructors
 */
export const read = <const S extends Record<string, Setting<any>>>(
  settings: S
): Effect.Effect<{ readonly [K in keyof S]: Value<S[K]> }, Config.ConfigError> =>
  Config.all(Object.fromEntries(Object.entries(settings).map(([key, setting]) => [key, setting.config]))) as never

/**
 * A namespace: the variable `env`, else `POD_NAMESPACE` (the downward API's namespace of the
 * pod), else `default`.
 *
 * @category constructors
 */
export const namespace = (env: string, help: string): Setting<string> =>
  make(env, {
    help,
    fallback: "(POD_NAMESPACE, else default)",
    config: Config.String(env).pipe(
      Config.orElse(() => Config.String("POD_NAMESPACE")),
      Config.withDefault("default")
    )
  })

/**
 * Where a process's HTTP servers listen: `LISTEN_ADDRESS` (e.g. `127.0.0.1` on a shared machine),
 * else every interface (what a pod wants). Spread into `NodeHttpServer.layer`'s options.
 *
 * @category constructors
 */
export const listen: Setting<{ readonly host?: string }> = make("LISTEN_ADDRESS", {
  help: "address the HTTP servers listen on, e.g. 127.0.0.1",
  fallback: "(every interface)",
  config: Config.String("LISTEN_ADDRESS").pipe(
    Config.map((host): { readonly host?: string } => ({ host })),
    Config.withDefault({})
  )
})

/**
 * The namespace of the leader-election Lease.
 *
 * @category constructors
 */
export const leaseNamespace: Setting<string> = namespace("LEASE_NAMESPACE", "namespace of the leader-election Lease")

/**
 * The leader-election identity: `POD_NAME`, else the hostname with a random suffix (so two
 * processes on one host never share an identity).
 *
 * @category constructors
 */
export const identity: Setting<string> = make("POD_NAME", {
  help: "leader-election identity",
  fallback: "(hostname + random suffix)",
  config: Config.String("POD_NAME").pipe(
    Config.orElse(() => Config.succeed(`${hostname()}-${randomBytes(3).toString("hex")}`))
  )
})

/**
 * The `--help` text: what the command does, then every setting with its default, in the order
 * of the record.
 *
 * @category constructors
 */
export const help = (bin: string, summary: string, settings: Record<string, Setting<unknown>>): string => {
  const rows = Object.values(settings)
  const width = Math.max(...rows.map((s) => s.env.length)) + 1
  return [
    `${bin}: ${summary}`,
    "",
    "Settings (environment variables):",
    ...rows.map((s) => `  ${s.env.padEnd(width)} ${s.help}\n  ${"".padEnd(width)} default: ${s.fallback}`),
    ""
  ].join("\n")
}
