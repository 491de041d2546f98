/**
 * The verifier's router on PORT as the pay-on-success backend: routes from a table, upstreams
 * resolved through the Upstreams informers over FakeKube (a Service and an EndpointSlice naming a
 * loopback upstream, node:http), the facilitator in memory counting its calls.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { HttpRouter } from "effect/http"
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from "@x402/core/http"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import { EndpointSlice, serviceNameLabel } from "@obol/kube/builtin/EndpointSlice"
import { Service } from "@obol/kube/builtin/Service"
import * as KubeClient from "@obol/kube/KubeClient"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as Fixtures from "@obol/test-envs/Fixtures"
import * as Backend from "@obol/x402-verifier/Backend"
import * as Credentials from "@obol/x402-verifier/Credentials"
import * as PayOnSuccess from "@obol/x402-verifier/PayOnSuccess"
import * as RouteTable from "@obol/x402-verifier/RouteTable"
import * as Routes from "@obol/x402-verifier/Routes"
import * as Upstreams from "@obol/x402-verifier/Upstreams"
import * as Verifier from "@obol/x402-verifier/Verifier"
import * as Payments from "./utils/Payments.ts"
import * as Upstream from "./utils/Upstream.ts"
import * as Idle from "@obol/controller/testing/Idle"

const settle = Idle.quiesce

const entry = (offer: string, options: Fixtures.RouteOptions) =>
  Routes.entry(
    Schema.decodeUnknownSync(PaymentRoute.schema)(
      Fixtures.paymentRoute("sellers", offer, { ...options, metadata: { uid: `${offer}-uid`, generation: 2 } })
    )
  )

const weather = entry("weather", {
  settlement: "onSuccess",
  upstream: { service: "weather", namespace: "sellers", port: 80 }
})
const upfront = entry("upfront", {})
/** A pay-on-success route on the same upstream that sends the seller's key (LiteLLM's shape). */
const keyed = entry("keyed", {
  settlement: "onSuccess",
  upstream: {
    service: "weather",
    namespace: "sellers",
    port: 80,
    authorization: { secretKeyRef: { name: "litellm-secrets", key: "LITELLM_MASTER_KEY" }, scheme: "Bearer" }
  }
})
const masterKey = "sk-seller-master-key-0123456789"
const secrets = Credentials.layerMemory(
  new Map([
    [
      "sellers/litellm-secrets",
      { data: { LITELLM_MASTER_KEY: Buffer.from(`${masterKey}\n`).toString("base64") }, offers: ["keyed"] }
    ]
  ])
)

const signature = (nonce = "22") => Payments.signature({ route: weather.value.requirement, nonce })

const facilitator = () => Payments.countingFacilitator()

/** The Service `sellers/weather` (port 80, named http) and its slice naming the upstream. */
const serviceFor = (upstream: Upstream.Upstream, ready = true) =>
  Effect.gen(function* () {
    const client = yield* KubeClient.KubeClient
    yield* client.create(Service, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "weather", namespace: "sellers" },
      spec: { ports: [{ name: "http", port: 80, targetPort: "http" }] }
    })
    yield* client.create(EndpointSlice, {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "weather-1", namespace: "sellers", labels: { [serviceNameLabel]: "weather" } },
      addressType: "IPv4",
      endpoints: [{ addresses: [upstream.host], conditions: { ready } }],
      ports: [{ name: "http", port: upstream.port, protocol: "TCP" }]
    })
  })

/**
 * The verifier's PORT router (ForwardAuth and the backend) over the routes (weather, upfront and
 * keyed), as a web handler; with upstream credentials when `credentials` is given.
 */
