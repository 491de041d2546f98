import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric, Option } from "effect"
import { HttpRouter } from "effect/http"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import * as KubeClient from "@obol/kube/KubeClient"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as Facilitator from "@obol/x402/Facilitator"
import * as Verifier from "@obol/x402-verifier/Verifier"

const settle = Effect.gen(function* () {
  for (let i = 0; i < 50; i++) yield* Effect.yieldNow
})

const route = (name: string, network = "eip155:84532") => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "PaymentRoute",
  metadata: { name: `${name}-payment`, namespace: "sellers" },
  spec: {
    offer: { namespace: "sellers", name },
    pattern: `/services/${name}/*`,
    price: "1000",
    priceModel: "perRequest",
    payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    network,
    asset: {
      address: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
      decimals: 6,
      eip712Name: "USDC",
      eip712Version: "2"
    },
    maxTimeoutSeconds: 300
  }
})

const facilitator = Facilitator.layerMemory({
  supported: Effect.succeed({ kinds: [{ x402Version: 2, scheme: "exact", network: "eip155:84532" }] }),
  verify: () => Effect.succeed({ isValid: true }),
  settle: () => Effect.succeed({ success: true, transaction: "0xtx" })
})

const settings = { facilitatorUrl: "http://127.0.0.1:4021", fieldManager: "x402-verifier", allowUnknownPaths: false }

const layer = () => {
  const fake = Layer.fresh(FakeKube.layer)
  return Verifier.informer(settings).pipe(Layer.provideMerge(Layer.mergeAll(fake, facilitator)))
}

const status = (name: string) =>
  KubeClient.KubeClient.use((c) => c.get(PaymentRoute, { namespace: "sellers", name: `${name}-payment` })).pipe(
    Effect.map((r) => r.status)
  )

describe("Verifier", () => {
  it.effect("loads PaymentRoutes into the table and admits their generation", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* client.create(PaymentRoute, route("weather"))
      yield* settle
      const table = (yield* Verifier.Table).get()
      expect(Option.isSome(table.byOffer("sellers/weather"))).toBe(true)
      expect(yield* status("weather")).toEqual({ admitted: true, lastAdmittedGeneration: 1 })
    }).pipe(Effect.provide(layer()))
  )

  it.effect("rejects a route on an unsupported network with a reason, and keeps serving the others", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* client.create(PaymentRoute, route("good"))
      yield* client.create(PaymentRoute, route("bad", "eip155:1"))
      yield* settle
      expect(yield* status("bad")).toMatchObject({ admitted: false, reason: "UnsupportedNetwork" })
      expect(yield* status("good")).toEqual({ admitted: true, lastAdmittedGeneration: 1 })
      const table = (yield* Verifier.Table).get()
      expect([Option.isSome(table.byOffer("sellers/good")), Option.isSome(table.byOffer("sellers/bad"))]).toEqual([
        true,
        false
      ])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("re-admits a changed route at its new generation, and drops a deleted one", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* client.create(PaymentRoute, route("weather"))
      yield* settle
      yield* client.patch(
        PaymentRoute,
        { namespace: "sellers", name: "weather-payment" },
        { type: "merge", patch: { spec: { price: "2000" } } }
      )
      yield* settle
      expect(yield* status("weather")).toEqual({ admitted: true, lastAdmittedGeneration: 2 })
      expect(
        Option.map((yield* Verifier.Table).get().byOffer("sellers/weather"), (r) => r.value.requirement.amount)
      ).toEqual(Option.some("2000"))
      yield* client.delete(PaymentRoute, { namespace: "sellers", name: "weather-payment" })
      yield* settle
      expect(Option.isNone((yield* Verifier.Table).get().byOffer("sellers/weather"))).toBe(true)
    }).pipe(Effect.provide(layer()))
  )

  it.effect("answers ForwardAuth calls: 402 for a known offer, 503 for an unknown one, 403 for an unknown path", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* client.create(PaymentRoute, route("weather"))
      yield* settle
      const table = yield* Verifier.Table
      const routes = Verifier.routes(settings).pipe(
        Layer.provide(Layer.mergeAll(Layer.succeed(Verifier.Table, table), facilitator))
      )
      const { handler, dispose } = HttpRouter.toWebHandler(routes, { disableLogger: true })
      const call = (path: string, uri: string) =>
        Effect.promise(() =>
          handler(
            new Request(`http://verifier${path}`, {
              headers: { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "seller.example", "X-Forwarded-Uri": uri }
            })
          )
        )
      expect((yield* call("/verify/sellers/weather", "/services/weather/today")).status).toBe(402)
      expect((yield* call("/verify/sellers/unknown", "/services/unknown")).status).toBe(503)
      expect((yield* call("/verify", "/services/weather/today?x=1")).status).toBe(402)
      expect((yield* call("/verify", "/somewhere/else")).status).toBe(403)
      expect((yield* call("/verify", "/services/%zz")).status).toBe(400)
      yield* Effect.promise(dispose)
    }).pipe(Effect.provide(layer()))
  )
  it.effect("counts requests per known offer, and lumps made-up offers into one series", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* client.create(PaymentRoute, route("counted"))
      yield* settle
      const table = yield* Verifier.Table
      const routes = Verifier.routes(settings).pipe(
        Layer.provide(Layer.mergeAll(Layer.succeed(Verifier.Table, table), facilitator))
      )
      const { handler, dispose } = HttpRouter.toWebHandler(routes, { disableLogger: true })
      const call = (path: string) => Effect.promise(() => handler(new Request(`http://verifier${path}`)))
      for (let i = 0; i < 3; i++) yield* call("/verify/sellers/counted")
      for (let i = 0; i < 5; i++) yield* call(`/verify/sellers/made-up-${i}`)
      yield* Effect.promise(dispose)
      const series = (yield* Metric.snapshot).filter((s) => s.id === "obol_x402_verifier_requests_total")
      const count = (name: string) =>
        series
          .filter((s) => s.attributes?.["offer_name"] === name)
          .map((s) => Number((s.state as { count: number | bigint }).count))
      expect(count("counted")).toEqual([3])
      expect(series.filter((s) => String(s.attributes?.["offer_name"]).startsWith("made-up"))).toEqual([])
      expect(count("")[0]).toBeGreaterThanOrEqual(5)
      const required = (yield* Metric.snapshot).find(
        (s) => s.id === "obol_x402_verifier_payment_required_total" && s.attributes?.["offer_name"] === "counted"
      )
      expect(Number((required?.state as { count: number | bigint } | undefined)?.count)).toBe(3)
    }).pipe(Effect.provide(layer()))
  )
})
