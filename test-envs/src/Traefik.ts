/**
 * Traefik v3, built from Go modules by `ensure.sh traefik`, running outside the cluster: it reads
 * Gateway API and traefik.io objects through a kubeconfig, serves one HTTP entry point on loopback
 * and answers `/ping` on another. Stopped when the scope closes.
 *
 * Gateway listeners are matched to entry points by port, so a Gateway for this Traefik must
 * listen on {@link Running.webPort}.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { join } from "node:path"
import * as Binaries from "./Binaries.ts"
import * as ManagedProcess from "./ManagedProcess.ts"
import * as Ports from "./Ports.ts"

/**
 * @category models
 */
export interface Running {
  readonly webPort: number
  readonly pingPort: number
  readonly process: ManagedProcess.ManagedProcess
}

/**
 * The GatewayClass controller name Traefik's Gateway provider serves.
 *
 * @category constants
 */
export const controllerName = "traefik.io/gateway-controller"

/**
 * Starts Traefik against `kubeconfig`, watching only `namespaces` (all when empty).
 *
 * @category constructors
 */
export const start = Effect.fn("Traefik.start")(function* (options: {
  readonly kubeconfig: string
  readonly logDir: string
  readonly namespaces?: ReadonlyArray<string>
  /**
   * How long Traefik waits after applying one configuration before applying the next (its
   * `providers.providersThrottleDuration`, 2 s by default). Until it applies a change, a route the
   * Gateway already reports Accepted is not served yet.
   */
  readonly throttle?: string
}) {
  const binary = yield* Binaries.traefik
  const [webPort, pingPort] = yield* Ports.freeN(2)
  const namespaces = options.namespaces ?? []
  const scoped =
    namespaces.length === 0
      ? []
      : [
          `--providers.kubernetesGateway.namespaces=${namespaces.join(",")}`,
          `--providers.kubernetesCRD.namespaces=${namespaces.join(",")}`
        ]
  const process = yield* ManagedProcess.start({
    name: "traefik",
    command: binary,
    args: [
      `--entryPoints.web.address=127.0.0.1:${webPort}`,
      `--entryPoints.traefik.address=127.0.0.1:${pingPort}`,
      "--ping=true",
      "--ping.entryPoint=traefik",
      "--providers.kubernetesGateway=true",
      "--providers.kubernetesCRD=true",
      ...scoped,
      ...(options.throttle === undefined ? [] : [`--providers.providersThrottleDuration=${options.throttle}`]),
      "--global.checkNewVersion=false",
      "--global.sendAnonymousUsage=false",
      "--log.level=INFO"
    ],
    env: { KUBECONFIG: options.kubeconfig },
    logFile: join(options.logDir, `traefik-${webPort}.log`)
  })
  const ping = Effect.tryPromise(() =>
    fetch(`http://127.0.0.1:${pingPort}/ping`, { signal: AbortSignal.timeout(2000) })
  ).pipe(Effect.map((r) => r.ok))
  yield* ManagedProcess.waitUntil(process, "answering /ping", ping, "60 seconds")
  return { webPort, pingPort, process } satisfies Running
})
