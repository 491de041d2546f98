/**
 * The whole system on one machine, as one scoped Effect: everything a seller's cluster has.
 *
 * Expected flow:
 * 1. the control plane (kube-apiserver, etcd, kube-controller-manager; or a running one passed
 *    in, as tests share one per run);
 * 2. the chain tier: anvil with our token and ERC-8004 registry, and the local x402 facilitator;
 * 3. Traefik as the Gateway API implementation: a GatewayClass, the Gateway
 *    `<gateway namespace>/traefik-gateway` with listener `web` on Traefik's loopback entry point;
 * 4. the demo upstream (`DemoUpstream`) behind the Service `<demo namespace>/echo` and a hand-written
 *    EndpointSlice (no kubelet runs here);
 * 5. the registrar's signer Secret (anvil's seller key: the seller registers its own agents);
 * 6. the three processes, started from their bins with each other's addresses: the verifier
 *    (facilitator), the controller (the verifier's ForwardAuth address, the local token as the
 *    asset of `base-sepolia` offers, since anvil runs with that chain id), the registrar (the local
 *    chain and registry); each must answer `/readyz` before the next step.
 *
 * Two shapes:
 * - the product (`npm start`): every namespace, the Gateway in `traefik`, the demo in `demo`, the
 *   processes' leases and the signer in `obol-system`, state kept in `dataDir` across runs;
 * - a test (`namespace` given): everything in that one namespace, every process and Traefik
 *   confined to it, so several test files can share one control plane.
 *
 * Guarantees: every process's log is a file under `logDir` (`logs` names them); closing the scope
 * stops everything started here, in reverse order; `processes` can be killed and started again
 * (the chaos tier). It does not apply any ServiceOffer.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Chain from "./chain/Chain.ts"
import * as LocalFacilitator from "./chain/Facilitator.ts"
import * as ControlPlane from "./ControlPlane.ts"
import * as DemoUpstream from "./DemoUpstream.ts"
import * as KubeHttp from "./KubeHttp.ts"
import * as ManagedProcess from "./ManagedProcess.ts"
import * as Ports from "./Ports.ts"
import * as Traefik from "./Traefik.ts"

/**
 * @category models
 */
export interface Options {
  /** Keep the control plane's and the chain's state here across runs. Default: a temporary directory, removed on close. */
  readonly dataDir?: string
  /** Confine everything to this one namespace (tests). Default: the product's namespaces. */
  readonly namespace?: string
  /**
   * With `namespace`: put the demo upstream in this other namespace instead (obol-stack's shape,
   * an offer selling `llm/litellm`); the verifier and Traefik watch it too, and the controller may
   * sell from it (`UPSTREAM_NAMESPACES`).
   */
  readonly upstreamNamespace?: string
  /** A running control plane to use instead of starting one. */
  readonly controlPlane?: { readonly kubeconfig: string; readonly http: KubeHttp.KubeHttp }
  /** Traefik's providers throttle. Default 100 ms (Traefik's own default is 2 s). */
  readonly traefikThrottle?: string
  /** Progress lines for long steps. */
  readonly progress?: (line: string) => void
}

/**
 * @category models
 */
export type ProcessName = "x402-verifier" | "serviceoffer-controller" | "registrar"

/**
 * One of the project's processes: started from its bin, restartable.
 *
 * @category models
 */
export interface Process {
  readonly name: ProcessName
  readonly logFile: string
  /** The running process (the latest one after a restart). */
  readonly current: () => ManagedProcess.ManagedProcess
  /** SIGKILL to its process group; completes once it has exited. */
  readonly kill: Effect.Effect<void>
  /** Starts it again (same ports, same settings) and waits for `/readyz`. */
  readonly start: Effect.Effect<void, ManagedProcess.ProcessFailed, Scope.Scope>
}

/**
 * @category models
 */
