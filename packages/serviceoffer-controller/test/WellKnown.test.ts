import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Result, Schema } from "effect"
import { HttpRouter } from "effect/http"
import * as AgentRegistration from "@obol/api/AgentRegistration"
import * as CustomResource from "@obol/api/CustomResource"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import * as ServiceOfferFixture from "@obol/api/testing/ServiceOfferFixture"
import { Health } from "@obol/controller/Health"
import * as Informers from "@obol/controller/Informers"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as Children from "@obol/serviceoffer-controller/Children"
import * as WellKnown from "@obol/serviceoffer-controller/WellKnown"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { parse } from "yaml"
import * as Idle from "@obol/controller/testing/Idle"

const identity = {
  name: "Obol seller",
  description: "Services sold with x402",
  publicBaseUrl: "https://seller.example/"
}

const decode = <T>(kind: CustomResource.Any, value: unknown) => {
  const r = CustomResource.decodeResult(kind, value)
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success as T
}

const offer = (name: string) => ServiceOfferFixture.make(name, { namespace: "ns" })

const request = (name: string, agentId?: string) =>
  decode<typeof RegistrationRequest.schema.Type>(RegistrationRequest, {
    apiVersion: "obol.org/v1alpha1",
    kind: "RegistrationRequest",
    metadata: { name: `${name}-registration`, namespace: "ns" },
    spec: {
      name,
      endpoint: "https://seller.example",
      agentURI: `https://seller.example/.well-known/agent-registration.json?offer=ns/${name}`,
      chain: "base-sepolia"
    },
    ...(agentId === undefined
      ? {}
      : {
          status: {
            phase: "Confirmed",
            agentId,
            agentRegistry: "eip155:84532:0x8004A818BFB912233c491871b3d84c89A494BD9e"
          }
        })
  })

