import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import * as ServiceOfferFixture from "@obol/api/testing/ServiceOfferFixture"
import { HTTPRoute } from "@obol/kube/builtin/HTTPRoute"
import { Middleware } from "@obol/kube/builtin/Middleware"
import { ReferenceGrant } from "@obol/kube/builtin/ReferenceGrant"
import { Service } from "@obol/kube/builtin/Service"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as EventRecorder from "@obol/controller/EventRecorder"
import * as ServiceOfferController from "@obol/serviceoffer-controller/ServiceOfferController"
import * as ServiceOfferReconciler from "@obol/serviceoffer-controller/ServiceOfferReconciler"
import * as UpstreamProbe from "@obol/serviceoffer-controller/UpstreamProbe"
import * as Idle from "@obol/controller/testing/Idle"
import * as GatewayStandIn from "@obol/kube/testing/GatewayStandIn"

const settle = Idle.quiesce

const ns = "sellers"
/** An offer in `ns` with the fixture's defaults; each test sets on it what it is about. */
const offer = (name: string) => ServiceOfferFixture.make(name, { namespace: ns })

const probes = new Map<string, { upstream?: UpstreamProbe.Result; model?: UpstreamProbe.Result }>()
const events: Array<EventRecorder.Published> = []

const layer = () =>
  Layer.mergeAll(
    Layer.fresh(FakeKube.layer),
    ServiceOfferReconciler.ReconcilerSettings.layer({ publicBaseUrl: "https://seller.example" }),
    UpstreamProbe.layerMemory(probes),
    EventRecorder.layerMemory(events)
  )

const start = Effect.gen(function* () {
  yield* ServiceOfferController.run().pipe(Effect.forkChild)
  yield* settle
})

const get = <K extends Parameters<KubeClient.Shape["get"]>[0]>(kind: K, name: string) =>
  KubeClient.KubeClient.use((c) => KubeError.ignoreNotFound(c.get(kind, { namespace: ns, name })))

const conditionsOf = (name: string) =>
  Effect.map(get(ServiceOffer, name), (o) =>
    o._tag === "Some"
      ? Object.fromEntries((o.value.status?.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]))
      : {}
  )

/** Plays the x402 verifier: admits the PaymentRoute's current generation. */
const admit = (name: string) =>
  Effect.gen(function* () {
    const client = yield* KubeClient.KubeClient
    const route = yield* client.get(PaymentRoute, { namespace: ns, name: `${name}-payment` })
    yield* client.patch(
      PaymentRoute,
      { namespace: ns, name: `${name}-payment` },
      {
        type: "merge",
        patch: { status: { admitted: true, lastAdmittedGeneration: route.metadata.generation } }
      },
      { subresource: "status" }
    )
    yield* settle
  })

/** Plays the Gateway: accepts the HTTPRoute. */
const accept = (name: string) =>
  Effect.gen(function* () {
    const client = yield* KubeClient.KubeClient
    yield* client.patch(
      HTTPRoute,
      { namespace: ns, name: `so-${name}` },
      { type: "merge", patch: { status: GatewayStandIn.acceptedStatus() } },
      { subresource: "status" }
    )
    yield* settle
  })

/**
 * The generation the offer's traffic is pinned to, checking that it pins the current route: the
 * ForwardAuth address's query (upfront) or the header the HTTPRoute sets (pay-on-success).
 */
const pinned = (name: string) =>
  Effect.gen(function* () {
    const middleware = yield* get(Middleware, `x402-${name}`)
    const route = yield* get(PaymentRoute, `${name}-payment`)
    const uid = route._tag === "Some" ? route.value.metadata.uid : "no route"
    if (middleware._tag === "Some") {
      const query = new URL(middleware.value.spec.forwardAuth?.address ?? "").searchParams
      expect(query.get("route")).toBe(uid)
      return `generation=${query.get("generation")}`
    }
    const httpRoute = yield* get(HTTPRoute, `so-${name}`)
    const header = ((httpRoute._tag === "Some" ? httpRoute.value.spec : {}) as any).rules?.[0]?.filters?.[0]
      ?.requestHeaderModifier?.set?.[0]
    expect(header?.name).toBe("x-obol-route")
    const [pinnedUid, generation] = String(header?.value).split("/")
    expect(pinnedUid).toBe(uid)
    return `generation=${generation}`
  })

const create = (fixture: ServiceOfferFixture.ServiceOfferFixture) =>
  KubeClient.KubeClient.use((c) => c.create(ServiceOffer, fixture.build())).pipe(Effect.andThen(settle))

