import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import * as CustomResource from "@obol/api/CustomResource"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import * as ServiceOfferFixture from "@obol/api/testing/ServiceOfferFixture"
import * as KubeClient from "@obol/kube/KubeClient"
import * as FakeKube from "@obol/kube/testing/FakeKube"

const weather = ServiceOfferFixture.make("weather", { namespace: "sellers" })
const address = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"

/** Every modifier once, each with the part of the manifest it must have set. */
const modifiers: ReadonlyArray<
  readonly [string, (f: ServiceOfferFixture.ServiceOfferFixture) => ServiceOfferFixture.ServiceOfferFixture, object]
> = [
  ["paused()", (f) => f.paused(), { spec: { paused: true } }],
  ["paused(false)", (f) => f.paused(false), { spec: { paused: false } }],
  ["withRegistration()", (f) => f.withRegistration(), { spec: { registration: { enabled: true } } }],
  [
    "withRegistration(opts)",
    (f) => f.withRegistration({ name: "Weather", skills: ["weather/forecast"] }),
    { spec: { registration: { enabled: true, name: "Weather", skills: ["weather/forecast"] } } }
  ],
  ["pricedPerRequest", (f) => f.pricedPerRequest("0.002"), { spec: { payment: { price: { perRequest: "0.002" } } } }],
  ["pricedPerMTok", (f) => f.pricedPerMTok("1.25"), { spec: { payment: { price: { perMTok: "1.25" } } } }],
  ["pricedPerHour", (f) => f.pricedPerHour("2"), { spec: { payment: { price: { perHour: "2" } } } }],
  [
    "inference()",
    (f) => f.inference(),
    { spec: { type: "inference", model: { name: "qwen3.5:35b", runtime: "ollama" } } }
  ],
  [
    "upstream",
    (f) => f.upstream({ service: "litellm", namespace: "llm", port: 4000 }),
    { spec: { upstream: { service: "litellm", namespace: "llm", port: 4000 } } }
  ],
  ["path", (f) => f.path("/x"), { spec: { path: "/x" } }],
  ["settlement", (f) => f.settlement("upfront"), { spec: { payment: { settlement: "upfront" } } }],
  ["payTo", (f) => f.payTo(address), { spec: { payment: { payTo: address } } }],
  ["network", (f) => f.network("base"), { spec: { payment: { network: "base" } } }],
  [
    "ready()",
    (f) => f.ready(),
    {
      status: { conditions: [{ type: "Ready", status: "True", lastTransitionTime: ServiceOfferFixture.conditionTime }] }
    }
  ],
  ["ready(false)", (f) => f.ready(false), { status: { conditions: [{ type: "Ready", status: "False" }] } }],
  [
    "with",
    (f) => f.with({ metadata: { finalizers: ["monetize.obol.org/finalizer"] }, spec: { provenance: { a: "b" } } }),
    { metadata: { finalizers: ["monetize.obol.org/finalizer"] }, spec: { provenance: { a: "b" } } }
  ]
]

describe("ServiceOfferFixture", () => {
  it("builds by default the smallest valid offer: http, the offer's own Service on 8080, 0.001 per request", () => {
    expect(weather.build()).toEqual({
      apiVersion: "obol.org/v1alpha1",
      kind: "ServiceOffer",
      metadata: { name: "weather", namespace: "sellers" },
      spec: {
        upstream: { service: "weather", port: 8080 },
        payment: {
          network: ServiceOfferFixture.defaultNetwork,
          payTo: ServiceOfferFixture.defaultPayTo,
          price: { perRequest: "0.001" }
        }
      }
    })
    expect(ServiceOfferFixture.make("a").namespace).toBe("default")
  })

  it("decodes its defaults with the ServiceOffer Schema, strictly, CEL twins included", () => {
    const decoded = CustomResource.decodeResult(ServiceOffer, weather.build(), { strict: true })
    expect(Result.isSuccess(decoded) ? decoded.success.spec : decoded.failure.message).toMatchObject({
      type: "http",
      upstream: { service: "weather", port: 8080, healthPath: "/health" },
      payment: { scheme: "exact", maxTimeoutSeconds: 300, settlement: "onSuccess" },
      paused: false
    })
    expect(weather.decoded()).toEqual(Result.getOrThrow(CustomResource.decodeResult(ServiceOffer, weather.build())))
  })

  it.each(modifiers)("%s sets what it says, and the offer still decodes", (_, modify, expected) => {
    const built = modify(weather).build()
    expect(built).toMatchObject(expected)
    expect(Result.isSuccess(CustomResource.decodeResult(ServiceOffer, built, { strict: true }))).toBe(true)
  })

  it("replaces the price: the default per-request price does not stay beside another", () => {
    expect(weather.pricedPerMTok("1.25").build().spec.payment.price).toEqual({ perMTok: "1.25" })
    expect(weather.pricedPerMTok("1.25").decoded().spec.payment.price).toEqual({ perMTok: "1.25" })
  })

  it("keeps the upstream fields upstream() is not given, and the other Ready-less conditions ready() finds", () => {
    expect(weather.upstream({ namespace: "llm" }).build().spec.upstream).toEqual({
      service: "weather",
      namespace: "llm",
      port: 8080
    })
    const other = { type: "Other", status: "True" as const, reason: "R", message: "", lastTransitionTime: "x" }
    const conditions = weather
      .with({ status: { conditions: [other] } })
      .ready()
      .ready(false)
      .build().status?.conditions
    expect(conditions?.map((c) => `${c.type}/${c.status}`)).toEqual(["Other/True", "Ready/False"])
  })

  it("merges with() as a JSON merge patch: null removes a field, arrays replace", () => {
    const broken = weather.with({ spec: { payment: { price: null } } }).build()
    expect(broken.spec.payment).not.toHaveProperty("price")
    expect(() => weather.with({ spec: { payment: { price: null } } }).decoded()).toThrow(/price/u)
    const twice = weather.with({ metadata: { finalizers: ["a", "b"] } }).with({ metadata: { finalizers: ["c"] } })
    expect(twice.build().metadata.finalizers).toEqual(["c"])
  })

  it("returns a fresh deep copy from every build() and decoded()", () => {
    const first = weather.withRegistration({ skills: ["s"] }).build()
    const second = weather.withRegistration({ skills: ["s"] }).build()
    expect(first).toEqual(second)
    ;(first.spec.payment.price as { perRequest?: string }).perRequest = "9"
    ;(first.spec.registration!.skills as Array<string>).push("t")
    expect(second.spec.payment.price).toEqual({ perRequest: "0.001" })
    expect(weather.build().spec.payment.price).toEqual({ perRequest: "0.001" })
    const built = weather.build()
    expect(built).not.toBe(weather.build())
    expect(built.spec).not.toBe(weather.build().spec)
    expect(weather.decoded()).not.toBe(weather.decoded())
  })

  it("is immutable: every modifier returns a new builder and leaves the old one as it was", () => {
    const before = weather.build()
    for (const [, modify] of modifiers) {
      const next = modify(weather)
      expect(next).not.toBe(weather)
      expect(weather.build()).toEqual(before)
    }
    const paused = weather.paused()
    expect(paused.paused(false).build().spec.paused).toBe(false)
    expect(paused.build().spec.paused).toBe(true)
  })

  it.effect("builds what the (fake) API server accepts, for every modifier", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      for (const [i, [, modify]] of modifiers.entries()) {
        const created = yield* client.create(ServiceOffer, modify(ServiceOfferFixture.make(`o${i}`)).build())
        expect(created.metadata.name).toBe(`o${i}`)
      }
    }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
  )
})
