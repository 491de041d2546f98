/**
 * What a 402 answer carries: the x402 v2 `PAYMENT-REQUIRED` header (base64 of the JSON's UTF-8
 * bytes: `@x402/core`'s `encodePaymentRequiredHeader`, to the byte) and a JSON body in the v1
 * shape, so both generations of clients can pay. One route yields one "exact" requirement with the
 * resource URL and description filled in.
 *
 * Only `@x402/core`'s types are imported: its `http` entry point evaluates zod and every x402
 * schema when loaded, for one line of base64 here (the verifier's memory, docs/benchmarks.md).
 *
 * @since 0.1.0
 */
import type { PaymentRequired, PaymentRequirements } from "@x402/core/types"
import type { PaymentRequirementsV1 } from "@x402/core/types/v1"

/**
 * The priced route, as the verifier holds it (from a PaymentRoute).
 *
 * @category models
 */
export interface Route {
  readonly scheme: "exact"
  /** Atomic units, as a decimal integer string. */
  readonly amount: string
  /** CAIP-2, e.g. `eip155:84532`. */
  readonly network: `${string}:${string}`
  readonly asset: {
    readonly address: string
    readonly eip712Name: string
    readonly eip712Version: string
    /** For people (paywall pages); never part of the requirement sent to buyers or the facilitator. */
    readonly decimals?: number
  }
  readonly payTo: string
  readonly maxTimeoutSeconds: number
  readonly description: string
}

/**
 * @category models
 */
export interface Resource {
  /** The URL the buyer asked for (scheme, host and path from Traefik's X-Forwarded-* headers). */
  readonly url: string
  readonly mimeType?: string
}

/**
 * Chain names v1 clients know for the CAIP-2 ids we use.
 *
 * @category constants
 */
export const v1Networks: Readonly<Record<string, string>> = {
  "eip155:84532": "base-sepolia",
  "eip155:8453": "base",
  "eip155:1": "ethereum",
  "eip155:11155111": "sepolia",
  "eip155:137": "polygon",
  "eip155:80002": "polygon-amoy",
  "eip155:43114": "avalanche",
  "eip155:43113": "avalanche-fuji"
}

/**
 * The v2 requirement of a route.
 *
 * @category constructors
 */
export const requirement = (route: Route): PaymentRequirements => ({
  scheme: route.scheme,
  network: route.network,
  asset: route.asset.address,
  amount: route.amount,
  payTo: route.payTo,
  maxTimeoutSeconds: route.maxTimeoutSeconds,
  extra: { name: route.asset.eip712Name, version: route.asset.eip712Version }
})

/**
 * The v1 form of the same requirement.
 *
 * @category constructors
 */
export const requirementV1 = (route: Route, resource: Resource): PaymentRequirementsV1 => ({
  scheme: route.scheme,
  network: (v1Networks[route.network] ?? route.network) as PaymentRequirementsV1["network"],
  maxAmountRequired: route.amount,
  resource: resource.url,
  description: route.description,
  mimeType: resource.mimeType ?? "application/json",
  outputSchema: {},
  payTo: route.payTo,
  maxTimeoutSeconds: route.maxTimeoutSeconds,
  asset: route.asset.address,
  extra: { name: route.asset.eip712Name, version: route.asset.eip712Version }
})

/**
 * Headers and body of a 402 answer.
 *
 * @category models
 */
export interface PaymentRequiredAnswer {
  readonly headers: {
    readonly "PAYMENT-REQUIRED": string
    readonly "Content-Type": string
    readonly "Cache-Control": string
  }
  readonly body: {
    readonly x402Version: 1
    readonly error: string
    readonly accepts: ReadonlyArray<PaymentRequirementsV1>
  }
  /** `body` as JSON text, encoded once. */
  readonly bodyJson: string
}

const build = (route: Route, resource: Resource, error: string): PaymentRequiredAnswer => {
  const required: PaymentRequired = {
    x402Version: 2,
    error,
    resource: { url: resource.url, description: route.description, mimeType: resource.mimeType ?? "application/json" },
    accepts: [requirement(route)]
  }
  const body = Object.freeze({ x402Version: 1 as const, error, accepts: [requirementV1(route, resource)] })
  return Object.freeze({
    headers: Object.freeze({
      "PAYMENT-REQUIRED": Buffer.from(JSON.stringify(required), "utf8").toString("base64"),
      "Content-Type": "application/json",
      "Cache-Control": "no-store"
    }),
    body,
    bodyJson: JSON.stringify(body)
  })
}

/**
 * Answers remembered per route object (the verifier keeps one object per admitted route
 * generation, so an edited price is a new object and never meets a stale answer). Each route keeps
 * at most {@link answersPerRoute} distinct (resource, error) answers; past that its memory is
 * cleared, so a buyer walking many URLs costs work, not memory.
 */
const answers = new WeakMap<Route, Map<string, PaymentRequiredAnswer>>()

/**
 * @category constants
 */
export const answersPerRoute = 256

/**
 * Headers and body of a 402 answer. `error` says why (e.g. a mismatch reason) when a payment was
 * presented and refused. The answer is frozen and remembered for the same route object, resource
 * and error: encoding the `PAYMENT-REQUIRED` header is most of the cost of an unpaid request.
 *
 * @category constructors
 */
export const paymentRequired = (
  route: Route,
  resource: Resource,
  error = "Payment required"
): PaymentRequiredAnswer => {
  let byKey = answers.get(route)
  if (byKey === undefined) {
    byKey = new Map()
    answers.set(route, byKey)
  }
  const key = `${resource.mimeType ?? ""}\u0000${error}\u0000${resource.url}`
  const known = byKey.get(key)
  if (known !== undefined) return known
  if (byKey.size >= answersPerRoute) byKey.clear()
  const answer = build(route, resource, error)
  byKey.set(key, answer)
  return answer
}

/**
 * The amount a requirement asks, in atomic units as written: `amount` (v2) or
 * `maxAmountRequired` (v1); empty when neither is there.
 *
 * @category accessors
 */
export const amountOf = (option: PaymentRequirements | PaymentRequirementsV1): string => {
  const r = option as { readonly amount?: string; readonly maxAmountRequired?: string }
  return r.amount ?? r.maxAmountRequired ?? ""
}
