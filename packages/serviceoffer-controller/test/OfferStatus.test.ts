/**
 * The offer's status as a pure function of one pass's verdicts, and the Registered condition as a
 * pure function of the RegistrationRequest's status.
 */
import { describe, expect, it } from "@effect/vitest"
import * as OfferStatus from "@obol/serviceoffer-controller/OfferStatus"

const from = (status: object | undefined, offerStatus: object = {}) => {
  const registered = OfferStatus.registeredFrom({ status } as never, { status: offerStatus } as never)
  return `${registered.status}/${registered.reason} agent=${registered.agentId ?? "-"} tx=${registered.txHash ?? "-"}`
}

describe("OfferStatus.registeredFrom", () => {
  it.each([
    [undefined, {}, "False/Pending agent=- tx=-"],
    [{ phase: "Submitted", txHash: "0x1" }, {}, "False/Submitted agent=- tx=0x1"],
    [{ phase: "Confirmed", agentId: "7", txHash: "0x1" }, {}, "True/Confirmed agent=7 tx=0x1"],
    // Adopted: monetize.py's minting transaction stays; the registrar's is only its setAgentURI.
    [
      { phase: "Confirmed", reason: "Adopted", agentId: "7", txHash: "0xset" },
      { registrationTxHash: "0xmint" },
      "True/Adopted agent=7 tx=0xmint"
    ],
    [{ phase: "Confirmed", reason: "Adopted", agentId: "7", txHash: "0xset" }, {}, "True/Adopted agent=7 tx=0xset"],
    [{ phase: "OffChainOnly" }, {}, "True/OffChainOnly agent=- tx=-"],
    [{ phase: "Failed", reason: "AgentNotOwned" }, {}, "False/AgentNotOwned agent=- tx=-"],
    [{ phase: "Failed", reason: "AgentNotFound" }, {}, "False/AgentNotFound agent=- tx=-"],
    [{ phase: "Failed", errorMessage: "rpc down" }, {}, "False/RegistrationFailed agent=- tx=-"]
  ])("%j (offer status %j) is %s", (status, offerStatus, expected) => {
    expect(from(status, offerStatus)).toBe(expected)
  })
})

const ok = (reason: string) => ({ status: "True", reason, message: "fine" }) as const
const no = (reason: string) => ({ status: "False", reason, message: "not yet" }) as const
const serving: OfferStatus.Verdicts = {
  upstream: ok("Healthy"),
  paymentGate: ok("Admitted"),
  routePublished: ok("Accepted")
}

const offer = (extra: { spec?: object; status?: object; metadata?: object } = {}) =>
  ({
    apiVersion: "obol.org/v1alpha1",
    kind: "ServiceOffer",
    metadata: { name: "weather", namespace: "sellers", generation: 3, ...extra.metadata },
    spec: {
      upstream: { service: "weather", port: 8080 },
      payment: {
        network: "base-sepolia",
        payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        price: { perRequest: "0.001" }
      },
      ...extra.spec
    },
    ...(extra.status === undefined ? {} : { status: extra.status })
  }) as never

const options = { time: "2026-12-02T00:00:00Z", publicBaseUrl: "https://seller.example/", path: "/services/weather" }
const byType = (status: ReturnType<typeof OfferStatus.decide>) =>
  Object.fromEntries(status.conditions.map((c) => [c.type, `${c.status}/${c.reason}`]))