const backend = (
  f: ReturnType<typeof facilitator>,
  credentials: Layer.Layer<Credentials.Credentials> = Layer.empty as never
) =>
  Effect.gen(function* () {
    const upstreams = yield* Upstreams.Upstreams
    const { handler, dispose } = HttpRouter.toWebHandler(
      Layer.mergeAll(Verifier.routes({ allowUnknownPaths: false }), Backend.routes).pipe(
        Layer.provide(
          Layer.mergeAll(
            Layer.succeed(Verifier.Table, RouteTable.holder(RouteTable.make([weather, upfront, keyed]))),
            credentials,
            Layer.succeed(Upstreams.Upstreams, upstreams),
            f.layer,
            NodeHttpClient.layerUndici,
            PayOnSuccess.InFlight.layer
          )
        )
      ),
      { disableLogger: true }
    )
    yield* Effect.addFinalizer(() => Effect.promise(dispose))
    return (path: string, headers: Record<string, string> = {}) =>
      Effect.promise(async () => {
        const res = await handler(
          new Request(`http://verifier${path}`, {
            headers: { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "seller.example", ...headers }
          })
        )
        return { status: res.status, headers: res.headers, body: await res.text() }
      })
  })

const world = (f: ReturnType<typeof facilitator>) =>
  Upstreams.layer().pipe(Layer.provideMerge(Layer.fresh(FakeKube.layer)), Layer.merge(f.layer))

