/**
 * Exact money: decimal price strings to atomic units of a token with integer (`bigint`) math,
 * and the one effective per-request price of an offer.
 *
 * Rules:
 * - A price is plain decimal notation (`"0.001"`, `"5"`); no sign, exponent or float ever.
 * - More fractional digits than the token has (`"0.0000001"` USDC, 6 decimals) is an error, not a
 *   rounding: a seller's price is never changed silently. Trailing zeros are fine.
 * - A zero price is an error: a gate that charges nothing is a misconfiguration, and failing
 *   closed means not opening it.
 * - Effective price, in this order: `perRequest`; else `perMTok` converted with
 *   `approxTokensPerRequest` (default 1000) as `perMTok × tokens / 1,000,000`, which must come out
 *   in whole atomic units; else `perHour`, charged per request (one request buys the hour, as
 *   obol-stack's latest code did; see docs/adr/0004).
 *
 * @since 0.1.0
 */
import { Data, Result } from "effect"

/**
 * @category errors
 */
export class PriceError extends Data.TaggedError("PriceError")<{
  readonly reason: "Malformed" | "TooPrecise" | "Zero" | "Missing"
  readonly message: string
}> {}

/**
 * @category models
 */
export interface Prices {
  readonly perRequest?: string
  readonly perMTok?: string
  readonly perHour?: string
}

/**
 * @category models
 */
export interface Effective {
  readonly model: "perRequest" | "perMTok" | "perHour"
  /** Atomic units charged per request. */
  readonly atomic: bigint
  /** The offer's decimal price the amount comes from. */
  readonly decimal: string
  readonly approxTokensPerRequest?: number
}

const decimalPattern = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/u

/**
 * `"1.25"` with 6 decimals → `1250000n`.
 *
 * @category constructors
 */
export const toAtomic = (decimal: string, decimals: number): Result.Result<bigint, PriceError> => {
  const match = decimalPattern.exec(decimal)
  if (match === null) {
    return Result.fail(
      new PriceError({ reason: "Malformed", message: `"${decimal}" is not a plain decimal number like "0.001"` })
    )
  }
  const whole = match[1]!
  const fraction = (match[2] ?? "").replace(/0+$/u, "")
  if (fraction.length > decimals) {
    return Result.fail(
      new PriceError({
        reason: "TooPrecise",
        message: `"${decimal}" has ${fraction.length} decimal places, but the token has only ${decimals}`
      })
    )
  }
  return Result.succeed(BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0"))
}

/**
 * `1250n` with 6 decimals → `"0.00125"` (no trailing zeros, no exponent).
 *
 * @category constructors
 */
export const toDecimal = (atomic: bigint, decimals: number): string => {
  const scale = 10n ** BigInt(decimals)
  const whole = atomic / scale
  const fraction = (atomic % scale).toString().padStart(decimals, "0").replace(/0+$/u, "")
  return fraction === "" ? whole.toString() : `${whole}.${fraction}`
}

const positive = (atomic: bigint, label: string): Result.Result<bigint, PriceError> =>
  atomic > 0n
    ? Result.succeed(atomic)
    : Result.fail(new PriceError({ reason: "Zero", message: `${label} is zero; a payment gate must charge something` }))

/**
 * The per-request amount of an offer (see the module header for the order and the rules).
 *
 * @category constructors
 */
export const effective = (
  prices: Prices,
  decimals: number,
  approxTokensPerRequest = 1000
): Result.Result<Effective, PriceError> => {
  if (prices.perRequest !== undefined) {
    const decimal = prices.perRequest
    return toAtomic(decimal, decimals).pipe(
      Result.flatMap((atomic) => positive(atomic, "perRequest")),
      Result.map((atomic) => ({ model: "perRequest" as const, atomic, decimal }))
    )
  }
  if (prices.perMTok !== undefined) {
    const decimal = prices.perMTok
    return toAtomic(decimal, decimals).pipe(
      Result.flatMap((perMillion) => {
        const product = perMillion * BigInt(approxTokensPerRequest)
        if (product % 1_000_000n !== 0n) {
          return Result.fail(
            new PriceError({
              reason: "TooPrecise",
              message: `perMTok "${decimal}" at ${approxTokensPerRequest} tokens per request is ${toDecimal(product, decimals + 6)} per request, finer than the token's ${decimals} decimals`
            })
          )
        }
        return positive(product / 1_000_000n, "perMTok")
      }),
      Result.map((atomic) => ({ model: "perMTok" as const, atomic, decimal, approxTokensPerRequest }))
    )
  }
  if (prices.perHour !== undefined) {
    const decimal = prices.perHour
    return toAtomic(decimal, decimals).pipe(
      Result.flatMap((atomic) => positive(atomic, "perHour")),
      Result.map((atomic) => ({ model: "perHour" as const, atomic, decimal }))
    )
  }
  return Result.fail(new PriceError({ reason: "Missing", message: "no perRequest, perMTok or perHour price is set" }))
}

/**
 * The price that applies, for humans, as the seller wrote it: `0.001 USDC/request`,
 * `1.25 USDC/MTok` or `2 USDC/hour` (the same order as {@link effective}); undefined without one.
 *
 * @category formatting
 */
export const label = (prices: Prices, symbol = "USDC"): string | undefined =>
  prices.perRequest !== undefined
    ? `${prices.perRequest} ${symbol}/request`
    : prices.perMTok !== undefined
      ? `${prices.perMTok} ${symbol}/MTok`
      : prices.perHour !== undefined
        ? `${prices.perHour} ${symbol}/hour`
        : undefined
