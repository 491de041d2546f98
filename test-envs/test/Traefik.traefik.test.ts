/**
 * The Traefik tier, proven end to end on the real control plane: Traefik (outside the cluster,
 * through the kubeconfig) serves a Gateway; an HTTPRoute sends /smoke to a Service whose
 * EndpointSlice points at a test host in a network namespace; a ForwardAuth Middleware asks a
 * tiny auth server on loopback first, at an address whose query pins a route and generation. Run with `npm run test:traefik`.
 */
import { Effect, Exit, Scope } from "effect"
import { createServer, type IncomingHttpHeaders, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest"
import * as ManagedProcess from "../src/ManagedProcess.ts"
import * as TestHost from "../src/TestHost.ts"
import * as Traefik from "../src/Traefik.ts"
import { eventually, request, useNamespace } from "../src/vitest/TestCluster.ts"

const namespace = useNamespace("traefik")
const scope = Effect.runSync(Scope.make())
let traefik: Traefik.Running
let host: TestHost.TestHost
let authServer: Server
const authCalls: Array<{ readonly url: string | undefined; readonly headers: IncomingHttpHeaders }> = []

const backendScript = `
const http = require("node:http")
http.createServer((req, res) => {
  res.setHeader("content-type", "application/json")
  res.end(JSON.stringify({ served: "backend", url: req.url, headers: req.headers }))
}).listen(8080, process.argv[1], () => console.log("backend listening"))
`

const create = async (path: string, body: unknown) => {
  const res = await request("POST", path, body)
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.body}`)
  return res.json
}

beforeAll(async () => {
  const ns = namespace()
  authServer = createServer((req, res) => {
    authCalls.push({ url: req.url, headers: req.headers })
    if (req.headers["x-allow"] === "yes") {
      res.writeHead(200, { "X-Auth-User": "alice", "X-Not-Forwarded": "hidden" })
      res.end()
    } else {
      res.writeHead(402, { "content-type": "application/json", "X-Reason": "pay-first" })
      res.end(JSON.stringify({ error: "payment required", uri: req.headers["x-forwarded-uri"] }))
    }
  })
  await new Promise<void>((resolve) => authServer.listen(0, "127.0.0.1", resolve))
  const authPort = (authServer.address() as AddressInfo).port

  const setup = Effect.gen(function* () {
    host = yield* TestHost.make
    const backend = yield* host.run({
      name: "backend",
      command: process.execPath,
      args: ["-e", backendScript, host.address],
      logFile: `${inject("runDir")}/logs/backend-${ns}.log`
    })
    yield* ManagedProcess.waitUntil(
      backend,
      "listening",
      Effect.sync(() => backend.logTail().includes("backend listening")),
      "20 seconds"
    )
    traefik = yield* Traefik.start({
      kubeconfig: inject("kubeconfig"),
      logDir: `${inject("runDir")}/logs`,
      namespaces: [ns]
    })
  })
  await Effect.runPromise(setup.pipe(Scope.provide(scope)))

  await create("/apis/gateway.networking.k8s.io/v1/gatewayclasses", {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "GatewayClass",
    metadata: { name: `traefik-${ns}` },
    spec: { controllerName: Traefik.controllerName }
  })
  await create(`/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/gateways`, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "gateway", namespace: ns },
    spec: {
      gatewayClassName: `traefik-${ns}`,
      listeners: [
        { name: "web", port: traefik.webPort, protocol: "HTTP", allowedRoutes: { namespaces: { from: "Same" } } }
      ]
    }
  })
  await create(`/api/v1/namespaces/${ns}/services`, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "backend", namespace: ns },
    spec: { ports: [{ name: "http", port: 8080, targetPort: 8080, protocol: "TCP" }] }
  })
  await create(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "backend-1", namespace: ns, labels: { "kubernetes.io/service-name": "backend" } },
    addressType: "IPv4",
    endpoints: [{ addresses: [host.address], conditions: { ready: true, serving: true } }],
    ports: [{ name: "http", port: 8080, protocol: "TCP" }]
  })
  await create(`/apis/traefik.io/v1alpha1/namespaces/${ns}/middlewares`, {
    apiVersion: "traefik.io/v1alpha1",
    kind: "Middleware",
    metadata: { name: "auth", namespace: ns },
    spec: {
      // The query pins a PaymentRoute and generation, as the serviceoffer-controller's Middlewares do.
      forwardAuth: {
        address: `http://127.0.0.1:${authPort}/verify/${ns}/smoke?route=r-1&generation=3`,
        authResponseHeaders: ["X-Auth-User"]
      }
    }
  })
  await create(`/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "smoke", namespace: ns },
    spec: {
      parentRefs: [{ name: "gateway" }],
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: "/smoke" } }],
          filters: [{ type: "ExtensionRef", extensionRef: { group: "traefik.io", kind: "Middleware", name: "auth" } }],
          backendRefs: [{ name: "backend", port: 8080 }]
        }
      ]
    }
  })
}, 3_600_000)

afterAll(async () => {
  await request("DELETE", `/apis/gateway.networking.k8s.io/v1/gatewayclasses/traefik-${namespace()}`)
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await new Promise((resolve) => authServer?.close(resolve))
  // Everything the test started is gone: Traefik's process group and the test host's namespace.
  expect(ManagedProcess.isGroupAlive(traefik.process.pid)).toBe(false)
  const { execFileSync } = await import("node:child_process")
  expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toContain(host.namespace)
})

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${traefik.webPort}${path}`, { headers, signal: AbortSignal.timeout(10_000) })

describe("Traefik in front of the test control plane", () => {
  it("accepts the HTTPRoute and resolves its references", async () => {
    const conditions = await eventually("the HTTPRoute to be Accepted with ResolvedRefs", async () => {
      const route = await request(
        "GET",
        `/apis/gateway.networking.k8s.io/v1/namespaces/${namespace()}/httproutes/smoke`
      )
      const parent = route.json.status?.parents?.[0]
      const byType = Object.fromEntries((parent?.conditions ?? []).map((c: any) => [c.type, c.status]))
      return byType["Accepted"] === "True" && byType["ResolvedRefs"] === "True" ? byType : undefined
    })
    expect(conditions).toMatchObject({ Accepted: "True", ResolvedRefs: "True" })
  })

  it("returns the auth server's status, headers and body when it denies", async () => {
    const res = await eventually("Traefik to route /smoke", async () => {
      const r = await get("/smoke/denied?q=1")
      return r.status === 404 ? undefined : r
    })
    expect(res.status).toBe(402)
    expect(res.headers.get("x-reason")).toBe("pay-first")
    expect(await res.json()).toEqual({ error: "payment required", uri: "/smoke/denied?q=1" })
    expect(authCalls.at(-1)?.headers["x-forwarded-method"]).toBe("GET")
    // The address is called as written, query included; the client's own query stays in X-Forwarded-Uri.
    expect(authCalls.at(-1)?.url).toBe(`/verify/${namespace()}/smoke?route=r-1&generation=3`)
  })

  it("forwards an allowed request to the test host with the authResponseHeaders", async () => {
    const res = await get("/smoke/allowed", { "x-allow": "yes" })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { served: string; url: string; headers: Record<string, string> }
    expect(body.served).toBe("backend")
    expect(body.url).toBe("/smoke/allowed")
    expect(body.headers["x-auth-user"]).toBe("alice")
    expect(body.headers["x-not-forwarded"]).toBeUndefined()
  })
})
