/**
 * A real Kubernetes control plane on loopback, as a scoped Effect Layer: etcd, kube-apiserver and
 * kube-controller-manager (only the garbage-collector and namespace controllers), built from Go
 * modules by `ensure.sh`, with the project's CRDs plus the Gateway API standard and traefik.io CRDs
 * installed and discoverable.
 *
 * Expected flow:
 * 1. build or reuse the binaries (`Binaries.core`);
 * 2. make a run directory, the PKI and an admin kubeconfig; pick free loopback ports;
 * 3. start etcd and wait for `/health`; start kube-apiserver and wait for `/readyz`;
 * 4. install `deploy/crds/*.yaml` and the third-party CRDs with server-side apply, and wait until
 *    each is Established and listed in discovery;
 * 5. start kube-controller-manager and wait for its `/healthz`. After the CRDs, so that its
 *    garbage collector's first discovery already includes their kinds (a kind it learns of later
 *    waits for its 30-second resync, and a cascade in the meantime is simply not seen).
 *
 * Guarantees: every wait is bounded and a failure shows the tail of the failing process's log;
 * closing the scope stops the processes in reverse order and removes the run directory; processes
 * never outlive a crashed runner (see `ManagedProcess`).
 *
 * It does not run a scheduler, kubelets or kube-proxy: Pods never run, Services have no ClusterIP
 * routing, and EndpointSlices must be written by hand.
 *
 * @since 0.1.0
 */
import { Context, Data, Effect, Layer, Schedule, type Scope } from "effect"
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { stringify } from "yaml"
import * as Binaries from "./Binaries.ts"
import * as KubeHttp from "./KubeHttp.ts"
import * as ManagedProcess from "./ManagedProcess.ts"
import * as Pki from "./Pki.ts"
import * as Ports from "./Ports.ts"

/**
 * @category errors
 */
export class InstallFailed extends Data.TaggedError("InstallFailed")<{
  readonly step: string
  readonly detail: string
}> {
  override get message() {
    return `installing CRDs failed at ${this.step}: ${this.detail}`
  }
}

/**
 * @category models
 */
export interface Options {
  /** Where to put PKI, data and logs. Default: a fresh temporary directory, removed on close. */
  readonly runDir?: string
  /** Keep processes and the run directory when the scope closes (for `cluster:up`). Default false. */
  readonly detach?: boolean
  /** Start kube-controller-manager (garbage collector, namespace controller). Default true. */
  readonly controllerManager?: boolean
  /** Directories whose `*.yaml` CRDs are installed, in addition to the built-in ones. */
  readonly extraCrdDirs?: ReadonlyArray<string>
}

/**
 * @category models
 */
export interface Info {
  readonly server: string
  /** etcd's client URL, for tests that need to reach under the API server (e.g. compaction). */
  readonly etcdUrl: string
  readonly kubeconfig: string
  readonly runDir: string
  readonly pki: Pki.Pki
  readonly pids: ReadonlyArray<{ readonly name: string; readonly pid: number }>
  readonly http: KubeHttp.KubeHttp
  /**
   * Kills kube-apiserver and etcd with SIGKILL and starts them again on the same ports and data
   * (for the chaos tier); completes once the API server is ready. `pids` lists every one started.
   */
  readonly restartApiServer: Effect.Effect<void, ManagedProcess.ProcessFailed, Scope.Scope>
}

/**
 * The running control plane.
 *
 * @category services
 */
export class ControlPlane extends Context.Service<ControlPlane, Info>()("@obol/test-envs/ControlPlane") {
  static readonly layer = (options: Options = {}) => Layer.effect(ControlPlane, make(options))
}

const repoRoot = join(import.meta.dirname, "..", "..")

/** The project's generated CRDs. */
export const projectCrdDir = join(repoRoot, "deploy", "crds")

const writeKubeconfig = (file: string, server: string, pki: Pki.Pki) => {
  const b64 = (path: string) => readFileSync(path).toString("base64")
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "test-envs", cluster: { server, "certificate-authority-data": b64(pki.caCert) } }],
    users: [
      {
        name: "test-admin",
        user: { "client-certificate-data": b64(pki.adminCert), "client-key-data": b64(pki.adminKey) }
      }
    ],
    contexts: [{ name: "test-envs", context: { cluster: "test-envs", user: "test-admin" } }],
    "current-context": "test-envs"
  }
  writeFileSync(file, stringify(config), { mode: 0o600 })
}

