import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as CustomResource from "@obol/api/CustomResource"
import { PaymentRoute, requestTimeoutSeconds } from "@obol/api/PaymentRoute"

const route = (): any => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "PaymentRoute",
  metadata: { name: "weather-api-payment", namespace: "sellers" },
  spec: {
    offer: { name: "weather-api" },
    pattern: "/services/weather-api/*",
    price: "1000",
    priceModel: "perRequest",
    payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    network: "eip155:84532",
    asset: {
      address: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
      decimals: 6,
      eip712Name: "USDC",
      eip712Version: "2"
    },
    maxTimeoutSeconds: 300
  }
})

const problems = (input: unknown) => {
  const result = CustomResource.decodeResult(PaymentRoute, input)
  return Result.isFailure(result) ? result.failure.problems.map((p) => `${p.path}: ${p.message}`) : []
}

describe("PaymentRoute", () => {
  it("decodes a route and defaults the scheme to exact", () => {
    const result = CustomResource.decodeResult(PaymentRoute, route(), { strict: true })
    expect(Result.isSuccess(result) && result.success.spec.scheme).toBe("exact")
  })

  it("takes the price only as an integer string of atomic units", () => {
    const decimal = route()
    decimal.spec.price = "0.001"
    expect(problems(decimal)).toEqual([
      'spec.price: Expected a non-negative decimal integer without leading zeros, got "0.001"'
    ])
  })

  it("takes the network only as a CAIP-2 id", () => {
    const named = route()
    named.spec.network = "base-sepolia"
    expect(problems(named)).toEqual([
      'spec.network: Expected a CAIP-2 chain id such as eip155:84532, got "base-sepolia"'
    ])
  })

  it("keeps the admission status the verifier writes", () => {
    const admitted = route()
    admitted.status = { admitted: true, lastAdmittedGeneration: 2 }
    const result = CustomResource.decodeResult(PaymentRoute, admitted)
    expect(Result.isSuccess(result) && result.success.status).toEqual({ admitted: true, lastAdmittedGeneration: 2 })
  })

  it("names its offer only in its own namespace: an offer namespace is not part of the kind", () => {
    const elsewhere = route()
    elsewhere.spec.offer = { namespace: "victim", name: "weather-api" }
    const strict = CustomResource.decodeResult(PaymentRoute, elsewhere, { strict: true })
    expect(Result.isFailure(strict) && strict.failure.problems.map((p) => p.path)).toEqual(["spec.offer.namespace"])
    const pruned = CustomResource.decodeResult(PaymentRoute, elsewhere)
    expect(Result.isSuccess(pruned) && pruned.success.spec.offer).toEqual({ name: "weather-api" })
    const offer = (CustomResource.openApiSchema(PaymentRoute) as any).properties.spec.properties.offer
    expect(Object.keys(offer.properties)).toEqual(["name", "uid"])
  })
})

describe("PaymentRoute settlement", () => {
  it("takes settlement onSuccess with an upstream, and upfront or nothing without one", () => {
    const paid = route()
    paid.spec.settlement = "onSuccess"
    paid.spec.upstream = { service: "weather", namespace: "sellers", port: 8080 }
    expect(problems(paid)).toEqual([])
    const upfront = route()
    upfront.spec.settlement = "upfront"
    expect(problems(upfront)).toEqual([])
  })

  it("requires an upstream when settlement is onSuccess (the CEL rule's twin)", () => {
    const missing = route()
    missing.spec.settlement = "onSuccess"
    expect(problems(missing)).toEqual(["spec.upstream: upstream is required when settlement is onSuccess"])
    const spec = (CustomResource.openApiSchema(PaymentRoute) as any).properties.spec
    expect(spec["x-kubernetes-validations"]).toEqual([
      {
        rule: "!has(self.settlement) || self.settlement != 'onSuccess' || has(self.upstream)",
        message: "upstream is required when settlement is onSuccess",
        fieldPath: ".upstream"
      }
    ])
  })

  it("refuses an upstream port outside 1-65535", () => {
    const paid = route()
    paid.spec.settlement = "onSuccess"
    paid.spec.upstream = { service: "weather", namespace: "sellers", port: 0 }
    expect(problems(paid)).toHaveLength(1)
  })
})

describe("requestTimeoutSeconds", () => {
  it("gives slow inference obol-stack's headroom: maxTimeoutSeconds + 120, at least 60", () => {
    expect([300, 30, 1, 3600].map(requestTimeoutSeconds)).toEqual([420, 150, 121, 3720])
  })
})