/** The controller with the real probe, which reads the upstream's Service and slices from its caches. */
const withCachedProbe = () =>
  Layer.mergeAll(
    Layer.fresh(FakeKube.layer),
    ServiceOfferReconciler.ReconcilerSettings.layer({ publicBaseUrl: "https://seller.example" }),
    UpstreamProbe.layer,
    EventRecorder.layerMemory(events)
  )

describe("ServiceOfferController", () => {
  it.effect("reads the Service of an upstream in a namespace it does not watch from the API server", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* client.create(Service, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "weather", namespace: "llm" },
        spec: { ports: [{ name: "http", port: 8080, targetPort: 8080 }] }
      })
      yield* ServiceOfferController.run({ namespace: ns }).pipe(Effect.forkChild)
      yield* settle
      yield* create(offer("weather").upstream({ namespace: "llm" }))
      // Found (no endpoints yet), not ServiceNotFound: the watch of `sellers` alone cannot see it.
      expect(yield* conditionsOf("weather")).toMatchObject({ UpstreamHealthy: "False/NoEndpoints" })
    }).pipe(Effect.provide(withCachedProbe()), Idle.provide)
  )

  it.effect(
    "re-probes an offer when the Service it sells appears, reading Services and slices from its caches only",
    () =>
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        const fake = yield* FakeKube.FakeKube
        yield* start
        yield* create(offer("weather"))
        expect(yield* conditionsOf("weather")).toMatchObject({ UpstreamHealthy: "False/ServiceNotFound" })
        yield* fake.clearRequests
        yield* client.create(Service, {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "weather", namespace: ns },
          spec: { ports: [{ name: "http", port: 8080, targetPort: 8080 }] }
        })
        yield* settle
        // Triggered by the Service's watch event, not by the health period.
        expect(yield* conditionsOf("weather")).toMatchObject({ UpstreamHealthy: "False/NoEndpoints" })
        yield* TestClock.adjust("1 minute")
        yield* settle
        const reads = (yield* fake.requests).filter(
          (r) => (r.kind === "Service" || r.kind === "EndpointSlice") && r.verb !== "create" && r.verb !== "watch"
        )
        expect(reads).toEqual([])
      }).pipe(Effect.provide(withCachedProbe()), Idle.provide)
  )

  it.effect(
    "withholds the HTTPRoute until the verifier admits the price, then reports Ready once the Gateway accepts",
    () =>
      Effect.gen(function* () {
        yield* start
        yield* create(offer("weather"))
        expect(
          (yield* get(ServiceOffer, "weather")).pipe((o) => o._tag === "Some" && o.value.metadata.finalizers)
        ).toEqual([ServiceOfferReconciler.finalizer])
        // Pay-on-success by default: the HTTPRoute will lead to the verifier, so no ForwardAuth Middleware.
        expect((yield* get(Middleware, "x402-weather"))._tag).toBe("None")
        expect((yield* get(PaymentRoute, "weather-payment"))._tag).toBe("Some")
        expect((yield* get(HTTPRoute, "so-weather"))._tag).toBe("None")
        expect(yield* conditionsOf("weather")).toMatchObject({
          PaymentGateReady: "False/AwaitingAdmission",
          RoutePublished: "False/AwaitingPaymentGate",
          UpstreamHealthy: "True/Healthy",
          Ready: "False/AwaitingAdmission"
        })

        yield* admit("weather")
        expect((yield* get(HTTPRoute, "so-weather"))._tag).toBe("Some")
        expect(yield* conditionsOf("weather")).toMatchObject({
          PaymentGateReady: "True/Admitted",
          RoutePublished: "False/AwaitingGateway"
        })

        yield* accept("weather")
        expect(yield* conditionsOf("weather")).toMatchObject({ RoutePublished: "True/Accepted", Ready: "True/Ready" })
        const status = (yield* get(ServiceOffer, "weather")).pipe((o) =>
          o._tag === "Some" ? o.value.status : undefined
        )
        expect([status?.phase, status?.observedGeneration, status?.endpoint]).toEqual([
          "Ready",
          1,
          "https://seller.example/services/weather"
        ])
      }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect(
    "after a price change keeps Ready false until the new price is admitted, then Ready at the new generation",
    () =>
      Effect.gen(function* () {
        yield* start
        yield* create(offer("weather"))
        yield* admit("weather")
        yield* accept("weather")
        const client = yield* KubeClient.KubeClient
        yield* client.patch(
          ServiceOffer,
          { namespace: ns, name: "weather" },
          {
            type: "merge",
            patch: { spec: { payment: { price: { perRequest: "0.002" } } } }
          }
        )
        yield* settle
        expect((yield* get(PaymentRoute, "weather-payment")).pipe((o) => o._tag === "Some" && o.value.spec.price)).toBe(
          "2000"
        )
        expect(yield* conditionsOf("weather")).toMatchObject({
          PaymentGateReady: "False/AwaitingAdmission",
          Ready: "False/AwaitingAdmission"
        })
        // The route keeps serving at the previous, still admitted price meanwhile: charged, never free,
        // and the ForwardAuth address still pins generation 1, the one every verifier has admitted.
        expect((yield* get(HTTPRoute, "so-weather"))._tag).toBe("Some")
        expect(yield* pinned("weather")).toBe("generation=1")
        yield* admit("weather")
        yield* accept("weather")
        expect(yield* pinned("weather")).toBe("generation=2")
        const status = (yield* get(ServiceOffer, "weather")).pipe((o) =>
          o._tag === "Some" ? o.value.status : undefined
        )
        expect([status?.phase, status?.observedGeneration]).toEqual(["Ready", 2])
      }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("withdraws the route when the verifier rejects the changed route", () =>
    Effect.gen(function* () {
      yield* start
      yield* create(offer("weather"))
      yield* admit("weather")
      yield* accept("weather")
      const client = yield* KubeClient.KubeClient
      yield* client.patch(
        PaymentRoute,
        { namespace: ns, name: "weather-payment" },
        {
          type: "merge",
          patch: {
            status: {
              admitted: false,
              reason: "UnsupportedNetwork",
              message: "eip155:84532 is not served by the facilitator"
            }
          }
        },
        { subresource: "status" }
      )
      yield* settle
      expect((yield* get(HTTPRoute, "so-weather"))._tag).toBe("None")
      expect(yield* conditionsOf("weather")).toMatchObject({
        PaymentGateReady: "False/UnsupportedNetwork",
        RoutePublished: "False/AwaitingPaymentGate"
      })
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("withdraws the route while paused and says so", () =>
    Effect.gen(function* () {
      yield* start
      yield* create(offer("weather"))
      yield* admit("weather")
      const client = yield* KubeClient.KubeClient
      yield* client.patch(
        ServiceOffer,
        { namespace: ns, name: "weather" },
        { type: "merge", patch: { spec: { paused: true } } }
      )
      yield* settle
      expect((yield* get(HTTPRoute, "so-weather"))._tag).toBe("None")
      expect(yield* conditionsOf("weather")).toMatchObject({ RoutePublished: "False/Paused" })
      expect((yield* get(ServiceOffer, "weather")).pipe((o) => o._tag === "Some" && o.value.status?.phase)).toBe(
        "Paused"
      )
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect(
    'pauses on obol-stack\'s annotation obol.org/paused: "true" as on spec.paused, and resumes without it',
    () =>
      Effect.gen(function* () {
        yield* start
        yield* create(offer("weather"))
        yield* admit("weather")
        expect((yield* get(HTTPRoute, "so-weather"))._tag).toBe("Some")
        const client = yield* KubeClient.KubeClient
        const annotate = (value: string | null) =>
          client
            .patch(
              ServiceOffer,
              { namespace: ns, name: "weather" },
              { type: "merge", patch: { metadata: { annotations: { "obol.org/paused": value } } } }
            )
            .pipe(Effect.andThen(settle))
        yield* annotate("true")
        expect((yield* get(HTTPRoute, "so-weather"))._tag).toBe("None")
        expect(yield* conditionsOf("weather")).toMatchObject({ RoutePublished: "False/Paused" })
        expect((yield* get(ServiceOffer, "weather")).pipe((o) => o._tag === "Some" && o.value.status?.phase)).toBe(
          "Paused"
        )
        yield* annotate("false")
        expect((yield* get(HTTPRoute, "so-weather"))._tag).toBe("Some")
        yield* annotate(null)
        expect((yield* get(HTTPRoute, "so-weather"))._tag).toBe("Some")
      }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("writes the price that applies for the Price column, for every price kind", () =>
    Effect.gen(function* () {
      yield* start
      const client = yield* KubeClient.KubeClient
      yield* client.create(ServiceOffer, offer("per-request").pricedPerRequest("0.001").build())
      yield* client.create(ServiceOffer, offer("per-mtok").pricedPerMTok("1.25").build())
      yield* client.create(ServiceOffer, offer("per-hour").pricedPerHour("2").build())
      yield* settle
      const price = (name: string) =>
        get(ServiceOffer, name).pipe(Effect.map((o) => (o._tag === "Some" ? o.value.status?.price : undefined)))
      expect([yield* price("per-request"), yield* price("per-mtok"), yield* price("per-hour")]).toEqual([
        "0.001 USDC/request",
        "1.25 USDC/MTok",
        "2 USDC/hour"
      ])
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect(
    "always reports Registered: True/Disabled when registration is off, even for an offer it cannot price",
    () =>
      Effect.gen(function* () {
        yield* start
        yield* create(offer("weather"))
        expect(yield* conditionsOf("weather")).toMatchObject({ Registered: "True/Disabled" })
        yield* create(offer("cheap").pricedPerRequest("0.0000001"))
        expect(yield* conditionsOf("cheap")).toMatchObject({
          PaymentGateReady: "False/InvalidPrice",
          Registered: "True/Disabled"
        })
        yield* create(offer("agent").pricedPerRequest("0.0000001").withRegistration())
        expect(yield* conditionsOf("agent")).toMatchObject({ Registered: "False/AwaitingReady" })
      }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("releases monetize.py's finalizer once the offer is deleted (never before), so it can go", () =>
    Effect.gen(function* () {
      yield* start
      const client = yield* KubeClient.KubeClient
      yield* create(offer("weather").with({ metadata: { finalizers: ["monetize.obol.org/finalizer"] } }))
      const finalizers = () =>
        get(ServiceOffer, "weather").pipe(Effect.map((o) => (o._tag === "Some" ? o.value.metadata.finalizers : "gone")))
      expect(yield* finalizers()).toEqual(["monetize.obol.org/finalizer", ServiceOfferReconciler.finalizer])
      yield* client.delete(ServiceOffer, { namespace: ns, name: "weather" })
      yield* settle
      expect(yield* finalizers()).toBe("gone")
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("releases monetize.py's finalizer from an offer deleted before this controller ever saw it", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const legacy = offer("old").with({ metadata: { finalizers: ["monetize.obol.org/finalizer"] } })
      yield* client.create(ServiceOffer, legacy.build())
      yield* client.delete(ServiceOffer, { namespace: ns, name: "old" })
      yield* start
      expect((yield* get(ServiceOffer, "old"))._tag).toBe("None")
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("gives an overlapping path to the older offer only", () =>
    Effect.gen(function* () {
      yield* start
      yield* create(offer("first").path("/services/shared"))
      yield* TestClock.adjust("1 second")
      yield* create(offer("second").path("/services/shared/v2"))
      yield* admit("first")
      yield* admit("second")
      expect((yield* get(HTTPRoute, "so-first"))._tag).toBe("Some")
      expect((yield* get(HTTPRoute, "so-second"))._tag).toBe("None")
      expect(yield* conditionsOf("second")).toMatchObject({ RoutePublished: "False/PathConflict" })
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("restores a child deleted or edited from outside", () =>
    Effect.gen(function* () {
      yield* start
      yield* create(offer("weather").settlement("upfront"))
      const client = yield* KubeClient.KubeClient
      yield* client.delete(PaymentRoute, { namespace: ns, name: "weather-payment" })
      yield* settle
      expect((yield* get(PaymentRoute, "weather-payment"))._tag).toBe("Some")
      yield* client.patch(
        Middleware,
        { namespace: ns, name: "x402-weather" },
        {
          type: "merge",
          patch: { spec: { forwardAuth: { address: "http://attacker.example/verify" } } }
        }
      )
      yield* settle
      const middleware = yield* get(Middleware, "x402-weather")
      const recreated = yield* get(PaymentRoute, "weather-payment")
      expect(middleware._tag === "Some" && middleware.value.spec.forwardAuth?.address).toBe(
        `http://x402-verifier.x402.svc.cluster.local:8080/verify/sellers/weather?route=${
          recreated._tag === "Some" ? recreated.value.metadata.uid : "?"
        }&generation=1`
      )
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect(
    "makes no request for a steady offer: no status write, no apply of unchanged children, no DELETE of absent ones",
    () =>
      Effect.gen(function* () {
        yield* start
        yield* create(offer("weather"))
        yield* create(offer("paused").paused())
        yield* admit("weather")
        yield* admit("paused")
        yield* accept("weather")
        const fake = yield* FakeKube.FakeKube
        yield* fake.clearRequests
        yield* TestClock.adjust("1 minute") // periodic health re-probes: two passes per offer
        yield* settle
        expect((yield* fake.requests).map((r) => `${r.verb} ${r.kind} ${r.name}`)).toEqual([])
        // A change to a field the controller owns is still restored on the next pass.
        const client = yield* KubeClient.KubeClient
        yield* client.patch(
          PaymentRoute,
          { namespace: ns, name: "weather-payment" },
          { type: "merge", patch: { spec: { price: "1" } } }
        )
        yield* settle
        const route = yield* get(PaymentRoute, "weather-payment")
        expect(route._tag === "Some" && route.value.spec.price).toBe("1000")
      }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect(
    "applies a new offer's PaymentRoute before its finalizer or anything else, and once: the pass right after reads what that apply returned",
    () =>
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        const fake = yield* FakeKube.FakeKube
        for (const name of ["a", "b", "c"]) yield* client.create(ServiceOffer, offer(name).build())
        yield* fake.clearRequests
        yield* start
        const writes = (yield* fake.requests)
          .filter((r) => r.verb !== "get" && r.verb !== "list" && r.verb !== "watch")
          .map((r) => `${r.verb} ${r.kind}${r.subresource === undefined ? "" : `/${r.subresource}`} ${r.name}`)
        for (const name of ["a", "b", "c"]) {
          const own = writes.filter((w) => w.endsWith(` ${name}`) || w.includes(` ${name}-`) || w.endsWith(`.${name}`))
          // The price first, then the finalizer, and the price is not sent again.
          expect(own.slice(0, 2)).toEqual([`apply PaymentRoute ${name}-payment`, `patch ServiceOffer ${name}`])
          expect(own.filter((w) => w.startsWith("apply PaymentRoute"))).toHaveLength(1)
        }
        yield* admit("a")
        expect(yield* conditionsOf("a")).toMatchObject({ PaymentGateReady: "True/Admitted" })
      }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("reports an unhealthy upstream, with the probe's reason", () =>
    Effect.gen(function* () {
      probes.set(`${ns}/down`, {
        upstream: { healthy: false, reason: "NoEndpoints", message: "Service sellers/weather has no ready endpoints" }
      })
      yield* start
      yield* create(offer("down"))
      expect(yield* conditionsOf("down")).toMatchObject({ UpstreamHealthy: "False/NoEndpoints" })
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("refuses to route an offer it cannot price, and says why", () =>
    Effect.gen(function* () {
      yield* start
      yield* create(offer("precise").pricedPerRequest("0.0000001"))
      expect(yield* conditionsOf("precise")).toMatchObject({
        PaymentGateReady: "False/InvalidPrice",
        RoutePublished: "False/PaymentGateNotReady"
      })
      expect((yield* get(PaymentRoute, "precise-payment"))._tag).toBe("None")
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("registers only once the offer serves, and never lets registration block Ready", () =>
    Effect.gen(function* () {
      yield* start
      yield* create(offer("agent").withRegistration({ name: "Agent" }))
      expect((yield* get(RegistrationRequest, "agent-registration"))._tag).toBe("None")
      expect(yield* conditionsOf("agent")).toMatchObject({ Registered: "False/AwaitingReady" })
      yield* admit("agent")
      yield* accept("agent")
      expect((yield* get(RegistrationRequest, "agent-registration"))._tag).toBe("Some")
      expect(yield* conditionsOf("agent")).toMatchObject({ Registered: "False/Pending", Ready: "True/Ready" })

      const client = yield* KubeClient.KubeClient
      const setPhase = (status: object) =>
        client
          .patch(
            RegistrationRequest,
            { namespace: ns, name: "agent-registration" },
            { type: "merge", patch: { status } },
            { subresource: "status" }
          )
          .pipe(Effect.andThen(settle))
      const requested = (yield* get(RegistrationRequest, "agent-registration")).pipe((o) =>
        o._tag === "Some" ? o.value.spec.agentURI : undefined
      )
      expect(requested).toBe(`https://seller.example/.well-known/agent-registration.json?offer=${ns}/agent`)
      yield* setPhase({ phase: "OffChainOnly", errorMessage: "no signer configured" })
      expect(yield* conditionsOf("agent")).toMatchObject({ Registered: "True/OffChainOnly", Ready: "True/Ready" })
      yield* setPhase({ phase: "Failed", errorMessage: "insufficient funds for gas" })
      expect(yield* conditionsOf("agent")).toMatchObject({
        Registered: "False/RegistrationFailed",
        Ready: "True/Ready"
      })
      yield* setPhase({ phase: "Confirmed", agentId: "0", txHash: `0x${"ab".repeat(32)}`, errorMessage: null })
      expect(yield* conditionsOf("agent")).toMatchObject({ Registered: "True/Confirmed" })
      const status = (yield* get(ServiceOffer, "agent")).pipe((o) => (o._tag === "Some" ? o.value.status : undefined))
      expect([status?.agentId, status?.registrationTxHash]).toEqual(["0", `0x${"ab".repeat(32)}`])
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("requires ModelReady for inference offers", () =>
    Effect.gen(function* () {
      probes.set(`${ns}/llm`, {
        model: { healthy: false, reason: "ModelMissing", message: "ollama does not list qwen" }
      })
      yield* start
      yield* create(offer("llm").inference({ name: "qwen", runtime: "ollama" }))
      yield* admit("llm")
      yield* accept("llm")
      expect(yield* conditionsOf("llm")).toMatchObject({
        ModelReady: "False/ModelMissing",
        Ready: "False/ModelMissing"
      })
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("reconciles 100 offers at once without mixing them up", () =>
    Effect.gen(function* () {
      yield* start
      const client = yield* KubeClient.KubeClient
      for (let i = 0; i < 100; i++) {
        yield* client.create(
          ServiceOffer,
          offer(`o${i}`)
            .path(`/services/o${i}`)
            .pricedPerRequest(`0.${String(i + 1).padStart(3, "0")}`)
            .build()
        )
      }
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* settle
      for (let i = 0; i < 100; i++) {
        const route = yield* get(PaymentRoute, `o${i}-payment`)
        expect(
          route._tag === "Some" && [route.value.spec.offer.name, route.value.spec.pattern, route.value.spec.price]
        ).toEqual([`o${i}`, `/services/o${i}/*`, String((i + 1) * 1000)])
      }
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("reports the Gateway's refusal of the route with its reason", () =>
    Effect.gen(function* () {
      yield* start
      yield* create(offer("weather"))
      yield* admit("weather")
      const client = yield* KubeClient.KubeClient
      yield* client.patch(
        HTTPRoute,
        { namespace: ns, name: "so-weather" },
        {
          type: "merge",
          patch: {
            status: {
              parents: [
                {
                  parentRef: { namespace: "traefik", name: "traefik-gateway", sectionName: "web" },
                  controllerName: "traefik.io/gateway-controller",
                  conditions: [
                    {
                      type: "Accepted",
                      status: "True",
                      reason: "Accepted",
                      message: "",
                      lastTransitionTime: "2026-11-27T00:00:00Z"
                    },
                    {
                      type: "ResolvedRefs",
                      status: "False",
                      reason: "RefNotPermitted",
                      message: "backendRef to another namespace needs a ReferenceGrant",
                      lastTransitionTime: "2026-11-27T00:00:00Z"
                    }
                  ]
                }
              ]
            }
          }
        },
        { subresource: "status" }
      )
      yield* settle
      expect(yield* conditionsOf("weather")).toMatchObject({
        RoutePublished: "False/RefNotPermitted",
        Ready: "False/RefNotPermitted"
      })
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("waits for the registrar's tombstone on delete, and gives up after the bound with a Warning Event", () =>
    Effect.gen(function* () {
      yield* start
      yield* create(offer("agent").withRegistration({ name: "Agent" }))
      yield* admit("agent")
      yield* accept("agent")
      const client = yield* KubeClient.KubeClient
      // Play the registrar: it holds its own finalizer on the request and never releases it.
      yield* client.patch(
        RegistrationRequest,
        { namespace: ns, name: "agent-registration" },
        { type: "merge", patch: { metadata: { finalizers: ["obol.org/registrar-tombstone"] } } }
      )
      yield* client.delete(ServiceOffer, { namespace: ns, name: "agent" })
      yield* settle
      expect((yield* get(HTTPRoute, "so-agent"))._tag).toBe("None")
      expect((yield* get(ServiceOffer, "agent"))._tag).toBe("Some")
      yield* TestClock.adjust("1 minute")
      yield* settle
      expect((yield* get(ServiceOffer, "agent"))._tag).toBe("Some")
      yield* TestClock.adjust("70 seconds")
      yield* settle
      expect((yield* get(ServiceOffer, "agent"))._tag).toBe("None")
      expect(events.filter((e) => e.reason === "TombstoneTimeout").map((e) => e.regarding.name)).toEqual(["agent"])
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("on delete withdraws the route, deletes the registration, then releases the finalizer", () =>
    Effect.gen(function* () {
      yield* start
      yield* create(offer("weather").withRegistration({ name: "Weather" }))
      yield* admit("weather")
      yield* accept("weather")
      expect((yield* get(RegistrationRequest, "weather-registration"))._tag).toBe("Some")
      const fake = yield* FakeKube.FakeKube
      yield* fake.clearRequests
      yield* KubeClient.KubeClient.use((c) => c.delete(ServiceOffer, { namespace: ns, name: "weather" }))
      yield* settle
      const deletes = (yield* fake.requests)
        .filter((r) => r.verb === "delete" || (r.verb === "patch" && r.kind === "ServiceOffer"))
        .map((r) => `${r.verb} ${r.kind}`)
      expect(deletes).toEqual([
        "delete ServiceOffer",
        "delete HTTPRoute",
        // Pay-on-success in another namespace than the verifier's: its grant there goes too.
        "delete ReferenceGrant",
        "delete RegistrationRequest",
        "patch ServiceOffer"
      ])
      expect((yield* get(ServiceOffer, "weather"))._tag).toBe("None")
      expect((yield* get(PaymentRoute, "weather-payment"))._tag).toBe("None")
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect(
    "pay-on-success: routes through the verifier's Service with the route pinned, grants it across namespaces, no ForwardAuth; back to upfront and delete clean up",
    () =>
      Effect.gen(function* () {
        yield* start
        yield* create(offer("weather").settlement("onSuccess"))
        const route = yield* get(PaymentRoute, "weather-payment")
        expect(route._tag === "Some" && route.value.spec).toMatchObject({
          settlement: "onSuccess",
          upstream: { service: "weather", namespace: ns, port: 8080 }
        })
        expect((yield* get(Middleware, "x402-weather"))._tag).toBe("None")
        const grant = yield* KubeClient.KubeClient.use((c) =>
          KubeError.ignoreNotFound(c.get(ReferenceGrant, { namespace: "x402", name: "so-sellers.weather" }))
        )
        expect(grant._tag === "Some" && grant.value.spec).toEqual({
          from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: ns }],
          to: [{ group: "", kind: "Service", name: "x402-verifier" }]
        })
        expect((yield* get(HTTPRoute, "so-weather"))._tag).toBe("None")

        yield* admit("weather")
        const published = yield* get(HTTPRoute, "so-weather")
        const rule = published._tag === "Some" ? published.value.spec.rules?.[0] : undefined
        expect(rule?.backendRefs).toEqual([{ name: "x402-verifier", namespace: "x402", port: 8080 }])
        const uid = route._tag === "Some" ? route.value.metadata.uid : "?"
        expect(rule?.filters).toEqual([
          {
            type: "RequestHeaderModifier",
            requestHeaderModifier: { set: [{ name: "x-obol-route", value: `${uid}/1` }] }
          }
        ])

        // Back to ForwardAuth: the Middleware returns and the grant goes.
        yield* KubeClient.KubeClient.use((c) =>
          c.patch(
            ServiceOffer,
            { namespace: ns, name: "weather" },
            { type: "merge", patch: { spec: { payment: { settlement: "upfront" } } } }
          )
        )
        yield* settle
        yield* admit("weather")
        expect((yield* get(Middleware, "x402-weather"))._tag).toBe("Some")
        // Fields the controller stopped setting are gone from the route (an apply, not a skipped one).
        const upfrontRoute = yield* get(PaymentRoute, "weather-payment")
        expect(
          upfrontRoute._tag === "Some" && [upfrontRoute.value.spec.settlement, upfrontRoute.value.spec.upstream]
        ).toEqual([undefined, undefined])
        const gone = yield* KubeClient.KubeClient.use((c) =>
          KubeError.ignoreNotFound(c.get(ReferenceGrant, { namespace: "x402", name: "so-sellers.weather" }))
        )
        expect(gone._tag).toBe("None")
      }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect(
    "upfront to another namespace's Service: grants it there, moves the grant with the mode, and removes it on delete",
    () =>
      Effect.gen(function* () {
        yield* start
        const client = yield* KubeClient.KubeClient
        const grantIn = (namespace: string) =>
          KubeError.ignoreNotFound(client.get(ReferenceGrant, { namespace, name: "so-sellers.weather" }))
        yield* create(offer("weather").settlement("upfront").upstream({ namespace: "llm" }))
        const grant = yield* grantIn("llm")
        expect(grant._tag === "Some" && grant.value.spec).toEqual({
          from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: ns }],
          to: [{ group: "", kind: "Service", name: "weather" }]
        })
        expect((yield* grantIn("x402"))._tag).toBe("None")
        yield* admit("weather")
        const published = yield* get(HTTPRoute, "so-weather")
        expect(published._tag === "Some" && published.value.spec.rules?.[0]?.backendRefs).toEqual([
          { name: "weather", namespace: "llm", port: 8080 }
        ])

        // Pay-on-success: the verifier reaches llm itself; its own Service is granted instead.
        yield* client.patch(
          ServiceOffer,
          { namespace: ns, name: "weather" },
          { type: "merge", patch: { spec: { payment: { settlement: "onSuccess" } } } }
        )
        yield* settle
        expect([(yield* grantIn("llm"))._tag, (yield* grantIn("x402"))._tag]).toEqual(["None", "Some"])

        // A grant deleted from outside comes back (the grants are watched by label).
        yield* client.delete(ReferenceGrant, { namespace: "x402", name: "so-sellers.weather" })
        yield* settle
        expect((yield* grantIn("x402"))._tag).toBe("Some")

        yield* client.delete(ServiceOffer, { namespace: ns, name: "weather" })
        yield* settle
        expect((yield* get(ServiceOffer, "weather"))._tag).toBe("None")
        expect([(yield* grantIn("llm"))._tag, (yield* grantIn("x402"))._tag]).toEqual(["None", "None"])
      }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect(
    "an offer that can no longer be priced keeps nothing that serves: no HTTPRoute, no PaymentRoute, no grant; all back once fixed",
    () =>
      Effect.gen(function* () {
        yield* start
        const client = yield* KubeClient.KubeClient
        yield* create(offer("weather").settlement("upfront").upstream({ namespace: "llm" }))
        yield* admit("weather")
        const present = Effect.gen(function* () {
          const grant = yield* KubeError.ignoreNotFound(
            client.get(ReferenceGrant, { namespace: "llm", name: "so-sellers.weather" })
          )
          return [
            (yield* get(HTTPRoute, "so-weather"))._tag,
            (yield* get(PaymentRoute, "weather-payment"))._tag,
            grant._tag
          ]
        })
        expect(yield* present).toEqual(["Some", "Some", "Some"])
        const price = (perRequest: string) =>
          client
            .patch(
              ServiceOffer,
              { namespace: ns, name: "weather" },
              { type: "merge", patch: { spec: { payment: { price: { perRequest } } } } }
            )
            .pipe(Effect.andThen(settle))
        yield* price("0")
        expect(yield* conditionsOf("weather")).toMatchObject({ PaymentGateReady: "False/InvalidPrice" })
        expect(yield* present).toEqual(["None", "None", "None"])
        yield* price("0.002")
        yield* admit("weather")
        expect(yield* present).toEqual(["Some", "Some", "Some"])
      }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("refuses to sell a Service of a namespace UPSTREAM_NAMESPACES does not allow, and grants nothing", () =>
    Effect.gen(function* () {
      yield* start
      yield* create(offer("weather").settlement("upfront").upstream({ namespace: "kube-system" }))
      expect(yield* conditionsOf("weather")).toMatchObject({
        PaymentGateReady: "False/UpstreamNamespaceNotAllowed",
        Ready: "False/UpstreamNamespaceNotAllowed"
      })
      expect((yield* get(PaymentRoute, "weather-payment"))._tag).toBe("None")
      const grants = yield* KubeClient.KubeClient.use((c) => c.list(ReferenceGrant, {}))
      expect(grants.items).toEqual([])
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect(
    "pay-on-success: a grant the API server refuses (no verifier namespace) withholds the route and says what to fix",
    () =>
      Effect.gen(function* () {
        const fake = yield* FakeKube.FakeKube
        yield* fake.failNext("apply", {
          error: new KubeError.KubeError({
            reason: "NotFound",
            code: 404,
            message: 'namespaces "x402" not found',
            request: "PATCH referencegrants"
          }),
          times: 1_000,
          when: (request) => request.kind === "ReferenceGrant"
        })
        yield* start
        yield* create(offer("weather"))
        yield* admit("weather")
        yield* accept("weather").pipe(Effect.ignore)
        expect((yield* get(HTTPRoute, "so-weather"))._tag).toBe("None")
        expect(yield* conditionsOf("weather")).toMatchObject({
          PaymentGateReady: "True/Admitted",
          RoutePublished: "False/RefNotGranted",
          Ready: "False/RefNotGranted"
        })
        const offerNow = yield* get(ServiceOffer, "weather")
        const message = (offerNow._tag === "Some" ? offerNow.value.status?.conditions : [])?.find(
          (c) => c.type === "RoutePublished"
        )?.message
        expect(message).toContain('namespaces "x402" not found')
        expect(message).toContain("is the x402-verifier installed there")
      }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("pay-on-success: deleting the offer removes its grant in the verifier's namespace", () =>
    Effect.gen(function* () {
      yield* start
      yield* create(offer("weather").settlement("onSuccess"))
      yield* admit("weather")
      const grantRef = { namespace: "x402", name: "so-sellers.weather" }
      expect(
        (yield* KubeClient.KubeClient.use((c) => KubeError.ignoreNotFound(c.get(ReferenceGrant, grantRef))))._tag
      ).toBe("Some")
      yield* KubeClient.KubeClient.use((c) => c.delete(ServiceOffer, { namespace: ns, name: "weather" }))
      yield* settle
      expect((yield* get(ServiceOffer, "weather"))._tag).toBe("None")
      expect(
        (yield* KubeClient.KubeClient.use((c) => KubeError.ignoreNotFound(c.get(ReferenceGrant, grantRef))))._tag
      ).toBe("None")
    }).pipe(Effect.provide(layer()), Idle.provide)
  )
})
