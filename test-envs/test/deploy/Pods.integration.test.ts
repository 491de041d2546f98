/**
 * Each process run as its pod would run it (issue 15): the image `npm run image` builds, unpacked;
 * the Deployment's container from `kubectl kustomize deploy` — its args, its environment with the
 * downward-API values and its settings ConfigMap, its user (65532), a read-only root with only the
 * `/tmp` emptyDir writable — and the ServiceAccount token, CA and namespace mounted where the
 * kubelet mounts them, with `KUBERNETES_SERVICE_HOST/PORT` naming this API server, so every
 * process takes its in-cluster configuration path (`Pod.ts`). The accounts hold exactly the rules
 * the manifests bind to them (granted in this file's namespace).
 *
 * Test-only changes, on top of the Deployments: the pods share the host's network, so their ports
 * move to free ones, and they watch only this file's namespace (the rules are granted here, not
 * cluster-wide); the settings the user must provide are filled in with the local chain's.
 *
 * Then each does its job: two controller replicas elect one leader, which applies an offer's
 * children; the verifier admits the price and answers 402; the registrar registers on anvil.
 */
import { Effect, Exit, Scope } from "effect"
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { parseAllDocuments } from "yaml"
import * as Chain from "../../src/chain/Chain.ts"
import * as LocalFacilitator from "../../src/chain/Facilitator.ts"
import type * as ManagedProcess from "../../src/ManagedProcess.ts"
import * as Pod from "../../src/Pod.ts"
import * as Ports from "../../src/Ports.ts"
import * as ServiceAccounts from "../../src/vitest/ServiceAccounts.ts"
import { eventually, kubectl, request, useNamespace } from "../../src/vitest/TestCluster.ts"

const namespace = useNamespace("pods")
const repoRoot = join(import.meta.dirname, "..", "..", "..")
const scope = Effect.runSync(Scope.make())

interface Manifest {
  readonly kind: string
  readonly metadata: { readonly name: string; readonly namespace?: string }
  readonly [key: string]: any
}

interface Running {
  readonly pod: string
  readonly process: ManagedProcess.ManagedProcess
  readonly health: number
  readonly port?: number
}

const running: Record<string, Running> = {}
let unpacked: string | undefined
let firstDigest: string | undefined
let chain: Chain.Chain

const readyz = async (port: number) => {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) })).ok
  } catch {
    return false
  }
}