const kubectl = (kubeconfig: string, step: string, args: ReadonlyArray<string>) =>
  Effect.callback<string, InstallFailed>((resume) => {
    execFile(
      "kubectl",
      ["--kubeconfig", kubeconfig, ...args],
      { maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error === null) resume(Effect.succeed(stdout))
        else
          resume(
            Effect.fail(
              new InstallFailed({
                step,
                detail:
                  (error as NodeJS.ErrnoException).code === "ENOENT"
                    ? "kubectl is not installed (apt-get install kubectl)"
                    : `${stderr || error.message}`.trim()
              })
            )
          )
      }
    )
  })

const httpOk = (http: KubeHttp.KubeHttp, path: string) =>
  http.request("GET", path).pipe(Effect.map((r) => r.status === 200))

const plainHttpOk = (url: string) =>
  Effect.tryPromise(() => fetch(url, { signal: AbortSignal.timeout(2000) })).pipe(Effect.map((r) => r.ok))

/** Every served version of every CRD is listed in discovery with its plural. */
const crdsDiscoverable = (http: KubeHttp.KubeHttp) =>
  Effect.gen(function* () {
    const list = yield* http.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    const missing: Array<string> = []
    for (const crd of list.json?.items ?? []) {
      const established = (crd.status?.conditions ?? []).some(
        (c: { type: string; status: string }) => c.type === "Established" && c.status === "True"
      )
      if (!established) missing.push(`${crd.metadata.name} (not Established)`)
      for (const version of crd.spec.versions.filter((v: { served: boolean }) => v.served)) {
        const resources = yield* http.request("GET", `/apis/${crd.spec.group}/${version.name}`)
        const listed = (resources.json?.resources ?? []).some((r: { name: string }) => r.name === crd.spec.names.plural)
        if (!listed) missing.push(`${crd.spec.names.plural}.${crd.spec.group}/${version.name} (not in discovery)`)
      }
    }
    return missing
  })

/**
 * Starts a control plane in the current scope.
 *
 * @category constructors
 */
