import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { decodePaymentRequiredHeader } from "@x402/core/http"
import * as Facilitator from "@obol/x402/Facilitator"
import * as Requirements from "@obol/x402/Requirements"
import * as Decision from "@obol/x402-verifier/Decision"
import * as Payments from "./utils/Payments.ts"

const route = Payments.route
const resource = { url: "https://seller.example/services/weather" }

const paid = (amount = "1000") => Payments.signature({ amount })

const facilitator = (overrides: Partial<Facilitator.Shape> = {}) => {
  const calls: Array<string> = []
  const layer = Facilitator.layerMemory({
    supported: Effect.succeed({ kinds: [] }),
    verify: (r) =>
      Effect.sync(() => void calls.push(`verify v${r.x402Version}`)).pipe(
        Effect.as({ isValid: true, payer: "0xpayer" })
      ),
    settle: () =>
      Effect.sync(() => void calls.push("settle")).pipe(
        Effect.as({ success: true, transaction: "0xtx", network: "eip155:84532", payer: "0xpayer" })
      ),
    ...overrides
  })
  return { calls, layer }
}

const decide = (
  headers: Record<string, string>,
  f = facilitator(),
  found: Option.Option<Requirements.Route> = Option.some(route)
) => Decision.decide({ route: found, headers, resource }).pipe(Effect.provide(f.layer))

describe("Decision", () => {
  it.effect("answers 503 for an offer without an admitted route, never 200", () =>
    Effect.gen(function* () {
      const answer = yield* decide({ "PAYMENT-SIGNATURE": paid() }, facilitator(), Option.none())
      expect([answer.status, answer.outcome]).toEqual([503, "Unknown"])
    })
  )

  it.effect("answers 402 with requirements when there is no payment", () =>
    Effect.gen(function* () {
      const answer = yield* decide({})
      expect(answer.status).toBe(402)
      expect(decodePaymentRequiredHeader(answer.headers["PAYMENT-REQUIRED"]!).accepts[0]?.amount).toBe("1000")
    })
  )

  it.effect("answers 400 with the reason for a malformed payment, without calling the facilitator", () =>
    Effect.gen(function* () {
      const f = facilitator()
      const answer = yield* decide({ "PAYMENT-SIGNATURE": "%%%" }, f)
      expect([answer.status, answer.body]).toEqual([400, { error: "PAYMENT-SIGNATURE: not base64" }])
      expect(f.calls).toEqual([])
    })
  )

  it.effect("answers 402 with the reason for a payment that does not fit, without calling the facilitator", () =>
    Effect.gen(function* () {
      const f = facilitator()
      const answer = yield* decide({ "PAYMENT-SIGNATURE": paid("1") }, f)
      expect([answer.status, answer.outcome, (answer.body as { error: string }).error]).toEqual([
        402,
        "Mismatch",
        "amount 1 is not the price 1000"
      ])
      expect(f.calls).toEqual([])
    })
  )

  it.effect("verifies, settles, and lets the request through with the receipt for the upstream", () =>
    Effect.gen(function* () {
      const f = facilitator()
      const answer = yield* decide({ "PAYMENT-SIGNATURE": paid() }, f)
      expect(f.calls).toEqual(["verify v2", "settle"])
      expect(answer.status).toBe(200)
      expect(answer.headers["X-Payment-Status"]).toBe("settled")
      expect(answer.headers["X-Payment-Tx"]).toBe("0xtx")
      expect(JSON.parse(Buffer.from(answer.headers["PAYMENT-RESPONSE"]!, "base64").toString()).transaction).toBe("0xtx")
    })
  )

  it.effect("answers 402 with the facilitator's reason for an invalid payment, and never settles it", () =>
    Effect.gen(function* () {
      const f = facilitator({
        verify: () => Effect.succeed({ isValid: false, invalidReason: "invalid_exact_evm_nonce_already_used" })
      })
      const answer = yield* decide({ "PAYMENT-SIGNATURE": paid() }, f)
      expect([answer.status, (answer.body as { error: string }).error]).toEqual([
        402,
        "invalid_exact_evm_nonce_already_used"
      ])
      expect(f.calls).toEqual([])
    })
  )

  it.effect("answers 402 when settlement fails", () =>
    Effect.gen(function* () {
      const answer = yield* decide(
        { "PAYMENT-SIGNATURE": paid() },
        facilitator({ settle: () => Effect.succeed({ success: false, errorReason: "insufficient_funds" }) })
      )
      expect([answer.status, answer.outcome]).toEqual([402, "SettleFailed"])
    })
  )

  it.effect.each([
    ["verify", "Unavailable"],
    ["verify", "Timeout"],
    ["settle", "Unavailable"],
    ["settle", "BadResponse"]
  ] as const)(
    "answers 503 when the facilitator's %s fails with %s, never 200, in words without its address",
    ([step, reason]) =>
      Effect.gen(function* () {
        const failing = () =>
          Effect.fail(
            new Facilitator.FacilitatorError({
              reason,
              message: "POST http://facilitator.internal:4021/verify: ECONNREFUSED"
            })
          )
        const answer = yield* decide({ "PAYMENT-SIGNATURE": paid() }, facilitator({ [step]: failing }))
        expect([answer.status, answer.outcome]).toEqual([503, "Unavailable"])
        const body = JSON.stringify(answer.body)
        expect(body).not.toContain("facilitator.internal")
        expect(body).not.toContain("ECONNREFUSED")
        expect(answer.body).toEqual({ error: Decision.unavailableMessage(step, reason) })
        expect(answer.body).toMatchObject({
          error:
            step === "verify"
              ? expect.stringContaining("nothing was charged")
              : expect.stringContaining("check your wallet")
        })
      })
  )

  it.effect("settles a v1 X-PAYMENT against the v1 requirement and answers with X-PAYMENT-RESPONSE", () =>
    Effect.gen(function* () {
      const f = facilitator()
      const v1 = Buffer.from(
        JSON.stringify({
          x402Version: 1,
          scheme: "exact",
          network: "base-sepolia",
          payload: {
            signature: "0xsig",
            authorization: {
              from: "0x1",
              to: route.payTo,
              value: "1000",
              validAfter: "0",
              validBefore: "9",
              nonce: "0x2"
            }
          }
        })
      ).toString("base64")
      const answer = yield* decide({ "X-PAYMENT": v1 }, f)
      expect(f.calls).toEqual(["verify v1", "settle"])
      expect(answer.headers["X-PAYMENT-RESPONSE"]).toBeDefined()
    })
  )
})
