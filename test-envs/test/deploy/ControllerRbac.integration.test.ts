/**
 * `deploy/serviceoffer-controller/rbac.yaml` is enough for the serviceoffer-controller's whole
 * job, as the verifier's and the registrar's rules are for theirs: the command runs as a
 * ServiceAccount holding only those rules (`ServiceAccounts.kubeconfigFor`) and takes an offer
 * from create to a RegistrationRequest (finalizer, PaymentRoute, HTTPRoute to the verifier's
 * Service (pay-on-success) or Middleware and HTTPRoute to the upstream (upfront), the
 * upstream probe through the Service and its EndpointSlice, status, its leader Lease and the
 * well-known HTTPRoute), then pauses it (route withdrawn) and deletes it (registration deleted,
 * finalizer released), without one Forbidden answer. The rules being no more than that is the
 * RBAC matrix in Manifests.integration.test.ts.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as DemoUpstream from "@obol/test-envs/DemoUpstream"
import * as Ports from "@obol/test-envs/Ports"
import * as ServiceAccounts from "@obol/test-envs/vitest/ServiceAccounts"
import * as StandIns from "@obol/test-envs/vitest/StandIns"
import { eventually, kubectl, request, useNamespace } from "@obol/test-envs/vitest/TestCluster"

const namespace = useNamespace("controller-rbac")
const repoRoot = join(import.meta.dirname, "..", "..", "..")
const bin = join(repoRoot, "packages", "serviceoffer-controller", "bin", "serviceoffer-controller.mjs")
const manifest = join(repoRoot, "deploy", "serviceoffer-controller", "rbac.yaml")
const scope = Effect.runSync(Scope.make())
let controller: ChildProcess | undefined
let stderr = ""

const obol = (plural: string, name = "") =>
  `/apis/obol.org/v1alpha1/namespaces/${namespace()}/${plural}${name === "" ? "" : `/${name}`}`
const httpRoute = (name: string) => `/apis/gateway.networking.k8s.io/v1/namespaces/${namespace()}/httproutes/${name}`
const exists = async (path: string) => (await request("GET", path)).status === 200
const conditionOf = (offer: any, type: string) =>
  (offer?.status?.conditions ?? []).find((c: { type: string }) => c.type === type)

beforeAll(async () => {
  const [upstreamPort, health, wellKnown] = await Effect.runPromise(Ports.freeN(3))
  const upstream = await Effect.runPromise(
    Scope.provide(
      DemoUpstream.start({ logDir: mkdtempSync(join(tmpdir(), "controller-rbac-")), port: upstreamPort }),
      scope
    )
  )
  const service = await request("POST", `/api/v1/namespaces/${namespace()}/services`, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "demo" },
    spec: { ports: [{ name: "http", port: 8080, targetPort: upstream.port, protocol: "TCP" }] }
  })
  if (service.status !== 201) throw new Error(`creating the Service failed: ${service.status} ${service.body}`)
  const slice = await request("POST", `/apis/discovery.k8s.io/v1/namespaces/${namespace()}/endpointslices`, {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "demo-local", labels: { "kubernetes.io/service-name": "demo" } },
    addressType: "IPv4",
    endpoints: [{ addresses: [upstream.address], conditions: { ready: true, serving: true } }],
    ports: [{ name: "http", port: upstream.port, protocol: "TCP" }]
  })
  if (slice.status !== 201) throw new Error(`creating the EndpointSlice failed: ${slice.status} ${slice.body}`)

  const kubeconfig = await ServiceAccounts.kubeconfigFor({
    namespace: namespace(),
    account: "serviceoffer-controller",
    manifest
  })
  controller = spawn(process.execPath, [bin], {
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      LISTEN_ADDRESS: "127.0.0.1",
      WATCH_NAMESPACE: namespace(),
      POD_NAMESPACE: namespace(),
      POD_NAME: "serviceoffer-controller-0",
      HEALTH_PORT: String(health),
      WELL_KNOWN_PORT: String(wellKnown),
      PUBLIC_BASE_URL: "https://seller.example",
      // The roles are granted in the test's namespace only, so the verifier's Service lives there.
      VERIFIER_SERVICE: `${namespace()}/x402-verifier:8080`
    },
    stdio: ["ignore", "ignore", "pipe"]
  })
  controller.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  await eventually("the controller to be ready", async () => {
    const res = await fetch(`http://127.0.0.1:${health}/readyz`).catch(() => undefined)
    return res?.status === 200 ? true : undefined
  })
})

afterAll(async () => {
  controller?.kill("SIGKILL")
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

describe("the serviceoffer-controller with only the rules of deploy/serviceoffer-controller/rbac.yaml", () => {
  it("takes an offer through create, admission, registration, pause and delete without a Forbidden", async () => {
    const created = await request("POST", obol("serviceoffers"), {
      apiVersion: "obol.org/v1alpha1",
      kind: "ServiceOffer",
      metadata: { name: "weather" },
      spec: {
        upstream: { service: "demo", port: 8080 },
        payment: {
          network: "base-sepolia",
          payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
          price: { perRequest: "0.01" }
        },
        registration: { enabled: true, name: "weather" }
      }
    })
    expect(created.status, created.body).toBe(201)

    // Leader Lease (create, then get/update by name) and the well-known HTTPRoute it publishes.
    const lease = await eventually("the leader Lease", async () => {
      const res = await request(
        "GET",
        `/apis/coordination.k8s.io/v1/namespaces/${namespace()}/leases/serviceoffer-controller`
      )
      return res.json?.spec?.holderIdentity === "serviceoffer-controller-0" ? res.json : undefined
    })
    expect(lease.spec.holderIdentity).toBe("serviceoffer-controller-0")
    await eventually("the well-known HTTPRoute", async () =>
      (await exists(httpRoute("agent-registration"))) ? true : undefined
    )

    // Finalizer, PaymentRoute and Middleware; the route only after admission, then registration
    // once the upstream probe (Service get, EndpointSlice list) finds it healthy.
    await StandIns.admit(namespace(), "weather")
    await StandIns.accept(namespace(), "weather")
    await eventually("the RegistrationRequest", async () =>
      (await exists(obol("registrationrequests", "weather-registration"))) ? true : undefined
    )
    const offer = await eventually("UpstreamHealthy and a Registered condition", async () => {
      const res = await request("GET", obol("serviceoffers", "weather"))
      return conditionOf(res.json, "UpstreamHealthy")?.status === "True" &&
        conditionOf(res.json, "Registered") !== undefined
        ? res.json
        : undefined
    })
    expect(offer.metadata.finalizers).toContain("obol.org/serviceoffer-cleanup")
    expect(await exists(`/apis/traefik.io/v1alpha1/namespaces/${namespace()}/middlewares/x402-weather`)).toBe(false)
    expect((await request("GET", httpRoute("so-weather"))).json?.spec?.rules?.[0]?.backendRefs).toEqual([
      { group: "", kind: "Service", name: "x402-verifier", port: 8080, weight: 1 }
    ])

    // An upfront offer: its ForwardAuth Middleware, then the HTTPRoute to the upstream.
    const upfront = await request("POST", obol("serviceoffers"), {
      apiVersion: "obol.org/v1alpha1",
      kind: "ServiceOffer",
      metadata: { name: "forecast" },
      spec: {
        upstream: { service: "demo", port: 8080 },
        payment: {
          network: "base-sepolia",
          payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
          price: { perRequest: "0.01" },
          settlement: "upfront"
        }
      }
    })
    expect(upfront.status, upfront.body).toBe(201)
    await StandIns.admit(namespace(), "forecast")
    await StandIns.accept(namespace(), "forecast")
    expect(await exists(`/apis/traefik.io/v1alpha1/namespaces/${namespace()}/middlewares/x402-forecast`)).toBe(true)

    // Pause withdraws the HTTPRoute (delete).
    const paused = await request(
      "PATCH",
      obol("serviceoffers", "weather"),
      { spec: { paused: true } },
      "application/merge-patch+json"
    )
    expect(paused.status, paused.body).toBe(200)
    await eventually("the HTTPRoute to be withdrawn", async () =>
      (await exists(httpRoute("so-weather"))) ? undefined : true
    )

    // Delete: the RegistrationRequest is deleted and the finalizer released.
    const deleted = await kubectl([
      "delete",
      "serviceoffer",
      "weather",
      "-n",
      namespace(),
      "--wait=true",
      "--timeout=60s"
    ])
    expect(deleted.code, deleted.stderr).toBe(0)
    expect(await exists(obol("registrationrequests", "weather-registration"))).toBe(false)

    expect(controller?.exitCode ?? null).toBeNull()
    expect(stderr).not.toMatch(/forbidden/iu)
  }, 120_000)
})
