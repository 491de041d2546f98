/**
 * Where the API server is and how to authenticate to it, as an Effect service.
 *
 * Sources, in the order {@link layerFromEnv} tries them:
 * 1. the `KUBECONFIG` environment variable (several files separated by `:` are merged), with an
 *    optional context (`KUBE_CONTEXT`);
 * 2. `~/.kube/config`;
 * 3. in-cluster service-account files (`KUBERNETES_SERVICE_HOST` plus
 *    `/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}`).
 * Explicit options ({@link layer}) bypass the search. When none applies the layer fails with a
 * `KubeConfigError` that says so: there is no silent fallback to `http://localhost:8080`.
 *
 * `@kubernetes/client-node`'s `KubeConfig` is used for parsing and authentication only (token
 * files, exec and OIDC plugins) of kubeconfig files; `authHeaders` asks it on every request, so
 * rotated tokens and refreshed exec credentials are picked up. It makes no API requests itself. It
 * is loaded on first use (it is 870 modules, and undici): a program that never reads a kubeconfig
 * file, such as `obol --help` or a process in a pod (in-cluster configuration is read here, see
 * {@link inCluster}), never pays for it.
 *
 * @since 0.1.0
 */
import type { KubeConfig as ClientNodeConfig } from "@kubernetes/client-node"
import { Clock, Context, Data, Effect, Layer, Redacted } from "effect"
import { existsSync, readFileSync } from "node:fs"
import type { RequestOptions } from "node:https"
import { isIPv6 } from "node:net"
import { homedir } from "node:os"
import { join } from "node:path"

/**
 * @category errors
 */
export class KubeConfigError extends Data.TaggedError("KubeConfigError")<{
  readonly reason: "NoConfiguration" | "InvalidConfiguration" | "NoCluster" | "AuthFailed"
  readonly message: string
}> {}

/**
 * TLS material for the connection, as PEM text.
 *
 * @category models
 */
export interface Tls {
  readonly ca?: string
  readonly cert?: string
  readonly key?: Redacted.Redacted<string>
  readonly insecureSkipVerify?: boolean
}

/**
 * @category models
 */
export interface Shape {
  /** Base URL of the API server, e.g. `https://127.0.0.1:6443`. */
  readonly server: string
  readonly tls: Tls
  /** Authentication headers for the next request (bearer token, refreshed when it rotates). */
  readonly authHeaders: Effect.Effect<Record<string, string>, KubeConfigError>
  /** The namespace the configuration names (kubeconfig context or the pod's own), or `default`. */
  readonly namespace: string
  /** Where the configuration came from, for logs: `kubeconfig <path>`, `in-cluster` or `explicit`. */
  readonly source: string
}

/**
 * @category services
 */
export class KubeConfig extends Context.Service<KubeConfig, Shape>()("@obol/kube/KubeConfig") {}

const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

/** `@kubernetes/client-node`'s KubeConfig class, imported on first use. */
const clientNode = Effect.promise(() => import("@kubernetes/client-node")).pipe(Effect.map((m) => m.KubeConfig))

const readIfExists = (path: string | undefined): string | undefined =>
  path !== undefined && path !== "" && existsSync(path) ? readFileSync(path, "utf8") : undefined

const fromClientNode = (
  config: ClientNodeConfig,
  source: string,
  namespace: string | undefined
): Effect.Effect<Shape, KubeConfigError> =>
  Effect.gen(function* () {
    const cluster = config.getCurrentCluster()
    if (cluster === null || cluster.server === "") {
      return yield* new KubeConfigError({
        reason: "NoCluster",
        message: `${source}: the current context "${config.getCurrentContext()}" names no cluster with a server URL`
      })
    }
    // TLS material once, at startup; headers per request (tokens rotate, exec plugins expire).
    const options: RequestOptions = {}
    yield* Effect.tryPromise({
      try: () => config.applyToHTTPSOptions(options),
      catch: (error) => new KubeConfigError({ reason: "AuthFailed", message: `${source}: ${String(error)}` })
    })
    const pem = (value: unknown): string | undefined =>
      value === undefined || value === null
        ? undefined
        : Buffer.isBuffer(value)
          ? value.toString("utf8")
          : String(value)
    const ca = pem(options.ca)
    const cert = pem(options.cert)
    const key = pem(options.key)
    const tls: Tls = {
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key: Redacted.make(key) }),
      ...(cluster.skipTLSVerify ? { insecureSkipVerify: true } : {})
    }
    const authHeaders = Effect.tryPromise({
      try: async () => {
        const fresh: RequestOptions = {}
        await config.applyToHTTPSOptions(fresh)
        const headers: Record<string, string> = {}
        for (const [name, value] of Object.entries(fresh.headers ?? {})) {
          if (typeof value === "string") headers[name] = value
        }
        return headers
      },
      catch: (error) => new KubeConfigError({ reason: "AuthFailed", message: `${source}: ${String(error)}` })
    })
    const contextNamespace = config.getContextObject(config.getCurrentContext())?.namespace
    return {
      server: cluster.server.replace(/\/+$/u, ""),
      tls,
      authHeaders,
      namespace: namespace ?? contextNamespace ?? "default",
      source
    } satisfies Shape
  })

/**
 * Loads a kubeconfig file (or several, `:`-separated and merged), optionally switching context.
 *
 * @category constructors
 */
