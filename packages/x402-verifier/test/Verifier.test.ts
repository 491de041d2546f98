import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric, Option } from "effect"
import { HttpRouter } from "effect/http"
import { TestClock } from "effect/testing"
import { decodePaymentRequiredHeader } from "@x402/core/http"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import * as Health from "@obol/controller/Health"
import { Secret } from "@obol/kube/builtin/Secret"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as Fixtures from "@obol/test-envs/Fixtures"
import * as Facilitator from "@obol/x402/Facilitator"
import * as Credentials from "@obol/x402-verifier/Credentials"
import * as Verifier from "@obol/x402-verifier/Verifier"
import * as Idle from "@obol/controller/testing/Idle"

const settle = Idle.quiesce

const seller = Fixtures.sellerAddress
const attacker = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"

const offerManifest = Fixtures.serviceOffer

type RouteOptions = Omit<Fixtures.RouteOptions, "owner"> & { readonly owner?: Fixtures.RouteOptions["owner"] | "none" }

const routeManifest = (namespace: string, offer: string, options: RouteOptions = {}) => {
  const { owner, ...rest } = options
  return Fixtures.paymentRoute(
    namespace,
    offer,
    owner === "none" ? rest : { ...rest, ...(owner === undefined ? {} : { owner }) }
  )
}

/** Plays the seller and the controller: a ServiceOffer and the PaymentRoute it owns. */
const sell = (namespace: string, name: string, options: Omit<RouteOptions, "owner"> = {}) =>
  Effect.gen(function* () {
    const client = yield* KubeClient.KubeClient
    const offer = yield* client.create(ServiceOffer, offerManifest(namespace, name))
    const route = yield* client.create(
      PaymentRoute,
      routeManifest(namespace, name, { ...options, owner: { name, uid: offer.metadata.uid ?? "" } })
    )
    return { offer, route }
  })

const facilitator = Facilitator.layerMemory({
  supported: Effect.succeed({ kinds: [{ x402Version: 2, scheme: "exact", network: "eip155:84532" }] }),
  verify: () => Effect.succeed({ isValid: true }),
  settle: () => Effect.succeed({ success: true, transaction: "0xtx" })
})

const settings = { facilitatorUrl: "http://127.0.0.1:4021", fieldManager: "x402-verifier", allowUnknownPaths: false }

const layer = () => {
  const fake = Layer.fresh(FakeKube.layer)
  return Verifier.informer(settings).pipe(Layer.provideMerge(Layer.mergeAll(fake, facilitator, Health.Health.layer)))
}

const status = (namespace: string, name: string) =>
  KubeClient.KubeClient.use((c) => c.get(PaymentRoute, { namespace, name })).pipe(Effect.map((r) => r.status))

/** What the table serves for an offer identity and for a path: the route key, payTo and amount. */
const served = Effect.fnUntraced(function* (identity: string, path: string) {
  const table = (yield* Verifier.Table).get()
  const summary = (route: Option.Option<{ key: string; value: { requirement: { payTo: string; amount: string } } }>) =>
    Option.getOrUndefined(
      Option.map(route, (r) => ({ key: r.key, payTo: r.value.requirement.payTo, amount: r.value.requirement.amount }))
    )
  return { byOffer: summary(table.byOffer(identity)), byPath: summary(table.match(path)) }
})

/** An in-memory ForwardAuth endpoint over the current table. */
const endpoint = Effect.gen(function* () {
  const table = yield* Verifier.Table
  const { handler, dispose } = HttpRouter.toWebHandler(
    Verifier.routes(settings).pipe(Layer.provide(Layer.mergeAll(Layer.succeed(Verifier.Table, table), facilitator))),
    { disableLogger: true }
  )
  yield* Effect.addFinalizer(() => Effect.promise(dispose))
  return (path: string, uri = "/services/weather/today") =>
    Effect.promise(async () => {
      const res = await handler(
        new Request(`http://verifier${path}`, {
          headers: { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "seller.example", "X-Forwarded-Uri": uri }
        })
      )
      const header = res.headers.get("PAYMENT-REQUIRED")
      return {
        status: res.status,
        amount: header === null ? undefined : decodePaymentRequiredHeader(header).accepts[0]?.amount,
        body: await res.text()
      }
    })
})

