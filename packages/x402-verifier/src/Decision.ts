/**
 * The verifier's answer to one ForwardAuth call, as a decision table. Fail closed in every row:
 *
 * | situation | answer |
 * |---|---|
 * | no route for the offer, or its current price not admitted | 503 |
 * | no payment header | 402 with the requirements |
 * | a payment header that cannot be read | 400 with the reason |
 * | a payment for another route, amount, asset, network or recipient | 402 with the reason |
 * | facilitator down, slow or answering garbage | 503 |
 * | facilitator says the payment is invalid | 402 with its reason |
 * | settlement fails | 402 with its reason |
 * | settled | 200 with the receipt headers for the upstream |
 *
 * Settlement happens here, before the upstream runs ("upfront" flow): ForwardAuth has no step after
 * the upstream. A charge counts only when the facilitator confirms the settlement.
 *
 * @since 0.1.0
 */
import { Effect, Option, Result } from "effect"
import * as Facilitator from "@obol/x402/Facilitator"
import * as Payment from "@obol/x402/Payment"
import * as Requirements from "@obol/x402/Requirements"

/**
 * @category models
 */
export interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
  /** `body` already encoded as JSON, when it was encoded ahead of time. */
  readonly bodyJson?: string
  /** An HTML page to send instead of `body` (a browser's 402, `Paywall.ts`). */
  readonly bodyHtml?: string
  /** For metrics and logs: what happened, in one word. */
  readonly outcome:
    | "Unknown"
    | "Required"
    | "Malformed"
    | "Mismatch"
    | "Unavailable"
    | "Invalid"
    | "SettleFailed"
    | "Settled"
}

const json = (
  status: number,
  outcome: Answer["outcome"],
  body: unknown,
  headers: Record<string, string> = {}
): Answer => ({
  status,
  outcome,
  headers: { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers },
  body
})

const required = (
  route: Requirements.Route,
  resource: Requirements.Resource,
  outcome: Answer["outcome"],
  error?: string
): Answer => {
  const answer = Requirements.paymentRequired(route, resource, error)
  return { status: 402, outcome, headers: answer.headers, body: answer.body, bodyJson: answer.bodyJson }
}

/**
 * What can be decided without the facilitator: every row of the table but the last three, or
 * the payment that still has to be verified and settled.
 *
 * @category models
 */
export type Local =
  | { readonly _tag: "Answered"; readonly answer: Answer }
  | {
      readonly _tag: "Settle"
      readonly route: Requirements.Route
      readonly payment: Payment.Payment
      readonly resource: Requirements.Resource
    }

/**
 * The local part of {@link decide}: no I/O, no fibre.
 *
 * @category constructors
 */
export const local = (input: {
  /** The admitted route of the offer, if there is one. */
  readonly route: Option.Option<Requirements.Route>
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly resource: Requirements.Resource
}): Local => localFor(Option.getOrUndefined(input.route), input.headers, input.resource)

const noAdmittedPrice: Local = {
  _tag: "Answered",
  answer: json(
    503,
    "Unknown",
    { error: "this offer has no admitted price yet; try again shortly" },
    { "Retry-After": "5" }
  )
}

/**
 * {@link local} with its input as arguments, the route `undefined` when there is none (no
 * objects built per request for the call).
 *
 * @category constructors
 */
export const localFor = (
  route: Requirements.Route | undefined,
  headers: Readonly<Record<string, string | undefined>>,
  resource: Requirements.Resource
): Local => {
  if (route === undefined) return noAdmittedPrice
  const read = Payment.fromHeaders(headers)
  if (Result.isFailure(read)) {
    return { _tag: "Answered", answer: json(400, "Malformed", { error: read.failure.message }) }
  }
  if (Option.isNone(read.success)) return { _tag: "Answered", answer: required(route, resource, "Required") }
  const payment = read.success.value
  const wrong = Payment.mismatch(payment, route)
  if (wrong !== undefined) return { _tag: "Answered", answer: required(route, resource, "Mismatch", wrong) }
  return { _tag: "Settle", route, payment, resource }
}

/**
 * Decides one request.
 *
 * @category constructors
 */
export const decide = (input: {
  /** The admitted route of the offer, if there is one. */
  readonly route: Option.Option<Requirements.Route>
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly resource: Requirements.Resource
}): Effect.Effect<Answer, never, Facilitator.Facilitator> => {
  const decided = local(input)
  return decided._tag === "Answered" ? Effect.succeed(decided.answer) : settle(decided)
}