export const make = Effect.fn("ControlPlane.make")(function* (options: Options = {}) {
  const detach = options.detach === true
  const binaries = yield* Binaries.core
  const runDir = options.runDir ?? mkdtempSync(join(tmpdir(), "obol-control-plane-"))
  mkdirSync(runDir, { recursive: true })
  if (options.runDir === undefined && !detach) {
    yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(runDir, { recursive: true, force: true })))
  }
  const logs = join(runDir, "logs")
  const pkiDir = join(runDir, "pki")
  mkdirSync(logs, { recursive: true })
  mkdirSync(pkiDir, { recursive: true })
  const pki = yield* Pki.make(pkiDir)
  const [etcdPort, peerPort, apiPort, kcmPort] = yield* Ports.freeN(4)
  const server = `https://127.0.0.1:${apiPort}`
  const kubeconfig = join(runDir, "admin.kubeconfig")
  writeKubeconfig(kubeconfig, server, pki)
  const pids: Array<{ name: string; pid: number }> = []

  const http = KubeHttp.make({ server, caFile: pki.caCert, certFile: pki.adminCert, keyFile: pki.adminKey })
  const current: { etcd?: ManagedProcess.ManagedProcess; apiserver?: ManagedProcess.ManagedProcess } = {}
  /** etcd, then kube-apiserver on it, each waited for; the same ports and data on every call. */
  const startStorageAndApi = Effect.gen(function* () {
    const etcd = yield* ManagedProcess.start({
      name: "etcd",
      command: binaries.etcd,
      args: [
        "--name=default",
        `--data-dir=${join(runDir, "etcd")}`,
        `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
        "--unsafe-no-fsync=true",
        "--log-level=warn"
      ],
      logFile: join(logs, "etcd.log"),
      outliveParent: detach
    })
    current.etcd = etcd
    pids.push({ name: "etcd", pid: etcd.pid })
    yield* ManagedProcess.waitUntil(etcd, "healthy", plainHttpOk(`http://127.0.0.1:${etcdPort}/health`), "30 seconds")

    const apiserver = yield* ManagedProcess.start({
      name: "kube-apiserver",
      command: binaries.kubeApiserver,
      args: [
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(runDir, "apiserver-certs")}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--client-ca-file=${pki.caCert}`,
        `--service-account-issuer=${server}`,
        `--service-account-key-file=${pki.serviceAccountPub}`,
        `--service-account-signing-key-file=${pki.serviceAccountKey}`,
        "--authorization-mode=RBAC",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--disable-admission-plugins=ServiceAccount",
        "--endpoint-reconciler-type=none",
        "--allow-privileged=true",
        "--profiling=false",
        // ConfigMaps bypass the watch cache, so a watch from a compacted resourceVersion reaches
        // etcd and fails with 410 Gone, as it does in a long-running cluster (see compactEtcd).
        "--watch-cache-sizes=configmaps#0"
      ],
      logFile: join(logs, "kube-apiserver.log"),
      outliveParent: detach
    })
    current.apiserver = apiserver
    pids.push({ name: "kube-apiserver", pid: apiserver.pid })
    yield* ManagedProcess.waitUntil(apiserver, "ready", httpOk(http, "/readyz"), "90 seconds")
  })
  yield* startStorageAndApi

  const crdDirs = [projectCrdDir, ...binaries.crdDirs, ...(options.extraCrdDirs ?? [])]
  for (const dir of crdDirs) {
    if (readdirSync(dir).filter((f) => f.endsWith(".yaml") || f.endsWith(".yml")).length === 0) continue
    yield* kubectl(kubeconfig, `apply ${dir}`, ["apply", "--server-side", "--force-conflicts", "-f", dir])
  }
  yield* kubectl(kubeconfig, "wait for Established", [
    "wait",
    "--for=condition=Established",
    "crd",
    "--all",
    "--timeout=60s"
  ])
  const waitDiscovery = crdsDiscoverable(http).pipe(
    Effect.flatMap((missing) =>
      missing.length === 0
        ? Effect.void
        : Effect.fail(new InstallFailed({ step: "discovery", detail: missing.join(", ") }))
    ),
    Effect.retry({ times: 150, schedule: Schedule.spaced("200 millis") })
  )
  yield* waitDiscovery

  if (options.controllerManager !== false) {
    const kcm = yield* ManagedProcess.start({
      name: "kube-controller-manager",
      command: binaries.kubeControllerManager,
      args: [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        "--controllers=garbage-collector-controller,namespace-controller",
        "--leader-elect=false",
        "--use-service-account-credentials=false",
        "--bind-address=127.0.0.1",
        `--secure-port=${kcmPort}`,
        `--cert-dir=${join(runDir, "kcm-certs")}`
      ],
      logFile: join(logs, "kube-controller-manager.log"),
      outliveParent: detach
    })
    pids.push({ name: "kube-controller-manager", pid: kcm.pid })
    const kcmHealthy = Effect.tryPromise(async () => {
      const { request } = await import("node:https")
      return await new Promise<boolean>((resolve) => {
        const req = request(
          { hostname: "127.0.0.1", port: kcmPort, path: "/healthz", rejectUnauthorized: false, timeout: 2000 },
          (res) => {
            res.resume()
            resolve(res.statusCode === 200)
          }
        )
        req.on("error", () => resolve(false))
        req.on("timeout", () => req.destroy())
        req.end()
      })
    })
    yield* ManagedProcess.waitUntil(kcm, "healthy", kcmHealthy, "60 seconds")
  }
  const restartApiServer = Effect.gen(function* () {
    for (const running of [current.apiserver, current.etcd]) {
      if (running !== undefined) yield* ManagedProcess.kill(running)
    }
    yield* startStorageAndApi
  })
  return {
    server,
    etcdUrl: `http://127.0.0.1:${etcdPort}`,
    kubeconfig,
    runDir,
    pki,
    pids,
    http,
    restartApiServer
  } satisfies Info
})
