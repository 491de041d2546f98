/**
 * Reading a buyer's payment from request headers, and checking it against the route before
 * anything is sent to a facilitator.
 *
 * - `PAYMENT-SIGNATURE` carries an x402 v2 payload; `X-PAYMENT` a v1 payload. Both are base64 JSON.
 *   No header is `None`; a header that is not base64 JSON of the right shape is a `Malformed`
 *   failure with a reason (answered 400).
 * - Local matching compares scheme, network, amount, asset and recipient (v2: the echoed
 *   requirement and the signed authorization; v1: the authorization, network and scheme), so a
 *   payment for another route or a smaller amount is refused (402) without a facilitator call.
 *
 * @since 0.1.0
 */
import { Data, Option, Result } from "effect"
import * as Requirements from "./Requirements.ts"

/**
 * @category models
 */
export interface Authorization {
  readonly from: string
  readonly to: string
  readonly value: string
  readonly validAfter: string
  readonly validBefore: string
  readonly nonce: string
}

/**
 * A decoded payment, either generation.
 *
 * @category models
 */
export type Payment =
  | {
      readonly version: 2
      readonly raw: Record<string, unknown>
      readonly accepted: Record<string, unknown>
      readonly authorization: Authorization
    }
  | {
      readonly version: 1
      readonly raw: Record<string, unknown>
      readonly scheme: string
      readonly network: string
      readonly authorization: Authorization
    }

/**
 * @category errors
 */
export class Malformed extends Data.TaggedError("Malformed")<{ readonly header: string; readonly reason: string }> {
  override get message() {
    return `${this.header}: ${this.reason}`
  }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const base64Json = (header: string, value: string): Result.Result<Record<string, unknown>, Malformed> => {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/u.test(value.trim()))
    return Result.fail(new Malformed({ header, reason: "not base64" }))
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(value.trim(), "base64").toString("utf8"))
  } catch {
    return Result.fail(new Malformed({ header, reason: "not base64-encoded JSON" }))
  }
  return isRecord(parsed) ? Result.succeed(parsed) : Result.fail(new Malformed({ header, reason: "not a JSON object" }))
}

const authorizationOf = (header: string, payload: unknown): Result.Result<Authorization, Malformed> => {
  const auth = isRecord(payload) && isRecord(payload["authorization"]) ? payload["authorization"] : undefined
  const fields = ["from", "to", "value", "validAfter", "validBefore", "nonce"] as const
  if (
    auth === undefined ||
    !fields.every((f) => typeof auth[f] === "string") ||
    !(isRecord(payload) && typeof payload["signature"] === "string")
  ) {
    return Result.fail(
      new Malformed({
        header,
        reason:
          "payload.authorization (from, to, value, validAfter, validBefore, nonce) and payload.signature are required"
      })
    )
  }
  return Result.succeed(auth as unknown as Authorization)
}

/**
 * The value of a header by its lower-cased name, names compared case-insensitively; when several
 * names differ only in case, the last one wins. Reads the record in place (no copy of it per
 * request): only names of the same length are lower-cased.
 */
const headerOf = (headers: Readonly<Record<string, string | undefined>>, lower: string): string | undefined => {
  let found: string | undefined
  for (const name in headers) {
    if (
      name.length === lower.length &&
      Object.hasOwn(headers, name) &&
      (name === lower || name.toLowerCase() === lower)
    )
      found = headers[name]
  }
  return found
}

/**
 * Reads the payment from request headers (names compared case-insensitively).
 *
 * @category constructors
 */
export const fromHeaders = (
  headers: Readonly<Record<string, string | undefined>>
): Result.Result<Option.Option<Payment>, Malformed> => {
  const v2 = headerOf(headers, "payment-signature")
  if (v2 !== undefined && v2 !== "") {
    return base64Json("PAYMENT-SIGNATURE", v2).pipe(
      Result.flatMap((raw) => {
        if (raw["x402Version"] !== 2)
          return Result.fail(new Malformed({ header: "PAYMENT-SIGNATURE", reason: "x402Version must be 2" }))
        if (!isRecord(raw["accepted"]))
          return Result.fail(new Malformed({ header: "PAYMENT-SIGNATURE", reason: "accepted requirement is missing" }))
        const accepted = raw["accepted"]
        return authorizationOf("PAYMENT-SIGNATURE", raw["payload"]).pipe(
          Result.map((authorization): Option.Option<Payment> =>
            Option.some({ version: 2, raw, accepted, authorization })
          )
        )
      })
    )
  }
  const v1 = headerOf(headers, "x-payment")
  if (v1 !== undefined && v1 !== "") {
    return base64Json("X-PAYMENT", v1).pipe(
      Result.flatMap((raw) => {
        if (raw["x402Version"] !== 1)
          return Result.fail(new Malformed({ header: "X-PAYMENT", reason: "x402Version must be 1" }))
        if (typeof raw["scheme"] !== "string" || typeof raw["network"] !== "string") {
          return Result.fail(new Malformed({ header: "X-PAYMENT", reason: "scheme and network are required" }))
        }
        const scheme = raw["scheme"]
        const network = raw["network"]
        return authorizationOf("X-PAYMENT", raw["payload"]).pipe(
          Result.map((authorization): Option.Option<Payment> =>
            Option.some({ version: 1, raw, scheme, network, authorization })
          )
        )
      })
    )
  }
  return Result.succeed(Option.none())
}

const same = (a: unknown, b: string) => typeof a === "string" && a.toLowerCase() === b.toLowerCase()

/**
 * Why a payment does not fit the route, or `undefined` when it does.
 *
 * @category predicates
 */
export const mismatch = (payment: Payment, route: Requirements.Route): string | undefined => {
  const { authorization } = payment
  if (payment.version === 2) {
    const accepted = payment.accepted
    if (accepted["scheme"] !== route.scheme) return `scheme ${String(accepted["scheme"])} is not ${route.scheme}`
    if (accepted["network"] !== route.network) return `network ${String(accepted["network"])} is not ${route.network}`
    if (!same(accepted["asset"], route.asset.address))
      return `asset ${String(accepted["asset"])} is not ${route.asset.address}`
    if (!same(accepted["payTo"], route.payTo)) return `payTo ${String(accepted["payTo"])} is not ${route.payTo}`
    if (accepted["amount"] !== route.amount)
      return `amount ${String(accepted["amount"])} is not the price ${route.amount}`
  } else {
    if (payment.scheme !== route.scheme) return `scheme ${payment.scheme} is not ${route.scheme}`
    const expected = Requirements.v1Networks[route.network] ?? route.network
    if (payment.network !== expected && payment.network !== route.network)
      return `network ${payment.network} is not ${expected}`
  }
  if (!same(authorization.to, route.payTo)) return `the authorization pays ${authorization.to}, not ${route.payTo}`
  if (!/^\d+$/u.test(authorization.value) || BigInt(authorization.value) !== BigInt(route.amount)) {
    return `the authorization is for ${authorization.value}, the price is ${route.amount}`
  }
  return undefined
}