describe("OfferStatus.decide", () => {
  it("is Ready when the upstream, the payment gate and the route are, whatever the registration says", () => {
    const status = OfferStatus.decide(offer(), serving, no("Submitted"), options)
    expect(status.phase).toBe("Ready")
    expect(byType(status)).toEqual({
      UpstreamHealthy: "True/Healthy",
      PaymentGateReady: "True/Admitted",
      RoutePublished: "True/Accepted",
      Registered: "False/Submitted",
      Ready: "True/Ready"
    })
    expect(status.observedGeneration).toBe(3)
    expect(status.conditions.every((c) => c.observedGeneration === 3)).toBe(true)
  })

  it.each([
    ["upstream", { ...serving, upstream: no("NoEndpoints") }],
    ["payment gate", { ...serving, paymentGate: no("AwaitingAdmission") }],
    ["route", { ...serving, routePublished: no("AwaitingGateway") }],
    ["model (inference)", { ...serving, model: no("ModelMissing") }]
  ])("is NotReady while its %s is not", (_what, verdicts) => {
    const status = OfferStatus.decide(offer(), verdicts, OfferStatus.registeredDisabled, options)
    expect(status.phase).toBe("NotReady")
    expect(byType(status)["Ready"]).toMatch(/^False\//u)
  })

  it("lists a new inference offer's ModelReady after UpstreamHealthy, and requires it", () => {
    const status = OfferStatus.decide(
      offer(),
      { ...serving, model: ok("ModelPresent") },
      OfferStatus.registeredDisabled,
      options
    )
    expect(status.conditions.map((c) => c.type)).toEqual([
      "UpstreamHealthy",
      "ModelReady",
      "PaymentGateReady",
      "RoutePublished",
      "Registered",
      "Ready"
    ])
    expect(status.phase).toBe("Ready")
  })

  it("is Paused while paused, even when everything else is True", () => {
    const status = OfferStatus.decide(
      offer({ spec: { paused: true } }),
      serving,
      OfferStatus.registeredDisabled,
      options
    )
    expect(status.phase).toBe("Paused")
  })

  it("never drops an agent or a registration transaction once known, and takes a new one", () => {
    const known = offer({ status: { agentId: "7", registrationTxHash: "0xmint" } })
    const kept = OfferStatus.decide(known, serving, OfferStatus.registeredDisabled, options)
    expect([kept.agentId, kept.registrationTxHash]).toEqual(["7", "0xmint"])
    const fresh = OfferStatus.decide(offer(), serving, { ...ok("Confirmed"), agentId: "0", txHash: "0x1" }, options)
    expect([fresh.agentId, fresh.registrationTxHash]).toEqual(["0", "0x1"])
    const none = OfferStatus.decide(offer(), serving, OfferStatus.registeredDisabled, options)
    expect("agentId" in none || "registrationTxHash" in none).toBe(false)
  })

  it("gives the endpoint under the public base URL and the price as the seller wrote it", () => {
    const status = OfferStatus.decide(offer(), serving, OfferStatus.registeredDisabled, options)
    expect(status.endpoint).toBe("https://seller.example/services/weather")
    expect(status.price).toBe("0.001 USDC/request")
  })

  it("moves a condition's lastTransitionTime only when it flips", () => {
    const first = OfferStatus.decide(offer(), serving, OfferStatus.registeredDisabled, options)
    const again = OfferStatus.decide(
      offer({ status: first }),
      { ...serving, upstream: { ...ok("Healthy"), message: "still fine" } },
      OfferStatus.registeredDisabled,
      { ...options, time: "2026-12-02T01:00:00Z" }
    )
    const time = (s: typeof first, type: string) => s.conditions.find((c) => c.type === type)?.lastTransitionTime
    expect(time(again, "UpstreamHealthy")).toBe("2026-12-02T00:00:00Z")
    const flipped = OfferStatus.decide(
      offer({ status: first }),
      { ...serving, upstream: no("NoEndpoints") },
      OfferStatus.registeredDisabled,
      { ...options, time: "2026-12-02T01:00:00Z" }
    )
    expect(time(flipped, "UpstreamHealthy")).toBe("2026-12-02T01:00:00Z")
  })
})

describe("OfferStatus.serves", () => {
  it.each([
    [serving, true],
    [{ ...serving, model: ok("ModelPresent") }, true],
    [{ ...serving, model: no("ModelMissing") }, false],
    [{ ...serving, routePublished: no("Paused") }, false]
  ])("%j serves: %s", (verdicts, expected) => {
    expect(OfferStatus.serves(verdicts)).toBe(expected)
  })
})