/**
 * What a buyer reads when the facilitator could not be used, in words they can act on. The
 * facilitator's address and its error stay in the verifier's log: a buyer cannot act on them, and
 * an internal URL is not theirs to see. Before verification nothing can have been charged; after a
 * failed settle call the payment may still settle, but a signed payment settles at most once, so
 * paying again is a new payment.
 *
 * @category constructors
 */
export const unavailableMessage = (
  step: "verify" | "settle",
  reason: Facilitator.FacilitatorError["reason"]
): string => {
  const cause =
    reason === "Timeout"
      ? "did not answer in time"
      : reason === "BadResponse"
        ? "gave an answer that could not be read"
        : "is unavailable"
  return step === "verify"
    ? `the payment service ${cause}, so your payment was not checked and nothing was charged; try again shortly`
    : `the payment service ${cause} while settling your payment, so it could not be confirmed; check your wallet before paying again (this signed payment can settle at most once)`
}

/**
 * A payment that passed the local checks, for the facilitator.
 *
 * @category models
 */
export interface Checked {
  readonly route: Requirements.Route
  readonly payment: Payment.Payment
  readonly resource: Requirements.Resource
}

const facilitatorRequest = (input: Checked): Facilitator.Request => ({
  x402Version: input.payment.version,
  paymentPayload: input.payment.raw,
  paymentRequirements:
    input.payment.version === 2
      ? (Requirements.requirement(input.route) as unknown as Record<string, unknown>)
      : (Requirements.requirementV1(input.route, input.resource) as unknown as Record<string, unknown>)
})

const unavailable = (step: "verify" | "settle", error: Facilitator.FacilitatorError) =>
  Effect.logWarning(`The facilitator's ${step} failed`).pipe(
    Effect.annotateLogs({ reason: error.reason, error: error.message }),
    Effect.as(json(503, "Unavailable", { error: unavailableMessage(step, error.reason) }, { "Retry-After": "5" }))
  )

/**
 * The facilitator's verify of a checked payment: `"Verified"`, or the answer that refuses it
 * (402 invalid, 503 unavailable).
 *
 * @category constructors
 */
export const verify = (input: Checked): Effect.Effect<Answer | "Verified", never, Facilitator.Facilitator> =>
  Effect.gen(function* () {
    const facilitator = yield* Facilitator.Facilitator
    const verified = yield* facilitator.verify(facilitatorRequest(input)).pipe(Effect.result)
    if (Result.isFailure(verified)) return yield* unavailable("verify", verified.failure)
    if (!verified.success.isValid) {
      return required(input.route, input.resource, "Invalid", verified.success.invalidReason ?? "payment is invalid")
    }
    return "Verified" as const
  })

/**
 * The facilitator's settle of a verified payment: 200 with the receipt headers, 402 when the
 * facilitator declines, 503 when it cannot be reached.
 *
 * @category constructors
 */
export const settleVerified = (input: Checked): Effect.Effect<Answer, never, Facilitator.Facilitator> =>
  Effect.gen(function* () {
    const facilitator = yield* Facilitator.Facilitator
    const settled = yield* facilitator.settle(facilitatorRequest(input)).pipe(Effect.result)
    if (Result.isFailure(settled)) return yield* unavailable("settle", settled.failure)
    if (!settled.success.success) {
      return required(input.route, input.resource, "SettleFailed", settled.success.errorReason ?? "settlement failed")
    }
    const receipt = Buffer.from(JSON.stringify(settled.success)).toString("base64")
    return {
      status: 200,
      outcome: "Settled",
      body: undefined,
      headers: {
        [input.payment.version === 2 ? "PAYMENT-RESPONSE" : "X-PAYMENT-RESPONSE"]: receipt,
        "X-Payment-Status": "settled",
        ...(settled.success.transaction === undefined ? {} : { "X-Payment-Tx": settled.success.transaction }),
        ...(settled.success.payer === undefined ? {} : { "X-Payment-Payer": settled.success.payer })
      }
    } satisfies Answer
  })

/**
 * Verifies and settles a payment that passed the local checks (the last three rows).
 *
 * @category constructors
 */
export const settle = (input: Checked): Effect.Effect<Answer, never, Facilitator.Facilitator> =>
  Effect.flatMap(verify(input), (verified) =>
    verified === "Verified" ? settleVerified(input) : Effect.succeed(verified)
  )