/** The hijack: a route in namespace `attacker` naming the victim's offer, its uid and a cheaper price. */
const hijack = (victimUid: string) =>
  KubeClient.KubeClient.use((client) =>
    client.create(
      PaymentRoute,
      routeManifest("attacker", "api", {
        offerRef: { namespace: "victim", name: "api" },
        owner: { name: "api", uid: victimUid },
        payTo: attacker,
        price: "1"
      })
    )
  )
/** What the victim's offer is served with, and what the hijacker's status says. */
const victimUnchanged = () =>
  Effect.gen(function* () {
    expect(yield* served("victim/api", "/services/api/v1/chat")).toEqual({
      byOffer: { key: "victim/api-payment", payTo: seller, amount: "250000" },
      byPath: { key: "victim/api-payment", payTo: seller, amount: "250000" }
    })
    expect(yield* status("victim", "api-payment")).toEqual({ admitted: true, lastAdmittedGeneration: 1 })
    expect(yield* status("attacker", "api-payment")).toEqual({
      admitted: false,
      reason: "NotOwnedByOffer",
      message:
        "ServiceOffer attacker/api does not exist; a PaymentRoute prices only a ServiceOffer in its own namespace"
    })
    expect(Option.isNone((yield* Verifier.Table).get().byOffer("attacker/api"))).toBe(true)
  })

