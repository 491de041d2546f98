import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import { HttpRouter } from "effect/http"
import * as CustomResource from "@obol/api/CustomResource"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import * as KubeClient from "@obol/kube/KubeClient"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as WellKnown from "@obol/serviceoffer-controller/WellKnown"

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

const offer = (name: string, ready: boolean, registration: object | undefined) =>
  decode<typeof ServiceOffer.schema.Type>(ServiceOffer, {
    apiVersion: "obol.org/v1alpha1",
    kind: "ServiceOffer",
    metadata: { name, namespace: "ns" },
    spec: {
      upstream: { service: "s" },
      payment: {
        network: "base-sepolia",
        payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        price: { perRequest: "1" }
      },
      ...(registration === undefined ? {} : { registration })
    },
    status: {
      conditions: [
        {
          type: "Ready",
          status: ready ? "True" : "False",
          reason: "R",
          message: "",
          lastTransitionTime: "2026-11-27T00:00:00Z"
        }
      ]
    }
  })

const request = (name: string, agentId?: string) =>
  decode<typeof RegistrationRequest.schema.Type>(RegistrationRequest, {
    apiVersion: "obol.org/v1alpha1",
    kind: "RegistrationRequest",
    metadata: { name: `${name}-registration`, namespace: "ns" },
    spec: { name, endpoint: "https://seller.example", chain: "base-sepolia" },
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
        offer("b", true, {
          enabled: true,
          supportedTrust: ["reputation"],
          services: [{ name: "MCP", endpoint: "https://seller.example/mcp" }]
        }),
        offer("a", false, { enabled: true }),
        offer("private", true, undefined)
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

  it("is inactive when no registered offer is Ready", () => {
    expect(WellKnown.document(identity, [offer("a", false, { enabled: true })], []).active).toBe(false)
  })

  it.live("serves the document from its caches with Content-Type application/json", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      yield* client.create(ServiceOffer, {
        apiVersion: "obol.org/v1alpha1",
        kind: "ServiceOffer",
        metadata: { name: "a", namespace: "ns" },
        spec: {
          upstream: { service: "s" },
          payment: {
            network: "base-sepolia",
            payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            price: { perRequest: "1" }
          },
          registration: { enabled: true }
        }
      })
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
      yield* Effect.promise(dispose)
    }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
  )
})
