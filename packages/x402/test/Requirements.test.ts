import { describe, expect, it } from "@effect/vitest"
import { decodePaymentRequiredHeader, encodePaymentRequiredHeader } from "@x402/core/http"
import { EVM_NETWORK_CHAIN_ID_MAP } from "@x402/evm/v1"
import * as Networks from "@obol/x402/Networks"
import * as Requirements from "@obol/x402/Requirements"
import { route } from "./utils/route.ts"

describe("Requirements", () => {
  it("puts a v2 PaymentRequired in the PAYMENT-REQUIRED header that @x402/core decodes", () => {
    const answer = Requirements.paymentRequired(route, { url: "https://seller.example/services/weather/today" })
    expect(decodePaymentRequiredHeader(answer.headers["PAYMENT-REQUIRED"])).toEqual({
      x402Version: 2,
      error: "Payment required",
      resource: {
        url: "https://seller.example/services/weather/today",
        description: "weather forecasts, 0.001 USDC per request",
        mimeType: "application/json"
      },
      accepts: [
        {
          scheme: "exact",
          network: "eip155:84532",
          asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
          amount: "1000",
          payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
          maxTimeoutSeconds: 300,
          extra: { name: "USDC", version: "2" }
        }
      ]
    })
    expect(answer.headers["Cache-Control"]).toBe("no-store")
  })

  it("answers v1 clients in the body, with the chain name and the resource filled in", () => {
    const { body } = Requirements.paymentRequired(
      route,
      { url: "https://seller.example/services/weather" },
      "amount too low"
    )
    expect(body).toEqual({
      x402Version: 1,
      error: "amount too low",
      accepts: [
        {
          scheme: "exact",
          network: "base-sepolia",
          maxAmountRequired: "1000",
          resource: "https://seller.example/services/weather",
          description: "weather forecasts, 0.001 USDC per request",
          mimeType: "application/json",
          outputSchema: {},
          payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
          maxTimeoutSeconds: 300,
          asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
          extra: { name: "USDC", version: "2" }
        }
      ]
    })
  })
  it("encodes the header to the byte as @x402/core's encodePaymentRequiredHeader, non-ASCII text included", () => {
    const described = { ...route, description: "météo, 0,001 USDC — 天气 🌦" }
    const answer = Requirements.paymentRequired(described, { url: "https://seller.example/services/météo?q=ü" })
    const decoded = decodePaymentRequiredHeader(answer.headers["PAYMENT-REQUIRED"])
    expect(decoded.resource?.description).toBe(described.description)
    expect(answer.headers["PAYMENT-REQUIRED"]).toBe(encodePaymentRequiredHeader(decoded))
  })

  it("names every default network as x402 v1 clients do (@x402/evm's v1 chain table)", () => {
    const v1 = EVM_NETWORK_CHAIN_ID_MAP as Record<string, number>
    for (const network of Networks.defaults) {
      const name = Requirements.v1Networks[network.caip2]
      expect(name, network.caip2).toBeDefined()
      expect(`eip155:${v1[name!]}`).toBe(network.caip2)
    }
  })

  it("remembers an answer per route object, resource and error, and never serves one route's answer for another", () => {
    const resource = { url: "https://seller.example/services/weather/today" }
    const first = Requirements.paymentRequired(route, resource)
    expect(Requirements.paymentRequired(route, resource)).toBe(first)
    expect(Requirements.paymentRequired(route, resource, "amount too low")).not.toBe(first)
    expect(Requirements.paymentRequired(route, { url: "https://seller.example/services/weather/week" })).not.toBe(first)
    const repriced = { ...route, amount: "2000" }
    const answer = Requirements.paymentRequired(repriced, resource)
    expect(decodePaymentRequiredHeader(answer.headers["PAYMENT-REQUIRED"]).accepts[0]?.amount).toBe("2000")
    expect(Object.isFrozen(answer.headers)).toBe(true)
  })

  it("forgets a route's answers once it has seen too many distinct URLs, and still answers correctly", () => {
    const fresh = { ...route }
    const url = (i: number) => `https://seller.example/services/weather/${i}`
    const first = Requirements.paymentRequired(fresh, { url: url(0) })
    for (let i = 1; i < Requirements.answersPerRoute; i++) Requirements.paymentRequired(fresh, { url: url(i) })
    expect(Requirements.paymentRequired(fresh, { url: url(0) })).toBe(first)
    Requirements.paymentRequired(fresh, { url: url(Requirements.answersPerRoute) })
    const again = Requirements.paymentRequired(fresh, { url: url(0) })
    expect(again).not.toBe(first)
    expect(again).toEqual(first)
  })
})