describe("Verifier", () => {
  it.effect(
    "admits a route that sends its upstream a credential only once the Secret is readable, and says why not before",
    () =>
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        yield* sell("sellers", "llm", {
          settlement: "onSuccess",
          upstream: {
            service: "litellm",
            namespace: "llm",
            port: 4000,
            authorization: { secretKeyRef: { name: "litellm-secrets", key: "LITELLM_MASTER_KEY" }, scheme: "Bearer" }
          }
        })
        yield* settle
        expect(yield* status("sellers", "llm-payment")).toEqual({
          admitted: false,
          reason: "UpstreamSecretMissing",
          message:
            "Secret sellers/litellm-secrets does not exist; until then the offer's requests are refused, never charged (spec.upstream.authorization)"
        })
        expect((yield* Verifier.Table).get().size).toBe(0)
        yield* client.create(Secret, {
          apiVersion: "v1",
          kind: "Secret",
          metadata: {
            name: "litellm-secrets",
            namespace: "sellers",
            annotations: { "obol.org/upstream-auth-offers": "llm" }
          },
          data: { LITELLM_MASTER_KEY: Buffer.from("sk-1").toString("base64") }
        })
        yield* settle
        expect(yield* status("sellers", "llm-payment")).toEqual({ admitted: true, lastAdmittedGeneration: 1 })
        // The key never reaches the route's status or anything the verifier writes.
        const writes = (yield* (yield* FakeKube.FakeKube).requests).filter(
          (r) => r.kind !== "Secret" && r.body !== undefined
        )
        expect(writes.length).toBeGreaterThan(0)
        expect(JSON.stringify(writes)).not.toMatch(/sk-1|c2stMQ/u)
      }).pipe(
        Effect.provide(
          Verifier.informer(settings).pipe(
            Layer.provideMerge(Credentials.layer),
            Layer.provideMerge(Layer.mergeAll(Layer.fresh(FakeKube.layer), facilitator, Health.Health.layer))
          )
        ),
        Idle.provide
      )
  )

  it.effect("loads the PaymentRoutes their ServiceOffers own into the table and admits their generation", () =>
    Effect.gen(function* () {
      yield* sell("sellers", "weather")
      yield* settle
      expect(yield* served("sellers/weather", "/services/weather/today")).toEqual({
        byOffer: { key: "sellers/weather-payment", payTo: seller, amount: "1000" },
        byPath: { key: "sellers/weather-payment", payTo: seller, amount: "1000" }
      })
      expect(yield* status("sellers", "weather-payment")).toEqual({ admitted: true, lastAdmittedGeneration: 1 })
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  describe("a PaymentRoute in another namespace naming the victim's offer (the hijack)", () => {
    it.effect(
      "created after the victim's: rejected with its reason; the victim's payTo, amount and path unchanged",
      () =>
        Effect.gen(function* () {
          const { offer } = yield* sell("victim", "api", { price: "250000" })
          yield* settle
          yield* hijack(offer.metadata.uid ?? "")
          yield* settle
          yield* victimUnchanged()
        }).pipe(Effect.provide(layer()), Idle.provide)
    )

    it.effect("created before the victim's route: rejected all the same, and the victim's route is served", () =>
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        const offer = yield* client.create(ServiceOffer, offerManifest("victim", "api"))
        yield* hijack(offer.metadata.uid ?? "")
        yield* settle
        yield* client.create(
          PaymentRoute,
          routeManifest("victim", "api", { price: "250000", owner: { name: "api", uid: offer.metadata.uid ?? "" } })
        )
        yield* settle
        yield* victimUnchanged()
      }).pipe(Effect.provide(layer()), Idle.provide)
    )
  })

  it.effect("rejects a route without a controller ownerReference, or owned by an offer that was deleted", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* client.create(PaymentRoute, routeManifest("sellers", "orphan", { owner: "none" }))
      const old = yield* client.create(ServiceOffer, offerManifest("sellers", "reborn"))
      yield* client.delete(ServiceOffer, { namespace: "sellers", name: "reborn" })
      yield* client.create(ServiceOffer, offerManifest("sellers", "reborn"))
      yield* client.create(
        PaymentRoute,
        routeManifest("sellers", "reborn", { owner: { name: "reborn", uid: old.metadata.uid ?? "" } })
      )
      yield* settle
      expect(yield* status("sellers", "orphan-payment")).toMatchObject({
        admitted: false,
        reason: "NotOwnedByOffer",
        message: expect.stringContaining("no controller ownerReference")
      })
      expect(yield* status("sellers", "reborn-payment")).toMatchObject({
        admitted: false,
        reason: "NotOwnedByOffer",
        message: expect.stringContaining(`uid ${old.metadata.uid}, but that offer's uid is`)
      })
      const table = (yield* Verifier.Table).get()
      expect(table.size).toBe(0)
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("gives overlapping paths to the older offer across namespaces; the loser's status names the winner", () =>
    Effect.gen(function* () {
      yield* sell("first", "api", { price: "5000" })
      yield* TestClock.adjust("2 seconds")
      yield* sell("second", "api", { pattern: "/services/api/v1/*", payTo: attacker, price: "1" })
      yield* sell("second", "apiary")
      yield* settle
      expect(yield* status("second", "api-payment")).toEqual({
        admitted: false,
        reason: "PathConflict",
        message:
          "pattern /services/api/v1/* overlaps /services/api/* of PaymentRoute first/api-payment (ServiceOffer first/api, the older offer keeps the path)"
      })
      expect(yield* status("second", "apiary-payment")).toEqual({ admitted: true, lastAdmittedGeneration: 1 })
      expect(yield* served("second/api", "/services/api/v1/chat")).toEqual({
        byOffer: undefined,
        byPath: { key: "first/api-payment", payTo: seller, amount: "5000" }
      })
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("serves one route per offer: the one the controller names for it wins over a second claim", () =>
    Effect.gen(function* () {
      const { offer } = yield* sell("sellers", "weather", { price: "1000" })
      yield* KubeClient.KubeClient.use((client) =>
        client.create(
          PaymentRoute,
          routeManifest("sellers", "weather", {
            name: "aaa-cheaper",
            price: "1",
            owner: { name: "weather", uid: offer.metadata.uid ?? "" }
          })
        )
      )
      yield* settle
      expect(yield* status("sellers", "aaa-cheaper")).toEqual({
        admitted: false,
        reason: "DuplicateOfferRoute",
        message:
          "ServiceOffer sellers/weather is priced by PaymentRoute weather-payment; an offer has one PaymentRoute (delete this one)"
      })
      expect((yield* served("sellers/weather", "/services/weather/x")).byOffer).toEqual({
        key: "sellers/weather-payment",
        payTo: seller,
        amount: "1000"
      })
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("neither serves nor rejects a route whose offer its cache has not seen, until the offer arrives", () =>
    Effect.gen(function* () {
      const fake = yield* FakeKube.FakeKube
      yield* settle
      // The ServiceOffer watch drops; it comes back after its backoff (1 second on the test clock).
      yield* fake.failNext("watch", {
        error: new KubeError.KubeError({ reason: "ServerError", code: 503, message: "etcd is busy" }),
        when: (request) => request.kind === "ServiceOffer"
      })
      yield* fake.closeWatches
      yield* settle
      yield* sell("sellers", "late")
      yield* settle
      expect(yield* status("sellers", "late-payment")).toBeUndefined()
      expect(Option.isNone((yield* Verifier.Table).get().byOffer("sellers/late"))).toBe(true)
      const reads = (yield* fake.requests).filter((r) => r.verb === "get" && r.kind === "ServiceOffer")
      expect(reads.map((r) => `${r.namespace}/${r.name}`)).toEqual(["sellers/late"])
      yield* TestClock.adjust("2 seconds")
      yield* settle
      expect(yield* status("sellers", "late-payment")).toEqual({ admitted: true, lastAdmittedGeneration: 1 })
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect(
    "writes admission with the resourceVersion it decided on, so a replica that is behind cannot overwrite it",
    () =>
      Effect.gen(function* () {
        const fake = yield* FakeKube.FakeKube
        const { route } = yield* sell("sellers", "weather")
        yield* settle
        const writes = (yield* fake.requests).filter((r) => r.verb === "applyStatus")
        expect(
          writes.map((w) => (w.body as { metadata: { resourceVersion?: string } }).metadata.resourceVersion)
        ).toEqual([route.metadata.resourceVersion])
      }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("keeps /readyz false while ServiceOffers may not be listed, saying so", () =>
    Effect.gen(function* () {
      const fake = yield* FakeKube.FakeKube
      const health = yield* Health.Health
      yield* fake.failNext("list", {
        times: 100,
        when: (request) => request.kind === "ServiceOffer",
        error: KubeError.fromResponse({
          code: 403,
          body: {
            kind: "Status",
            code: 403,
            reason: "Forbidden",
            message: 'serviceoffers.obol.org is forbidden: User "system:serviceaccount:x402:x402-verifier" cannot list'
          }
        })
      })
      yield* Layer.build(Verifier.informer(settings))
      yield* settle
      expect(yield* health.notReady).toEqual([
        'x402-verifier routes: list/watch of ServiceOffer is forbidden: serviceoffers.obol.org is forbidden: User "system:serviceaccount:x402:x402-verifier" cannot list'
      ])
    }).pipe(
      Effect.scoped,
      Effect.provide(Layer.mergeAll(Layer.fresh(FakeKube.layer), facilitator, Health.Health.layer)),
      Idle.provide
    )
  )

  it.effect("rejects a route on an unsupported network with a reason, and keeps serving the others", () =>
    Effect.gen(function* () {
      yield* sell("sellers", "good")
      yield* sell("sellers", "bad", { network: "eip155:1" })
      yield* settle
      expect(yield* status("sellers", "bad-payment")).toMatchObject({ admitted: false, reason: "UnsupportedNetwork" })
      expect(yield* status("sellers", "good-payment")).toEqual({ admitted: true, lastAdmittedGeneration: 1 })
      const table = (yield* Verifier.Table).get()
      expect([Option.isSome(table.byOffer("sellers/good")), Option.isSome(table.byOffer("sellers/bad"))]).toEqual([
        true,
        false
      ])
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("re-admits a changed route at its new generation, and drops a deleted one", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* sell("sellers", "weather")
      yield* settle
      yield* client.patch(
        PaymentRoute,
        { namespace: "sellers", name: "weather-payment" },
        { type: "merge", patch: { spec: { price: "2000" } } }
      )
      yield* settle
      expect(yield* status("sellers", "weather-payment")).toEqual({ admitted: true, lastAdmittedGeneration: 2 })
      expect((yield* served("sellers/weather", "/services/weather")).byOffer?.amount).toBe("2000")
      yield* client.delete(PaymentRoute, { namespace: "sellers", name: "weather-payment" })
      yield* settle
      expect(Option.isNone((yield* Verifier.Table).get().byOffer("sellers/weather"))).toBe(true)
    }).pipe(Effect.provide(layer()), Idle.provide)
  )

  it.effect("answers ForwardAuth calls: 402 for a known offer, 503 for an unknown one, 403 for an unknown path", () =>
    Effect.gen(function* () {
      yield* sell("sellers", "weather")
      yield* settle
      const call = yield* endpoint
      expect((yield* call("/verify/sellers/weather", "/services/weather/today")).status).toBe(402)
      expect((yield* call("/verify/sellers/unknown", "/services/unknown")).status).toBe(503)
      expect((yield* call("/verify", "/services/weather/today?x=1")).status).toBe(402)
      expect((yield* call("/verify", "/somewhere/else")).status).toBe(403)
      expect((yield* call("/verify", "/services/%zz")).status).toBe(400)
    }).pipe(Effect.provide(layer()), Effect.scoped, Idle.provide)
  )

  it.effect("serves a pinned address only from the pinned route at that generation or newer, else 503", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const { route } = yield* sell("sellers", "weather", { price: "1000" })
      const uid = route.metadata.uid ?? ""
      yield* settle
      const call = yield* endpoint
      const pinned = (generation: string, routeUid = uid) =>
        call(`/verify/sellers/weather?route=${routeUid}&generation=${generation}`)
      expect(yield* pinned("1")).toMatchObject({ status: 402, amount: "1000" })
      const ahead = yield* pinned("2")
      expect(ahead).toMatchObject({ status: 503, amount: undefined })
      expect(JSON.parse(ahead.body)).toEqual({
        error: "this verifier has not loaded generation 2 of this offer's price yet; try again shortly"
      })
      expect(yield* pinned("1", "a-deleted-route")).toMatchObject({ status: 503 })
      expect(yield* pinned("one")).toMatchObject({ status: 503 })
      yield* client.patch(
        PaymentRoute,
        { namespace: "sellers", name: "weather-payment" },
        { type: "merge", patch: { spec: { price: "3000" } } }
      )
      yield* settle
      // Loaded generation 2: an address still pinning 1 gets the newer price, never the older one.
      expect(yield* pinned("1")).toMatchObject({ status: 402, amount: "3000" })
      expect(yield* pinned("2")).toMatchObject({ status: 402, amount: "3000" })
    }).pipe(Effect.provide(layer()), Effect.scoped, Idle.provide)
  )

  it.effect("counts requests per known offer, and lumps made-up offers into one series", () =>
    Effect.gen(function* () {
      yield* sell("sellers", "counted")
      yield* settle
      const call = yield* endpoint
      for (let i = 0; i < 3; i++) yield* call("/verify/sellers/counted")
      for (let i = 0; i < 5; i++) yield* call(`/verify/sellers/made-up-${i}`)
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
    }).pipe(Effect.provide(layer()), Effect.scoped, Idle.provide)
  )
})
