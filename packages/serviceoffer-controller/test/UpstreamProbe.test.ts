import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import * as ServiceOfferFixture from "@obol/api/testing/ServiceOfferFixture"
import { EndpointSlice, serviceNameLabel } from "@obol/kube/builtin/EndpointSlice"
import { Service } from "@obol/kube/builtin/Service"
import * as KubeClient from "@obol/kube/KubeClient"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as UpstreamProbe from "@obol/serviceoffer-controller/UpstreamProbe"

/** An upstream on loopback answering `path` with `status` and `body`. */
const upstream = (routes: Record<string, readonly [number, string]>) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<Server>((resolve) => {
          const server = createServer((req, res) => {
            const [status, body] = routes[req.url ?? ""] ?? [404, "not found"]
            res.writeHead(status, { "content-type": "application/json" })
            res.end(body)
          })
          server.listen(0, "127.0.0.1", () => resolve(server))
        })
    ),
    (server) => Effect.promise(() => new Promise((resolve) => server.close(resolve)))
  ).pipe(Effect.map((server) => (server.address() as AddressInfo).port))

/** The offer `ns/o`, selling the Service `up` on port 80; inference serves qwen3.5:35b on ollama. */
const offer = (type: "http" | "inference" = "http") => {
  const http = ServiceOfferFixture.make("o", { namespace: "ns" }).upstream({ service: "up", port: 80 })
  return (type === "inference" ? http.inference() : http).decoded()
}

/** Creates the Service (port 80, named http) and, when given, a slice pointing at 127.0.0.1:port. */
const wire = (port: number | undefined, ready = true) =>
  Effect.gen(function* () {
    const client = yield* KubeClient.KubeClient
    yield* client.create(Service, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "up", namespace: "ns" },
      spec: { ports: [{ name: "http", port: 80, targetPort: 8080 }] }
    })
    if (port === undefined) return
    yield* client.create(EndpointSlice, {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "up-1", namespace: "ns", labels: { "kubernetes.io/service-name": "up" } },
      addressType: "IPv4",
      endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready } }],
      ports: [{ name: "http", port, protocol: "TCP" }]
    })
  })

/** What the controller's caches hold, read here from the fake API server. */
const caches = Effect.gen(function* () {
  const client = yield* KubeClient.KubeClient
  const services = (yield* client.list(Service, { namespace: "ns" })).items
  const slices = (yield* client.list(EndpointSlice, { namespace: "ns" })).items
  return {
    find: (namespace, name) =>
      Effect.succeed(
        Option.map(
          Option.fromUndefinedOr(services.find((s) => s.metadata.namespace === namespace && s.metadata.name === name)),
          (service) => ({
            service,
            slices: slices.filter(
              (s) => s.metadata.namespace === namespace && s.metadata.labels?.[serviceNameLabel] === name
            )
          })
        )
      )
  } satisfies UpstreamProbe.Upstream
})

const layer = () => UpstreamProbe.layer.pipe(Layer.provideMerge(Layer.fresh(FakeKube.layer)))

describe("UpstreamProbe", () => {
  it.live("is healthy when the health path answers below 500 through a ready endpoint", () =>
    Effect.gen(function* () {
      const port = yield* upstream({ "/health": [200, "{}"] })
      yield* wire(port)
      const result = yield* UpstreamProbe.UpstreamProbe.use((p) =>
        caches.pipe(Effect.flatMap((u) => p.upstream(offer(), u)))
      )
      expect(result).toEqual({ healthy: true, message: "health check answered 200" })
    }).pipe(Effect.provide(layer()))
  )

  it.live("is unhealthy on a 5xx answer", () =>
    Effect.gen(function* () {
      const port = yield* upstream({ "/health": [503, "{}"] })
      yield* wire(port)
      const result = yield* UpstreamProbe.UpstreamProbe.use((p) =>
        caches.pipe(Effect.flatMap((u) => p.upstream(offer(), u)))
      )
      expect(result).toMatchObject({ healthy: false, reason: "ServerError" })
    }).pipe(Effect.provide(layer()))
  )

  it.live("reports NoEndpoints when no endpoint is ready, and ServiceNotFound without a Service", () =>
    Effect.gen(function* () {
      expect(
        yield* UpstreamProbe.UpstreamProbe.use((p) => caches.pipe(Effect.flatMap((u) => p.upstream(offer(), u))))
      ).toMatchObject({
        healthy: false,
        reason: "ServiceNotFound"
      })
      yield* wire(9, false)
      expect(
        yield* UpstreamProbe.UpstreamProbe.use((p) => caches.pipe(Effect.flatMap((u) => p.upstream(offer(), u))))
      ).toMatchObject({
        healthy: false,
        reason: "NoEndpoints"
      })
    }).pipe(Effect.provide(layer()))
  )

  it.live("reports Unreachable when nothing listens", () =>
    Effect.gen(function* () {
      const port = yield* Effect.scoped(upstream({}))
      yield* wire(port)
      expect(
        yield* UpstreamProbe.UpstreamProbe.use((p) => caches.pipe(Effect.flatMap((u) => p.upstream(offer(), u))))
      ).toMatchObject({
        healthy: false,
        reason: "Unreachable"
      })
    }).pipe(Effect.provide(layer()))
  )

  it.live("finds the model in Ollama's /api/tags, and reports it missing otherwise", () =>
    Effect.gen(function* () {
      const port = yield* upstream({ "/api/tags": [200, JSON.stringify({ models: [{ name: "llama3:8b" }] })] })
      yield* wire(port)
      const result = yield* UpstreamProbe.UpstreamProbe.use((p) =>
        caches.pipe(Effect.flatMap((u) => p.model(offer("inference"), u)))
      )
      expect(result).toEqual({
        healthy: false,
        reason: "ModelMissing",
        message: "ollama does not list qwen3.5:35b (has: llama3:8b)"
      })
    }).pipe(Effect.provide(layer()))
  )
})