describe("Backend", () => {
  it.effect("answers 404 for a path no route serves, and for a route that settles upfront; never proxies", () => {
    const f = facilitator()
    return Effect.gen(function* () {
      const upstream = yield* Upstream.start()
      yield* serviceFor(upstream)
      yield* settle
      const call = yield* backend(f)
      expect((yield* call("/services/unknown/x", { "PAYMENT-SIGNATURE": signature() })).status).toBe(404)
      expect((yield* call("/", {})).status).toBe(404)
      const upfrontAnswer = yield* call("/services/upfront/x", { "PAYMENT-SIGNATURE": signature() })
      expect(upfrontAnswer.status).toBe(404)
      expect(JSON.parse(upfrontAnswer.body)).toEqual({ error: "no paid service is offered at this path" })
      expect(upstream.seen).toEqual([])
      expect(f.calls).toEqual({ verify: 0, settle: 0 })
    }).pipe(Effect.scoped, Effect.provide(world(f)), Idle.provide)
  })

  it.effect("still serves /verify (ForwardAuth) on the same router", () => {
    const f = facilitator()
    return Effect.gen(function* () {
      const call = yield* backend(f)
      const answer = yield* call("/verify/sellers/upfront", { "X-Forwarded-Uri": "/services/upfront/x" })
      expect(answer.status).toBe(402)
    }).pipe(Effect.scoped, Effect.provide(world(f)), Idle.provide)
  })

  it.effect("answers an unpaid request 402 with PAYMENT-REQUIRED for the public URL, without the facilitator", () => {
    const f = facilitator()
    return Effect.gen(function* () {
      const upstream = yield* Upstream.start()
      yield* serviceFor(upstream)
      yield* settle
      const call = yield* backend(f)
      const answer = yield* call("/services/weather/today?x=1")
      expect(answer.status).toBe(402)
      const required = decodePaymentRequiredHeader(answer.headers.get("PAYMENT-REQUIRED")!)
      expect(required.accepts[0]?.amount).toBe("1000")
      expect(required.resource?.url).toBe("https://seller.example/services/weather/today?x=1")
      expect(upstream.seen).toEqual([])
      expect(f.calls).toEqual({ verify: 0, settle: 0 })
    }).pipe(Effect.scoped, Effect.provide(world(f)), Idle.provide)
  })

  it.effect(
    "proxies a paid request without the route's prefix and returns 200 with PAYMENT-RESPONSE, settled once",
    () => {
      const f = facilitator()
      return Effect.gen(function* () {
        const upstream = yield* Upstream.start()
        yield* serviceFor(upstream)
        yield* settle
        const call = yield* backend(f)
        const paid = yield* call("/services/weather/today?x=1", { "PAYMENT-SIGNATURE": signature() })
        expect(paid.status).toBe(200)
        expect(paid.body).toBe('{"forecast":"sun"}')
        expect(decodePaymentResponseHeader(paid.headers.get("PAYMENT-RESPONSE")!)).toMatchObject({ success: true })
        expect(f.calls).toEqual({ verify: 1, settle: 1 })
        expect(upstream.seen.map((s) => s.url)).toEqual(["/today?x=1"])
        expect(upstream.seen[0]!.headers["payment-signature"]).toBeUndefined()

        const root = yield* call("/services/weather", { "PAYMENT-SIGNATURE": signature("33") })
        expect(root.status).toBe(200)
        expect(upstream.seen.map((s) => s.url)).toEqual(["/today?x=1", "/"])
      }).pipe(Effect.scoped, Effect.provide(world(f)), Idle.provide)
    }
  )

  it.effect("passes an upstream 404 through and settles nothing", () => {
    const f = facilitator()
    return Effect.gen(function* () {
      const upstream = yield* Upstream.start()
      upstream.answer((_req, res) => {
        res.writeHead(404, { "content-type": "text/plain" })
        res.end("no such forecast")
      })
      yield* serviceFor(upstream)
      yield* settle
      const call = yield* backend(f)
      const answer = yield* call("/services/weather/mars", { "PAYMENT-SIGNATURE": signature() })
      expect([answer.status, answer.body]).toEqual([404, "no such forecast"])
      expect(answer.headers.get("PAYMENT-RESPONSE")).toBeNull()
      expect(f.calls.settle).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(world(f)), Idle.provide)
  })

  it.effect("answers 503 to a pin of a generation this replica has not loaded, without calling the upstream", () => {
    const f = facilitator()
    return Effect.gen(function* () {
      const upstream = yield* Upstream.start()
      yield* serviceFor(upstream)
      yield* settle
      const call = yield* backend(f)
      const paid = { "PAYMENT-SIGNATURE": signature() }
      const ahead = yield* call("/services/weather/today", { ...paid, "x-obol-route": "weather-uid/3" })
      expect(ahead.status).toBe(503)
      expect(ahead.body).toContain("has not loaded generation 3")
      const other = yield* call("/services/weather/today", { ...paid, "x-obol-route": "another-uid/2" })
      expect(other.status).toBe(503)
      const garbled = yield* call("/services/weather/today", { ...paid, "x-obol-route": "weather-uid" })
      expect(garbled.status).toBe(503)
      expect(upstream.seen).toEqual([])
      expect(f.calls).toEqual({ verify: 0, settle: 0 })

      const current = yield* call("/services/weather/today", { ...paid, "x-obol-route": "weather-uid/2" })
      expect(current.status).toBe(200)
    }).pipe(Effect.scoped, Effect.provide(world(f)), Idle.provide)
  })

  it.effect(
    "sends the seller's credential as Authorization instead of the buyer's, and none of the buyer's payment headers",
    () => {
      const f = facilitator()
      return Effect.gen(function* () {
        const upstream = yield* Upstream.start()
        yield* serviceFor(upstream)
        yield* settle
        const call = yield* backend(f, secrets)
        const forged = { "X-Payment-Status": "settled", "X-Payment-Tx": "0xforged", "PAYMENT-RESPONSE": "forged" }
        const sig = Payments.signature({ route: keyed.value.requirement, nonce: "44" })
        const paid = yield* call("/services/keyed/v1/models", {
          "PAYMENT-SIGNATURE": sig,
          Authorization: "Bearer buyers-own-guess",
          ...forged
        })
        expect(paid.status).toBe(200)
        const seen = upstream.seen[0]!.headers
        expect(seen["authorization"]).toBe(`Bearer ${masterKey}`)
        expect([seen["x-payment-status"], seen["x-payment-tx"], seen["payment-response"]]).toEqual([
          "verified",
          undefined,
          undefined
        ])
        expect(seen["payment-signature"]).toBeUndefined()
        // The key goes to this route's upstream only: another route keeps the buyer's header.
        const plain = yield* call("/services/weather/today", {
          "PAYMENT-SIGNATURE": signature("45"),
          Authorization: "Bearer buyers-own"
        })
        expect(plain.status).toBe(200)
        expect(upstream.seen[1]!.headers["authorization"]).toBe("Bearer buyers-own")
      }).pipe(Effect.scoped, Effect.provide(world(f)), Idle.provide)
    }
  )

  it.effect("answers 503 while a route's credential cannot be read: upstream not called, nothing charged", () => {
    const f = facilitator()
    return Effect.gen(function* () {
      const upstream = yield* Upstream.start()
      yield* serviceFor(upstream)
      yield* settle
      for (const credentials of [Credentials.layerMemory(new Map()), Layer.empty as never]) {
        const call = yield* backend(f, credentials)
        const sig = Payments.signature({ route: keyed.value.requirement, nonce: "46" })
        const answer = yield* call("/services/keyed/v1/models", { "PAYMENT-SIGNATURE": sig })
        expect(answer.status).toBe(503)
        expect(JSON.parse(answer.body).error).toContain("nothing was charged")
        expect(answer.body).not.toContain("litellm-secrets")
      }
      expect(upstream.seen).toEqual([])
      expect(f.calls).toEqual({ verify: 0, settle: 0 })
    }).pipe(Effect.scoped, Effect.provide(world(f)), Idle.provide)
  })

  it.effect("answers 503 when the Service has no ready instance, before any facilitator call", () => {
    const f = facilitator()
    return Effect.gen(function* () {
      const upstream = yield* Upstream.start()
      yield* serviceFor(upstream, false)
      yield* settle
      const call = yield* backend(f)
      const answer = yield* call("/services/weather/today", { "PAYMENT-SIGNATURE": signature() })
      expect(answer.status).toBe(503)
      expect(JSON.parse(answer.body)).toEqual({ error: "the service has no ready instance; nothing was charged" })
      expect(upstream.seen).toEqual([])
      expect(f.calls).toEqual({ verify: 0, settle: 0 })
    }).pipe(Effect.scoped, Effect.provide(world(f)), Idle.provide)
  })
})

describe("Backend.upstreamPath", () => {
  it("removes the prefix, keeps the query, and makes an empty rest /", () => {
    expect(Backend.upstreamPath("/services/weather/today", "/services/weather", "/services/weather/today?x=1")).toBe(
      "/today?x=1"
    )
    expect(Backend.upstreamPath("/services/weather", "/services/weather", "/services/weather?x=1")).toBe("/?x=1")
    expect(Backend.upstreamPath("/a/b", "", "/a/b")).toBe("/a/b")
  })

  it("re-encodes decoded segments so they cannot change the URL: ?, #, backslash, space; keeps %2F", () => {
    expect(Backend.upstreamPath("/p/a?b#c\\d e", "/p", "/p/a%3Fb%23c%5Cd%20e")).toBe("/a%3Fb%23c%5Cd%20e")
    expect(Backend.upstreamPath("/p/a%2Fb", "/p", "/p/a%2Fb")).toBe("/a%2Fb")
    expect(Backend.upstreamPath("/p/v1:chat@x", "/p", "/p/v1:chat@x")).toBe("/v1:chat@x")
  })
})

describe("Backend.pinOf", () => {
  it("reads <uid>/<generation>, and says what is wrong with anything else", () => {
    expect(Backend.pinOf(undefined)).toBeUndefined()
    expect(Backend.pinOf("abc-123/4")).toEqual({ route: "abc-123", generation: 4 })
    expect(Backend.pinOf("abc")).toHaveProperty("invalid")
    expect(Backend.pinOf("abc/x")).toHaveProperty("invalid")
    expect(Backend.pinOf("/4")).toHaveProperty("invalid")
  })
})