export interface Stack {
  readonly kubeconfig: string
  readonly http: KubeHttp.KubeHttp
  /** Traefik's Gateway listener, e.g. `http://127.0.0.1:40123`. */
  readonly gatewayUrl: string
  readonly chain: Chain.Chain
  readonly facilitatorUrl: string
  readonly namespaces: { readonly system: string; readonly gateway: string; readonly demo: string }
  readonly gateway: { readonly className: string; readonly name: string }
  readonly upstream: {
    readonly namespace: string
    readonly service: string
    readonly port: number
    readonly address: string
    readonly placement: DemoUpstream.Placement
    /** What the upstream's LiteLLM-like `/v1/...` requires as `Authorization: Bearer <key>` (new each start). */
    readonly masterKey: string
  }
  /** The verifier's ForwardAuth base, e.g. `http://127.0.0.1:40200`. */
  readonly verifierUrl: string
  readonly processes: Readonly<Record<ProcessName, Process>>
  /** Kills kube-apiserver and etcd and starts them again; only when the stack started its own control plane. */
  readonly restartApiServer?: Effect.Effect<void, ManagedProcess.ProcessFailed, Scope.Scope>
  readonly logDir: string
  /** Log file per component. */
  readonly logs: Readonly<Record<string, string>>
}

/**
 * @category services
 */
export class StackService extends Context.Service<StackService, Stack>()("@obol/test-envs/Stack") {
  /** The stack as a scoped Layer: started when built, stopped when its scope closes. */
  static readonly layer = (options: Options = {}) => Layer.effect(StackService, start(options))
}

const repoRoot = join(import.meta.dirname, "..", "..")
const bin = (name: ProcessName) => join(repoRoot, "packages", name, "bin", `${name}.mjs`)

/** Server-side apply through the admin client, failing with the API server's answer. */
const apply = (http: KubeHttp.KubeHttp, path: string, body: unknown) =>
  http
    .request("PATCH", `${path}?fieldManager=obol-stack&force=true`, body, "application/apply-patch+yaml")
    .pipe(
      Effect.flatMap((res) =>
        res.status === 200 || res.status === 201
          ? Effect.void
          : Effect.die(new Error(`applying ${path} failed: ${res.status} ${res.body}`))
      )
    )

const namespaceObject = (name: string) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } })

/**
 * Starts the stack in the current scope.
 *
 * @category constructors
 */
