/**
 * Upstream resolution over the Services and EndpointSlices informers, on FakeKube: ready
 * endpoints only, the port matched by name, round-robin, and nothing before the caches are listed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { EndpointSlice, serviceNameLabel } from "@obol/kube/builtin/EndpointSlice"
import { Service } from "@obol/kube/builtin/Service"
import * as KubeClient from "@obol/kube/KubeClient"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as Upstreams from "@obol/x402-verifier/Upstreams"
import * as Idle from "@obol/controller/testing/Idle"

const settle = Idle.quiesce

const service = (namespace: string, name: string) => ({
  apiVersion: "v1" as const,
  kind: "Service" as const,
  metadata: { name, namespace },
  spec: { ports: [{ name: "http", port: 80, targetPort: "web" }] }
})

const slice = (namespace: string, serviceName: string, name: string, endpoints: Array<[string, boolean]>) => ({
  apiVersion: "discovery.k8s.io/v1" as const,
  kind: "EndpointSlice" as const,
  metadata: { name, namespace, labels: { [serviceNameLabel]: serviceName } },
  addressType: "IPv4",
  endpoints: endpoints.map(([address, ready]) => ({ addresses: [address], conditions: { ready } })),
  ports: [{ name: "http", port: 9000, protocol: "TCP" }]
})

const layer = (settings: Upstreams.Settings = {}) =>
  Upstreams.layer(settings).pipe(Layer.provideMerge(Layer.fresh(FakeKube.layer)))

const resolve = (upstream: { service: string; namespace: string; port: number }) =>
  Upstreams.Upstreams.use((u) => Effect.succeed(Option.map(u.resolve(upstream), (url) => url.origin)))

describe("Upstreams", () => {
  it.effect("takes the ready endpoints of the Service's slices in turn, on the port named by the Service port", () =>
    Idle.provide(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        yield* client.create(Service, service("shop", "api"))
        yield* client.create(
          EndpointSlice,
          slice("shop", "api", "api-1", [
            ["10.0.0.1", true],
            ["10.0.0.2", false]
          ])
        )
        yield* client.create(EndpointSlice, slice("shop", "api", "api-2", [["10.0.0.3", true]]))
        yield* client.create(EndpointSlice, slice("shop", "other", "other-1", [["10.0.0.9", true]]))
        yield* settle
        const upstream = { service: "api", namespace: "shop", port: 80 }
        const picks = [yield* resolve(upstream), yield* resolve(upstream), yield* resolve(upstream)]
        expect(picks.map(Option.getOrUndefined).toSorted()).toEqual([
          "http://10.0.0.1:9000",
          "http://10.0.0.1:9000",
          "http://10.0.0.3:9000"
        ])
        expect(picks[0]).not.toEqual(picks[1])
      }).pipe(Effect.provide(layer()))
    )
  )

  it.effect("finds nothing for a missing Service, a Service without ready endpoints, or another namespace", () =>
    Idle.provide(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        yield* client.create(Service, service("shop", "idle"))
        yield* client.create(EndpointSlice, slice("shop", "idle", "idle-1", [["10.0.0.1", false]]))
        yield* client.create(Service, service("elsewhere", "api"))
        yield* client.create(EndpointSlice, slice("elsewhere", "api", "api-1", [["10.0.0.1", true]]))
        yield* settle
        expect(yield* resolve({ service: "missing", namespace: "shop", port: 80 })).toEqual(Option.none())
        expect(yield* resolve({ service: "idle", namespace: "shop", port: 80 })).toEqual(Option.none())
        // Outside WATCH_NAMESPACE: never seen.
        expect(yield* resolve({ service: "api", namespace: "elsewhere", port: 80 })).toEqual(Option.none())
      }).pipe(Effect.provide(layer({ namespaces: ["shop"] })))
    )
  )

  it.effect("follows the slices: an endpoint becoming ready is used, a deleted slice is not", () =>
    Idle.provide(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        const upstream = { service: "api", namespace: "shop", port: 80 }
        yield* client.create(Service, service("shop", "api"))
        const created = yield* client.create(EndpointSlice, slice("shop", "api", "api-1", [["10.0.0.1", false]]))
        yield* settle
        expect(yield* resolve(upstream)).toEqual(Option.none())
        const ready = slice("shop", "api", "api-1", [["10.0.0.1", true]])
        yield* client.replace(EndpointSlice, {
          ...ready,
          metadata: { ...ready.metadata, resourceVersion: created.metadata.resourceVersion }
        })
        yield* settle
        expect(yield* resolve(upstream)).toEqual(Option.some("http://10.0.0.1:9000"))
        yield* client.delete(EndpointSlice, { namespace: "shop", name: "api-1" })
        yield* settle
        expect(yield* resolve(upstream)).toEqual(Option.none())
      }).pipe(Effect.provide(layer()))
    )
  )
})