describe("WellKnown", () => {
  it("aggregates registered offers into one ERC-8004 registration-v1 document", () => {
    const doc = WellKnown.document(
      identity,
      [
        offer("b")
          .ready()
          .withRegistration({
            supportedTrust: ["reputation"],
            services: [{ name: "MCP", endpoint: "https://seller.example/mcp" }]
          })
          .decoded(),
        offer("a").ready(false).withRegistration().decoded(),
        offer("private").ready().decoded()
      ],
      [request("a"), request("b", "0")]
    )
    expect(doc).toEqual({
      type: "https://eips.ethereum.org/EIPS/eip-8004#registration-v1",
      name: "Obol seller",
      description: "Services sold with x402",
      services: [
        { name: "web", endpoint: "https://seller.example/services/a" },
        { name: "web", endpoint: "https://seller.example/services/b" },
        { name: "MCP", endpoint: "https://seller.example/mcp" }
      ],
      x402Support: true,
      active: true,
      registrations: [{ agentId: 0, agentRegistry: "eip155:84532:0x8004A818BFB912233c491871b3d84c89A494BD9e" }],
      supportedTrust: ["reputation"]
    })
  })

  it("gives each registered offer its own registration-v1 document, with its registrations entry once confirmed", () => {
    const b = offer("b")
      .ready()
      .withRegistration({
        name: "Weather",
        skills: ["weather/forecast"],
        services: [{ name: "MCP", endpoint: "https://seller.example/mcp" }]
      })
      .decoded()
    const pending = WellKnown.agentDocument(identity, b, request("b"))
    const confirmed = WellKnown.agentDocument(identity, b, request("b", "0"))
    for (const doc of [pending, confirmed, WellKnown.document(identity, [b], [request("b", "0")])]) {
      expect(Schema.decodeUnknownExit(AgentRegistration.AgentRegistration)(doc)._tag).toBe("Success")
    }
    expect(pending).toEqual({
      type: "https://eips.ethereum.org/EIPS/eip-8004#registration-v1",
      name: "Weather",
      description: "x402 payment-gated http service: Weather",
      services: [
        { name: "web", endpoint: "https://seller.example/services/b", skills: ["weather/forecast"] },
        { name: "MCP", endpoint: "https://seller.example/mcp" }
      ],
      x402Support: true,
      active: true,
      registrations: []
    })
    expect(pending).not.toHaveProperty("metadata")
    expect(pending).not.toHaveProperty("provenance")
    // agentId 0 is a real id, not "unregistered".
    expect(confirmed.registrations).toEqual([
      { agentId: 0, agentRegistry: "eip155:84532:0x8004A818BFB912233c491871b3d84c89A494BD9e" }
    ])
  })

  it("rejects documents missing registration-v1 fields", () => {
    const decodeDoc = Schema.decodeUnknownExit(AgentRegistration.AgentRegistration)
    const doc = WellKnown.agentDocument(identity, offer("a").ready().withRegistration().decoded(), undefined)
    expect(decodeDoc({ ...doc, type: "registration-v1" })._tag).toBe("Failure")
    expect(decodeDoc({ ...doc, registrations: [{ agentId: "0", agentRegistry: "eip155:84532:0x1" }] })._tag).toBe(
      "Failure"
    )
    const { services: _services, ...withoutServices } = doc
    expect(decodeDoc(withoutServices)._tag).toBe("Failure")
  })

  it("is inactive when no registered offer is Ready", () => {
    expect(WellKnown.document(identity, [offer("a").ready(false).withRegistration().decoded()], []).active).toBe(false)
  })

  it.live("serves the document from its caches with Content-Type application/json", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* client.create(ServiceOffer, offer("a").withRegistration().build())
      const routes = WellKnown.routes(identity).pipe(Layer.provide(Layer.succeed(KubeClient.KubeClient, client)))
      const { handler, dispose } = HttpRouter.toWebHandler(routes, { disableLogger: true })
      const fetchDoc = () => Effect.promise(() => handler(new Request("http://x/.well-known/agent-registration.json")))
      let res = yield* fetchDoc()
      for (let i = 0; i < 50 && res.status === 503; i++) {
        yield* Effect.sleep("20 millis")
        res = yield* fetchDoc()
      }
      expect(res.status).toBe(200)
      expect(res.headers.get("content-type")).toContain("application/json")
      expect(((yield* Effect.promise(() => res.json())) as { services: unknown }).services).toEqual([
        { name: "web", endpoint: "https://seller.example/services/a" }
      ])
      const one = yield* Effect.promise(() =>
        handler(new Request("http://x/.well-known/agent-registration.json?offer=ns/a"))
      )
      expect(one.status).toBe(200)
      expect(((yield* Effect.promise(() => one.json())) as { name: string }).name).toBe("a")
      const unknown = yield* Effect.promise(() =>
        handler(new Request("http://x/.well-known/agent-registration.json?offer=ns/nope"))
      )
      expect(unknown.status).toBe(404)
      yield* Effect.promise(dispose)
    }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
  )

  it.effect("says on /readyz when it may not watch what it serves, and reads the process's shared informers", () =>
    Effect.gen(function* () {
      const fake = yield* FakeKube.FakeKube
      const health = yield* Health
      const informers = yield* Informers.Informers
      yield* fake.failNext("list", {
        when: (logged) => logged.kind === "RegistrationRequest",
        error: KubeError.fromResponse({
          code: 403,
          body: {
            kind: "Status",
            code: 403,
            reason: "Forbidden",
            message: "registrationrequests.obol.org is forbidden"
          }
        })
      })
      // The controller in this process reads ServiceOffers and RegistrationRequests first.
      const offers = yield* informers.informer(ServiceOffer, {})
      yield* informers.informer(RegistrationRequest, {})
      const services = yield* Effect.context<Health | Informers.Informers | KubeClient.KubeClient>()
      const routes = WellKnown.routes(identity).pipe(Layer.provide(Layer.succeedContext(services)))
      const { handler, dispose } = HttpRouter.toWebHandler(routes, { disableLogger: true })
      const status = yield* Effect.promise(() => handler(new Request("http://x/.well-known/agent-registration.json")))
      yield* Idle.quiesce
      expect(status.status).toBe(503)
      expect(yield* health.notReady).toEqual([
        "well-known: list/watch of RegistrationRequest is forbidden: registrationrequests.obol.org is forbidden"
      ])
      // The well-known server reads the controller's caches: one list of ServiceOffers in all.
      expect(offers.store.isReady()).toBe(true)
      expect((yield* fake.requests).filter((r) => r.verb === "list" && r.kind === "ServiceOffer")).toHaveLength(1)
      yield* Effect.promise(dispose)
    }).pipe(
      Effect.provide(
        Layer.mergeAll(Health.layer, Informers.Informers.layer).pipe(Layer.provideMerge(Layer.fresh(FakeKube.layer)))
      ),
      Idle.provide
    )
  )

  it("publishes obol-stack's registration.metadata and spec.provenance in the offer's own document, as monetize.py did", () => {
    // obol-stack's fixture: every field of its CRD, including metadata, provenance and a monetize.py agentId.
    const raw = parse(
      readFileSync(
        join(import.meta.dirname, "..", "..", "api", "test", "fixtures", "obol-stack-serviceoffer.yaml"),
        "utf8"
      )
    )
    const fixture = decode<typeof ServiceOffer.schema.Type>(ServiceOffer, raw)
    const doc = WellKnown.agentDocument(identity, fixture, request("my-model", "0"))
    expect(doc).toEqual({
      type: "https://eips.ethereum.org/EIPS/eip-8004#registration-v1",
      name: "My Model",
      description: "A fine-tuned model sold through the Obol Stack.",
      image: "https://example.com/agent.png",
      services: [
        {
          name: "web",
          endpoint: "https://seller.example/services/my-model",
          skills: ["natural_language_processing/text_generation"],
          domains: ["technology/software_engineering"]
        },
        { name: "web", endpoint: "https://abc.trycloudflare.com/services/my-model" },
        { name: "OASF", endpoint: "https://github.com/agntcy/oasf/", version: "0.8" }
      ],
      x402Support: true,
      active: true,
      registrations: [{ agentId: 0, agentRegistry: "eip155:84532:0x8004A818BFB912233c491871b3d84c89A494BD9e" }],
      supportedTrust: ["reputation", "crypto-economic", "tee-attestation"],
      metadata: { owner: "obol" },
      provenance: {
        framework: "autoresearch",
        metricName: "val_bpb",
        metricValue: "0.9812",
        experimentId: "exp-42",
        trainHash: "0xabc123",
        paramCount: "35000000000"
      }
    })
    // The extra objects come after the ERC's fields, and the document is still registration-v1.
    expect(Object.keys(doc).slice(-2)).toEqual(["metadata", "provenance"])
    expect(Schema.decodeUnknownExit(AgentRegistration.AgentRegistration)(doc)._tag).toBe("Success")
  })

  it("drops empty provenance values and leaves out empty maps, as monetize.py did", () => {
    const partial = WellKnown.agentDocument(
      identity,
      offer("a")
        .ready()
        .withRegistration({ metadata: {} })
        .with({ spec: { provenance: { framework: "autoresearch", trainHash: "" } } })
        .decoded(),
      undefined
    )
    expect(partial.provenance).toEqual({ framework: "autoresearch" })
    expect(partial).not.toHaveProperty("metadata")
    const empty = WellKnown.agentDocument(
      identity,
      offer("a")
        .ready()
        .withRegistration()
        .with({ spec: { provenance: { trainHash: "" } } })
        .decoded(),
      undefined
    )
    expect(empty).not.toHaveProperty("provenance")
  })

  it("keeps per-offer metadata and provenance out of the aggregated document", () => {
    const doc = WellKnown.document(
      identity,
      [
        offer("a")
          .ready()
          .withRegistration({ metadata: { owner: "obol" } })
          .with({ spec: { provenance: { framework: "autoresearch" } } })
          .decoded()
      ],
      []
    )
    expect(doc).not.toHaveProperty("metadata")
    expect(doc).not.toHaveProperty("provenance")
  })

  it("gives the offer's RegistrationRequest its provenance and the agent monetize.py minted, to adopt", () => {
    const settings = { ...Children.defaultSettings, publicBaseUrl: "https://seller.example" }
    const mintedOffer = offer("a")
      .ready()
      .withRegistration({ metadata: { owner: "obol" } })
      .with({ spec: { provenance: { framework: "autoresearch" } } })
    const minted = mintedOffer.decoded()
    const adopting = mintedOffer.with({ status: { agentId: "7" } }).decoded()
    const spec = (o: typeof minted) =>
      (Children.registrationRequest(o, settings)?.spec ?? {}) as Record<string, unknown>
    expect(spec(adopting)).toMatchObject({
      metadata: { owner: "obol" },
      provenance: { framework: "autoresearch" },
      existingAgentId: "7"
    })
    expect(spec(minted)).not.toHaveProperty("existingAgentId")
    const rr = decode<typeof RegistrationRequest.schema.Type>(
      RegistrationRequest,
      Children.registrationRequest(adopting, settings)
    )
    expect(rr.spec.existingAgentId).toBe("7")
  })
})
