import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as Price from "@obol/x402/Price"

const ok = <A>(r: Result.Result<A, Price.PriceError>) => {
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
}
const err = <A>(r: Result.Result<A, Price.PriceError>) => (Result.isFailure(r) ? r.failure : undefined)

describe("Price", () => {
  it.each([
    ["0.001", 6, 1000n],
    ["1.25", 6, 1_250_000n],
    ["5", 6, 5_000_000n],
    ["0.000001", 6, 1n],
    ["1.500000", 6, 1_500_000n],
    ["123456789.123456", 6, 123_456_789_123_456n],
    ["1", 18, 10n ** 18n],
    ["7", 0, 7n]
  ] as const)("turns %s with %i decimals into exact atomic units", (decimal, decimals, expected) => {
    expect(ok(Price.toAtomic(decimal, decimals))).toBe(expected)
  })

  it("rejects any fraction for a token without decimals", () => {
    expect(err(Price.toAtomic("0.1", 0))?.reason).toBe("TooPrecise")
  })

  it("never goes through floating point (0.1 + 0.2 style inputs stay exact)", () => {
    expect(ok(Price.toAtomic("0.3", 6))).toBe(300_000n)
    expect(ok(Price.toAtomic("9007199254740993.000001", 6))).toBe(9_007_199_254_740_993_000_001n)
  })

  it("rejects precision beyond the token's decimals, saying how many it has", () => {
    expect(err(Price.toAtomic("0.0000001", 6))?.message).toBe(
      '"0.0000001" has 7 decimal places, but the token has only 6'
    )
  })

  it.each(["1e-3", "-1", ".5", "1.", "0x10", " 1", "01"])("rejects the malformed price %j", (decimal) => {
    expect(err(Price.toAtomic(decimal, 6))?.reason).toBe("Malformed")
  })

  it("renders atomic units back as a plain decimal", () => {
    expect(Price.toDecimal(1250n, 6)).toBe("0.00125")
    expect(Price.toDecimal(5_000_000n, 6)).toBe("5")
    expect(Price.toDecimal(0n, 6)).toBe("0")
  })

  it("prefers perRequest, then perMTok, then perHour", () => {
    expect(ok(Price.effective({ perRequest: "0.002", perMTok: "1", perHour: "3" }, 6))).toEqual({
      model: "perRequest",
      atomic: 2000n,
      decimal: "0.002"
    })
    expect(ok(Price.effective({ perMTok: "1.25", perHour: "3" }, 6))).toEqual({
      model: "perMTok",
      atomic: 1250n,
      decimal: "1.25",
      approxTokensPerRequest: 1000
    })
    expect(ok(Price.effective({ perHour: "3" }, 6))).toEqual({ model: "perHour", atomic: 3_000_000n, decimal: "3" })
  })

  it("converts perMTok with the given tokens per request, exactly (no 1000x overcharge)", () => {
    expect(ok(Price.effective({ perMTok: "2" }, 6, 500)).atomic).toBe(1000n)
    expect(ok(Price.effective({ perMTok: "1" }, 6)).atomic).toBe(1000n)
  })

  it("rejects a perMTok price whose per-request share is finer than the token allows", () => {
    expect(err(Price.effective({ perMTok: "0.000001" }, 6))?.message).toBe(
      'perMTok "0.000001" at 1000 tokens per request is 0.000000001 per request, finer than the token\'s 6 decimals'
    )
  })

  it("refuses a zero price and a missing one, so a gate never opens for free", () => {
    expect(err(Price.effective({ perRequest: "0" }, 6))?.reason).toBe("Zero")
    expect(err(Price.effective({}, 6))?.reason).toBe("Missing")
  })
})

describe("Price.label", () => {
  it("names the price that applies, in the order effective uses, as the seller wrote it", () => {
    expect(Price.label({ perRequest: "0.001", perMTok: "1.25" })).toBe("0.001 USDC/request")
    expect(Price.label({ perMTok: "1.25", perHour: "2" })).toBe("1.25 USDC/MTok")
    expect(Price.label({ perHour: "2" }, "DAI")).toBe("2 DAI/hour")
    expect(Price.label({})).toBeUndefined()
  })
})
