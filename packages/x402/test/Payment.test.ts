import { describe, expect, it } from "@effect/vitest"
import { Option, Result } from "effect"
import { encodePaymentSignatureHeader } from "@x402/core/http"
import * as Payment from "@obol/x402/Payment"
import * as Requirements from "@obol/x402/Requirements"
import { route } from "./utils/route.ts"

const authorization = (overrides: Partial<Payment.Authorization> = {}) => ({
  from: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  to: route.payTo,
  value: route.amount,
  validAfter: "0",
  validBefore: "1795764033",
  nonce: `0x${"11".repeat(32)}`,
  ...overrides
})

const v2 = (accepted: object = Requirements.requirement(route), auth: object = authorization()) =>
  encodePaymentSignatureHeader({
    x402Version: 2,
    accepted: accepted as never,
    payload: { authorization: auth, signature: `0x${"ab".repeat(65)}` }
  })

const v1 = (network = "base-sepolia", auth: object = authorization()) =>
  Buffer.from(
    JSON.stringify({ x402Version: 1, scheme: "exact", network, payload: { authorization: auth, signature: "0xsig" } })
  ).toString("base64")

const read = (headers: Record<string, string>) => {
  const result = Payment.fromHeaders(headers)
  if (Result.isFailure(result)) throw result.failure
  return Option.getOrUndefined(result.success)
}

const failure = (headers: Record<string, string>) => {
  const result = Payment.fromHeaders(headers)
  return Result.isFailure(result) ? result.failure.message : "decoded"
}

describe("Payment", () => {
  it("reads no payment as None", () => {
    expect(read({})).toBeUndefined()
  })

  it("reads a v2 PAYMENT-SIGNATURE written by @x402/core, header names in any case", () => {
    const payment = read({ "payment-signature": v2() })
    expect(payment?.version).toBe(2)
    expect(payment?.authorization.value).toBe("1000")
  })

  it("reads a v1 X-PAYMENT", () => {
    expect(read({ "X-PAYMENT": v1() })?.version).toBe(1)
  })

  it.each([
    [{ "PAYMENT-SIGNATURE": "not base64!" }, "PAYMENT-SIGNATURE: not base64"],
    [{ "PAYMENT-SIGNATURE": Buffer.from("{oops").toString("base64") }, "PAYMENT-SIGNATURE: not base64-encoded JSON"],
    [{ "PAYMENT-SIGNATURE": Buffer.from("[1]").toString("base64") }, "PAYMENT-SIGNATURE: not a JSON object"],
    [
      { "PAYMENT-SIGNATURE": Buffer.from('{"x402Version":1}').toString("base64") },
      "PAYMENT-SIGNATURE: x402Version must be 2"
    ],
    [
      {
        "X-PAYMENT": Buffer.from('{"x402Version":1,"scheme":"exact","network":"base-sepolia","payload":{}}').toString(
          "base64"
        )
      },
      "X-PAYMENT: payload.authorization (from, to, value, validAfter, validBefore, nonce) and payload.signature are required"
    ]
  ])("rejects a malformed header with a reason: %j", (headers, message) => {
    expect(failure(headers)).toBe(message)
  })

  it("accepts a payment that matches the route exactly (addresses in any case)", () => {
    const payment = read({
      "PAYMENT-SIGNATURE": v2(Requirements.requirement(route), authorization({ to: route.payTo.toLowerCase() }))
    })!
    expect(Payment.mismatch(payment, route)).toBeUndefined()
    expect(Payment.mismatch(read({ "X-PAYMENT": v1() })!, route)).toBeUndefined()
  })

  it.each([
    [{ network: "eip155:8453" }, {}, "network eip155:8453 is not eip155:84532"],
    [{ amount: "999" }, {}, "amount 999 is not the price 1000"],
    [
      { asset: "0x0000000000000000000000000000000000000001" },
      {},
      "asset 0x0000000000000000000000000000000000000001 is not 0x036CbD53842c5426634e7929541eC2318f3dCF7e"
    ],
    [
      { payTo: "0x0000000000000000000000000000000000000002" },
      {},
      "payTo 0x0000000000000000000000000000000000000002 is not 0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    ],
    [{}, { value: "999" }, "the authorization is for 999, the price is 1000"],
    [
      {},
      { to: "0x0000000000000000000000000000000000000003" },
      "the authorization pays 0x0000000000000000000000000000000000000003, not 0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    ]
  ])("refuses a v2 payment that does not fit the route: %j %j", (acceptedChanges, authChanges, reason) => {
    const payment = read({
      "PAYMENT-SIGNATURE": v2({ ...Requirements.requirement(route), ...acceptedChanges }, authorization(authChanges))
    })!
    expect(Payment.mismatch(payment, route)).toBe(reason)
  })

  it("refuses a v1 payment on another network", () => {
    expect(Payment.mismatch(read({ "X-PAYMENT": v1("base") })!, route)).toBe("network base is not base-sepolia")
  })
})