export const fromFile = (path: string, context?: string): Effect.Effect<Shape, KubeConfigError> =>
  Effect.gen(function* () {
    const config = new (yield* clientNode)()
    yield* Effect.try({
      try: () => {
        const files = path.split(":").filter((p) => p !== "")
        const missing = files.filter((f) => !existsSync(f))
        if (missing.length > 0) throw new Error(`file not found: ${missing.join(", ")}`)
        if (files.length === 1) config.loadFromFile(files[0]!)
        else {
          // client-node merges several files only through KUBECONFIG; do the same explicitly.
          const saved = process.env["KUBECONFIG"]
          process.env["KUBECONFIG"] = files.join(":")
          try {
            config.loadFromDefault()
          } finally {
            if (saved === undefined) delete process.env["KUBECONFIG"]
            else process.env["KUBECONFIG"] = saved
          }
        }
        if (context !== undefined) config.setCurrentContext(context)
      },
      catch: (error) =>
        new KubeConfigError({
          reason: "InvalidConfiguration",
          message: `kubeconfig ${path}: ${error instanceof Error ? error.message : String(error)}`
        })
    })
    return yield* fromClientNode(config, `kubeconfig ${path}`, undefined)
  })

/** How long a service-account token read from its file is used before the file is read again. */
const tokenRefresh = 60_000

/**
 * A service account's configuration from its mounted files (`token`, `ca.crt`, `namespace` in
 * `dir`) and the API server's Service address, without `@kubernetes/client-node`: the same server
 * URL, CA and token as its `loadFromCluster` (`https://host:port`, `http` on ports 80, 8080 and
 * 8001, an IPv6 host in brackets; the token file read again when the last read is more than 60 s
 * old, as kubelet rotates it), so a pod never loads that package.
 *
 * @category constructors
 */
export const fromServiceAccount = (options: {
  readonly dir: string
  readonly host: string | undefined
  readonly port: string | undefined
}): Effect.Effect<Shape, KubeConfigError> =>
  Effect.gen(function* () {
    const { dir, host, port } = options
    const tokenFile = join(dir, "token")
    if (host === undefined || !existsSync(tokenFile)) {
      return yield* new KubeConfigError({
        reason: "NoConfiguration",
        message: "not running in a cluster (no KUBERNETES_SERVICE_HOST or service-account token)"
      })
    }
    const scheme = port === "80" || port === "8080" || port === "8001" ? "http" : "https"
    const ca = yield* Effect.try({
      try: () => readFileSync(join(dir, "ca.crt"), "utf8"),
      catch: (error) => new KubeConfigError({ reason: "AuthFailed", message: `in-cluster: ${String(error)}` })
    })
    let token: { readonly value: string; readonly readAt: number } | undefined
    const authHeaders = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.try({
        try: () => {
          if (token === undefined || now - token.readAt > tokenRefresh) {
            token = { value: readFileSync(tokenFile, "utf8"), readAt: now }
          }
          return token.value === "" ? {} : { Authorization: `Bearer ${token.value}` }
        },
        catch: (error) => new KubeConfigError({ reason: "AuthFailed", message: `in-cluster: ${String(error)}` })
      })
    )
    yield* authHeaders
    return {
      server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
      tls: { ca },
      authHeaders,
      namespace: readIfExists(join(dir, "namespace"))?.trim() ?? "default",
      source: "in-cluster"
    } satisfies Shape
  })

/**
 * The in-cluster configuration: {@link fromServiceAccount} over the mounted service account and
 * `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT`.
 *
 * @category constructors
 */
export const inCluster: Effect.Effect<Shape, KubeConfigError> = Effect.suspend(() =>
  fromServiceAccount({
    dir: serviceAccountDir,
    host: process.env["KUBERNETES_SERVICE_HOST"],
    port: process.env["KUBERNETES_SERVICE_PORT"]
  })
)

/**
 * Explicit connection settings, for tests and tools that already know them.
 *
 * @category constructors
 */
export const fromOptions = (options: {
  readonly server: string
  readonly tls?: Tls
  readonly token?: Redacted.Redacted<string>
  readonly namespace?: string
}): Shape => ({
  server: options.server.replace(/\/+$/u, ""),
  tls: options.tls ?? {},
  authHeaders: Effect.succeed(
    options.token === undefined ? {} : { Authorization: `Bearer ${Redacted.value(options.token)}` }
  ),
  namespace: options.namespace ?? "default",
  source: "explicit"
})

/**
 * Searches the standard places, in order (see the module header).
 *
 * @category constructors
 */
export const fromEnv: Effect.Effect<Shape, KubeConfigError> = Effect.suspend(() => {
  const context = process.env["KUBE_CONTEXT"]
  const env = process.env["KUBECONFIG"]
  if (env !== undefined && env !== "") return fromFile(env, context)
  const home = join(homedir(), ".kube", "config")
  if (existsSync(home)) return fromFile(home, context)
  return inCluster.pipe(
    Effect.mapError(
      () =>
        new KubeConfigError({
          reason: "NoConfiguration",
          message:
            "no Kubernetes configuration found: set KUBECONFIG, create ~/.kube/config, or run in a cluster with a service account"
        })
    )
  )
})

/**
 * @category layers
 */
export const layerFromEnv: Layer.Layer<KubeConfig, KubeConfigError> = Layer.effect(KubeConfig, fromEnv)

/**
 * @category layers
 */
export const layerFromFile = (path: string, context?: string): Layer.Layer<KubeConfig, KubeConfigError> =>
  Layer.effect(KubeConfig, fromFile(path, context))

/**
 * @category layers
 */
export const layer = (shape: Shape): Layer.Layer<KubeConfig> => Layer.succeed(KubeConfig, shape)