beforeAll(async () => {
  const can = Pod.available()
  if (!can.ok) throw new Error(`this tier runs containers as their pods would, which ${can.why}`)

  // The image, as `npm run image` builds it (seconds when its Debian packages are cached).
  const built = spawnSync(process.execPath, [join(repoRoot, "packages", "image", "src", "cli.ts")], {
    cwd: repoRoot,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024
  })
  if (built.status !== 0) throw new Error(`npm run image failed:\n${built.stdout}\n${built.stderr}`)
  const archive = join(repoRoot, /^ARCHIVE=(.+)$/mu.exec(built.stdout)?.[1] ?? "")
  firstDigest = /^DIGEST=(.+)$/mu.exec(built.stdout)?.[1]
  if (!existsSync(archive)) throw new Error(`npm run image named no archive:\n${built.stdout}`)
  const { rootfs, config } = Pod.unpack(archive)
  const logDir = mkdtempSync(join(tmpdir(), `obol-pods-${namespace()}-`))
  unpacked = rootfs

  const rendered = await kubectl(["kustomize", join(repoRoot, "deploy")])
  if (rendered.code !== 0) throw new Error(`kubectl kustomize deploy: ${rendered.stderr}`)
  const documents = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as Manifest)

  chain = await Effect.runPromise(Scope.provide(Chain.start(), scope))
  const facilitator = await Effect.runPromise(Scope.provide(LocalFacilitator.start(chain), scope))

  // What the user provides (deploy/README.md), as the local chain has it.
  const settings: Record<string, Record<string, string>> = {
    "x402-verifier-settings": { FACILITATOR_URL: facilitator.url },
    "serviceoffer-controller-settings": {
      PUBLIC_BASE_URL: "https://seller.example",
      NETWORKS_JSON: JSON.stringify([{ names: ["base-sepolia"], caip2: chain.network, usdc: Chain.token(chain) }])
    },
    "registrar-settings": {
      CHAINS_JSON: JSON.stringify([
        { names: ["base-sepolia"], chainId: chain.chainId, rpcUrl: chain.rpcUrl, registry: chain.registry }
      ])
    }
  }
  const lookup: Pod.Lookup = (kind, name) => {
    if (kind === "Secret") return undefined
    const configMap = documents.find((d) => d.kind === "ConfigMap" && d.metadata.name === name)
    if (configMap === undefined) return undefined
    const base = Object.keys(settings).find((prefix) => name.startsWith(`${prefix}-`) || name === prefix)
    return { ...(configMap["data"] as Record<string, string>), ...(base === undefined ? {} : settings[base]) }
  }

  // The registrar's key, and a Service for the offer's upstream.
  const secret = await request("POST", `/api/v1/namespaces/${namespace()}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "registrar-signer" },
    data: { privateKey: Buffer.from(Chain.devKeys.seller).toString("base64") }
  })
  if (secret.status !== 201) throw new Error(`the signer Secret: ${secret.body}`)
  const service = await request("POST", `/api/v1/namespaces/${namespace()}/services`, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "weather" },
    spec: { ports: [{ port: 8080 }] }
  })
  if (service.status !== 201) throw new Error(`the upstream Service: ${service.body}`)

  // Each account holds the rules the manifests bind to it, here.
  const rulesOf = (account: string) => {
    const bound = documents.filter(
      (d) =>
        (d.kind === "RoleBinding" || d.kind === "ClusterRoleBinding") &&
        (d["subjects"] as Array<{ kind: string; name: string }>).some(
          (s) => s.kind === "ServiceAccount" && s.name === account
        )
    )
    return bound.map((b) => {
      const ref = b["roleRef"] as { kind: string; name: string }
      const role = documents.find((d) => d.kind === ref.kind && d.metadata.name === ref.name)
      if (role === undefined)
        throw new Error(`${b.metadata.name} binds ${ref.kind} ${ref.name}, which is not in deploy/`)
      return { rules: role["rules"] }
    })
  }
  const ca = readFileSync(inject("caFile"), "utf8")
  const server = new URL(inject("server"))
  const deployment = (name: string) => {
    const found = documents.find((d) => d.kind === "Deployment" && d.metadata.name === name)
    if (found === undefined) throw new Error(`deploy/ has no Deployment ${name}`)
    return found["spec"]["template"]["spec"] as Pod.PodSpec & { containers: Array<Pod.Container> }
  }

  const tokens: Record<string, string> = {}
  for (const account of ["serviceoffer-controller", "x402-verifier", "registrar"]) {
    tokens[account] = await ServiceAccounts.tokenFor({ namespace: namespace(), account, roles: rulesOf(account) })
  }

  const start = async (
    pod: string,
    deploymentName: string,
    overrides: (ports: ReadonlyArray<number>) => Record<string, string>
  ) => {
    const spec = deployment(deploymentName)
    const container = spec.containers[0]!
    const ports = await Effect.runPromise(Ports.freeN(3))
    const env: Record<string, string> = { WATCH_NAMESPACE: namespace(), ...overrides(ports) }
    const process = await Effect.runPromise(
      Pod.start({
        name: pod,
        rootfs,
        image: config,
        container,
        pod: { ...spec, name: pod, namespace: namespace() },
        serviceAccount: { token: tokens[spec.serviceAccountName ?? "default"] ?? "", ca },
        apiServer: { host: server.hostname, port: Number(server.port) },
        lookup,
        envOverrides: env,
        logFile: join(logDir, `${pod}.log`)
      }).pipe(Scope.provide(scope))
    )
    running[pod] = {
      pod,
      process,
      health: Number(env["HEALTH_PORT"]),
      ...(env["PORT"] === undefined ? {} : { port: Number(env["PORT"]) })
    }
  }
  for (const pod of ["serviceoffer-controller-5d8f9-a", "serviceoffer-controller-5d8f9-b"]) {
    await start(pod, "serviceoffer-controller", ([health, wellKnown]) => ({
      HEALTH_PORT: String(health),
      WELL_KNOWN_PORT: String(wellKnown)
    }))
  }
  await start("x402-verifier-7c4b6-a", "x402-verifier", ([health, port]) => ({
    HEALTH_PORT: String(health),
    PORT: String(port)
  }))
  await start("registrar-6b7d9-a", "registrar", ([health]) => ({ HEALTH_PORT: String(health) }))
}, 300_000)

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  if (unpacked !== undefined) rmSync(unpacked, { recursive: true, force: true })
}, 120_000)

/** The node process of a pod: its pid (the wrappers that set the pod up are its ancestors). */
const nodeOf = (pod: Running) => {
  const out = execFileSync("pgrep", ["-g", String(pod.process.pid), "-f", "/app/"], { encoding: "utf8" }).trim()
  const pids = out.split("\n").filter((p) => p !== "")
  const node = pids.find((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("/usr/local/bin/node"))
  if (node === undefined) throw new Error(`${pod.pod}: no node process among ${out}`)
  return node
}

describe("the image", () => {
  it("builds again to the same digest", () => {
    const again = spawnSync(process.execPath, [join(repoRoot, "packages", "image", "src", "cli.ts")], {
      cwd: repoRoot,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024
    })
    expect(again.status, again.stderr).toBe(0)
    expect(firstDigest).toMatch(/^sha256:[0-9a-f]{64}$/u)
    expect(/^DIGEST=(.+)$/mu.exec(again.stdout)?.[1]).toBe(firstDigest)
  }, 120_000)
})

describe("the three processes, run from the image as their pods", () => {
  it("each reaches /readyz as uid 65532 on a read-only root, through its in-cluster configuration", async () => {
    for (const pod of Object.values(running)) {
      await eventually(`${pod.pod} ready`, async () => ((await readyz(pod.health)) ? true : undefined), 60_000).catch(
        (error) => {
          throw new Error(`${error}\n--- ${pod.process.logFile} ---\n${pod.process.logTail(40)}`)
        }
      )
      const pid = nodeOf(pod)
      const status = readFileSync(`/proc/${pid}/status`, "utf8")
      expect(/^Uid:\s+(\d+)/mu.exec(status)?.[1], pod.pod).toBe("65532")
      expect(/^Gid:\s+(\d+)/mu.exec(status)?.[1], pod.pod).toBe("65532")
      const root = readFileSync(`/proc/${pid}/mountinfo`, "utf8")
        .split("\n")
        .map((line) => line.split(" "))
        .filter((fields) => fields[4] === "/")
        .at(-1)
      expect(root?.[5]?.split(","), `${pod.pod}: the root mount`).toContain("ro")
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")
      expect(
        environ.some((e) => e.startsWith("KUBECONFIG=")),
        pod.pod
      ).toBe(false)
      expect(environ, pod.pod).toContain(`POD_NAME=${pod.pod}`)
    }
  }, 120_000)

  it("the two controller replicas elect one leader", async () => {
    const holder = await eventually("the controller's Lease held", async () => {
      const lease = await request(
        "GET",
        `/apis/coordination.k8s.io/v1/namespaces/${namespace()}/leases/serviceoffer-controller`
      )
      return lease.status === 200 ? (lease.json.spec.holderIdentity as string | undefined) : undefined
    })
    expect(["serviceoffer-controller-5d8f9-a", "serviceoffer-controller-5d8f9-b"]).toContain(holder)
  }, 60_000)

  it("the controller applies an offer's children, the verifier admits its price and answers 402", async () => {
    const created = await request("POST", `/apis/obol.org/v1alpha1/namespaces/${namespace()}/serviceoffers`, {
      apiVersion: "obol.org/v1alpha1",
      kind: "ServiceOffer",
      metadata: { name: "weather" },
      spec: {
        upstream: { service: "weather", port: 8080 },
        // ForwardAuth: the verifier pod answers /verify for it (pay-on-success is the Stack's tests').
        payment: {
          network: "base-sepolia",
          payTo: chain.seller,
          price: { perRequest: "0.001" },
          settlement: "upfront"
        }
      }
    })
    expect(created.status, created.body).toBe(201)
    await eventually("the PaymentRoute admitted by the verifier pod", async () => {
      const route = await request(
        "GET",
        `/apis/obol.org/v1alpha1/namespaces/${namespace()}/paymentroutes/weather-payment`
      )
      return route.json?.status?.admitted === true ? true : undefined
    })
    const middleware = await request(
      "GET",
      `/apis/traefik.io/v1alpha1/namespaces/${namespace()}/middlewares/x402-weather`
    )
    expect(middleware.status, middleware.body).toBe(200)
    const verifier = Object.values(running).find((p) => p.port !== undefined)!
    const answer = await fetch(`http://127.0.0.1:${verifier.port}/verify/${namespace()}/weather`, {
      headers: {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "seller.example",
        "X-Forwarded-Uri": "/services/weather/today",
        "X-Forwarded-Method": "GET"
      }
    })
    expect(answer.status).toBe(402)
    expect(answer.headers.get("PAYMENT-REQUIRED")).not.toBeNull()
  }, 90_000)

  it("the registrar registers a request on anvil with the signer Secret it may read", async () => {
    const created = await request("POST", `/apis/obol.org/v1alpha1/namespaces/${namespace()}/registrationrequests`, {
      apiVersion: "obol.org/v1alpha1",
      kind: "RegistrationRequest",
      metadata: { name: "pod-agent" },
      spec: {
        name: "pod-agent",
        endpoint: "https://seller.example/services/pod-agent",
        agentURI: `https://seller.example/.well-known/agent-registration.json?offer=${namespace()}/pod-agent`,
        chain: "base-sepolia"
      }
    })
    expect(created.status, created.body).toBe(201)
    const status = await eventually("the registration confirmed", async () => {
      const got = await request(
        "GET",
        `/apis/obol.org/v1alpha1/namespaces/${namespace()}/registrationrequests/pod-agent`
      )
      return got.json?.status?.phase === "Confirmed" ? got.json.status : undefined
    })
    expect(status.agentId).toMatch(/^[0-9]+$/u)
    expect(status.txHash).toMatch(/^0x[0-9a-f]{64}$/u)
  }, 90_000)
})