export const start = Effect.fn("Stack.start")(function* (options: Options = {}) {
  const progress = options.progress ?? (() => {})
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "obol-stack-"))
  if (options.dataDir === undefined) {
    yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
  }
  const logDir = join(dataDir, "logs")
  mkdirSync(logDir, { recursive: true })
  const logs: Record<string, string> = {}

  const confined = options.namespace
  const namespaces = {
    system: confined ?? "obol-system",
    gateway: confined ?? "traefik",
    demo: (confined === undefined ? undefined : options.upstreamNamespace) ?? confined ?? "demo"
  }
  const watch = confined === undefined ? {} : { WATCH_NAMESPACE: confined }
  const watched = confined === undefined ? undefined : [...new Set([confined, namespaces.demo])]

  // 1. The control plane.
  let kubeconfig: string
  let http: KubeHttp.KubeHttp
  let restartApiServer: Stack["restartApiServer"]
  if (options.controlPlane !== undefined) {
    ;({ kubeconfig, http } = options.controlPlane)
  } else {
    progress("control plane: starting etcd, kube-apiserver and kube-controller-manager (built on first use)")
    const control = yield* ControlPlane.make({ runDir: join(dataDir, "control-plane") })
    ;({ kubeconfig, http, restartApiServer } = control)
    for (const name of ["etcd", "kube-apiserver", "kube-controller-manager"]) {
      logs[name] = join(control.runDir, "logs", `${name}.log`)
    }
  }
  for (const ns of new Set(Object.values(namespaces)))
    yield* apply(http, `/api/v1/namespaces/${ns}`, namespaceObject(ns))

  // 2. The chain tier.
  progress("chain: anvil, token, ERC-8004 registry, local facilitator")
  const chainDir = join(dataDir, "chain")
  mkdirSync(chainDir, { recursive: true })
  const chain = yield* Chain.start({
    runDir: chainDir,
    ...(options.dataDir === undefined ? {} : { stateFile: join(chainDir, "anvil-state.json") })
  })
  logs["anvil"] = chain.anvil.logFile
  const facilitator = yield* LocalFacilitator.start(chain)

  // 3. Traefik and the Gateway.
  progress("gateway: Traefik (built on first use), GatewayClass, Gateway")
  const traefik = yield* Traefik.start({
    kubeconfig,
    logDir,
    throttle: options.traefikThrottle ?? "100ms",
    ...(watched === undefined ? {} : { namespaces: watched })
  })
  logs["traefik"] = traefik.process.logFile
  const className = confined === undefined ? "traefik" : `traefik-${confined}`
  const gatewayName = "traefik-gateway"
  yield* apply(http, `/apis/gateway.networking.k8s.io/v1/gatewayclasses/${className}`, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: className },
    spec: { controllerName: Traefik.controllerName }
  })
  yield* apply(http, `/apis/gateway.networking.k8s.io/v1/namespaces/${namespaces.gateway}/gateways/${gatewayName}`, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: gatewayName, namespace: namespaces.gateway },
    spec: {
      gatewayClassName: className,
      listeners: [
        { name: "web", port: traefik.webPort, protocol: "HTTP", allowedRoutes: { namespaces: { from: "All" } } }
      ]
    }
  })
  const gatewayUrl = `http://127.0.0.1:${traefik.webPort}`

  // 4. The demo upstream, as a Service with an EndpointSlice.
  progress("demo upstream: echo service")
  const masterKey = `sk-demo-${randomBytes(16).toString("hex")}`
  const upstream = yield* DemoUpstream.start({ logDir, masterKey })
  logs["demo-upstream"] = upstream.process.logFile
  yield* apply(http, `/api/v1/namespaces/${namespaces.demo}/services/echo`, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "echo", namespace: namespaces.demo },
    spec: { ports: [{ name: "http", port: upstream.port, targetPort: upstream.port, protocol: "TCP" }] }
  })
  yield* apply(http, `/apis/discovery.k8s.io/v1/namespaces/${namespaces.demo}/endpointslices/echo-local`, {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "echo-local", namespace: namespaces.demo, labels: { "kubernetes.io/service-name": "echo" } },
    addressType: "IPv4",
    endpoints: [{ addresses: [upstream.address], conditions: { ready: true, serving: true } }],
    ports: [{ name: "http", port: upstream.port, protocol: "TCP" }]
  })

  // 5. The registrar's signer.
  yield* apply(http, `/api/v1/namespaces/${namespaces.system}/secrets/registrar-signer`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "registrar-signer", namespace: namespaces.system },
    type: "Opaque",
    data: { privateKey: Buffer.from(Chain.devKeys.seller).toString("base64") }
  })

  // 6. The three processes.
  const [verifierPort, verifierHealth, controllerHealth, wellKnown, registrarHealth] = yield* Ports.freeN(5)
  const verifierUrl = `http://127.0.0.1:${verifierPort}`

  // The verifier as the backend of pay-on-success offers (docs/adr/0010-pay-on-success.md): a
  // Service whose EndpointSlice names an address the API server accepts (not loopback), on which
  // the verifier then also listens. Without such an address, only upfront offers can be served.
  const backendAddress = DemoUpstream.hostAddress()
  if (backendAddress !== undefined) {
    yield* apply(http, `/api/v1/namespaces/${namespaces.system}/services/x402-verifier`, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "x402-verifier", namespace: namespaces.system },
      spec: { ports: [{ name: "http", port: verifierPort, targetPort: verifierPort, protocol: "TCP" }] }
    })
    yield* apply(http, `/apis/discovery.k8s.io/v1/namespaces/${namespaces.system}/endpointslices/x402-verifier-local`, {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "x402-verifier-local",
        namespace: namespaces.system,
        labels: { "kubernetes.io/service-name": "x402-verifier" }
      },
      addressType: "IPv4",
      endpoints: [{ addresses: [backendAddress], conditions: { ready: true, serving: true } }],
      ports: [{ name: "http", port: verifierPort, protocol: "TCP" }]
    })
  }
  const environment: Record<ProcessName, Record<string, string>> = {
    "x402-verifier": {
      FACILITATOR_URL: facilitator.url,
      PORT: String(verifierPort),
      HEALTH_PORT: String(verifierHealth),
      // Reachable by Traefik as a Service backend (above), and still on loopback for ForwardAuth.
      ...(backendAddress === undefined ? {} : { LISTEN_ADDRESS: "0.0.0.0" }),
      // The upstreams it proxies to may live in the upstream namespace.
      ...(watched === undefined ? {} : { WATCH_NAMESPACE: watched.join(",") })
    },
    "serviceoffer-controller": {
      VERIFIER_ADDRESS: `${verifierUrl}/verify/{namespace}/{name}`,
      VERIFIER_SERVICE: `${namespaces.system}/x402-verifier:${verifierPort}`,
      GATEWAY_NAMESPACE: namespaces.gateway,
      GATEWAY_NAME: gatewayName,
      GATEWAY_SECTION: "web",
      PUBLIC_BASE_URL: gatewayUrl,
      NETWORKS_JSON: JSON.stringify([
        {
          names: ["base-sepolia"],
          caip2: chain.network,
          usdc: Chain.token(chain)
        }
      ]),
      HEALTH_PORT: String(controllerHealth),
      WELL_KNOWN_PORT: String(wellKnown),
      LEASE_NAMESPACE: namespaces.system,
      CONTROLLER_NAMESPACE: namespaces.system,
      POD_NAME: "serviceoffer-controller-local",
      ...(watched === undefined || namespaces.demo === confined ? {} : { UPSTREAM_NAMESPACES: namespaces.demo })
    },
    registrar: {
      CHAINS_JSON: JSON.stringify([
        { names: ["base-sepolia"], chainId: chain.chainId, rpcUrl: chain.rpcUrl, registry: chain.registry }
      ]),
      SIGNER_SECRET: "registrar-signer",
      SIGNER_NAMESPACE: namespaces.system,
      HEALTH_PORT: String(registrarHealth),
      LEASE_NAMESPACE: namespaces.system,
      POD_NAME: "registrar-local"
    }
  }
  const healthPorts: Record<ProcessName, number> = {
    "x402-verifier": verifierHealth,
    "serviceoffer-controller": controllerHealth,
    registrar: registrarHealth
  }
  const processes = {} as Record<ProcessName, Process>
  for (const name of ["x402-verifier", "serviceoffer-controller", "registrar"] as const) {
    progress(`${name}: starting`)
    const logFile = join(logDir, `${name}.log`)
    logs[name] = logFile
    let current: ManagedProcess.ManagedProcess | undefined
    const readyz = Effect.tryPromise(() =>
      fetch(`http://127.0.0.1:${healthPorts[name]}/readyz`, { signal: AbortSignal.timeout(2000) })
    ).pipe(Effect.map((r) => r.ok))
    const startOne = Effect.gen(function* () {
      const running = yield* ManagedProcess.start({
        name,
        command: process.execPath,
        args: [bin(name)],
        env: { KUBECONFIG: kubeconfig, LISTEN_ADDRESS: "127.0.0.1", ...watch, ...environment[name] },
        logFile,
        stopTimeout: "20 seconds"
      })
      current = running
      yield* ManagedProcess.waitUntil(running, "ready (/readyz)", readyz, "90 seconds")
    })
    processes[name] = {
      name,
      logFile,
      current: () => current!,
      kill: Effect.suspend(() => (current === undefined ? Effect.void : ManagedProcess.kill(current))),
      start: startOne
    }
    yield* startOne
  }

  return {
    kubeconfig,
    http,
    gatewayUrl,
    chain,
    facilitatorUrl: facilitator.url,
    namespaces,
    gateway: { className, name: gatewayName },
    upstream: {
      namespace: namespaces.demo,
      service: "echo",
      port: upstream.port,
      address: upstream.address,
      placement: upstream.placement,
      masterKey
    },
    verifierUrl,
    processes,
    ...(restartApiServer === undefined ? {} : { restartApiServer }),
    logDir,
    logs
  } satisfies Stack
})
