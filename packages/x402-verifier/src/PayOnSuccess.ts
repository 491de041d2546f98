/**
 * Pay-on-success: the verifier in front of the upstream as a reverse proxy that charges only for
 * what the buyer gets (issue 16; `@x402/express` and obol-stack's seller gateway settle the same
 * way). A payment that passed the local checks (`Decision.local`) goes through this table:
 *
 * | what happens | the buyer gets | settle |
 * |---|---|---|
 * | the same payment is already in flight | 402, "already in use" | never a second one |
 * | the facilitator says invalid, or cannot verify | 402 / 503 (`Decision.verify`) | never |
 * | the upstream cannot be reached | 502 | never |
 * | the upstream sends no status line within the offer's timeout | 504 | never |
 * | the body is still running at the request deadline (`deadline`) | what was sent so far, then the connection is cut (no clean end: the buyer sees the answer is incomplete) | as above |
 * | the buyer goes away before the status line | (nothing; the upstream request is aborted) | never |
 * | the upstream answers ≥ 400 | its answer, as it is | never |
 * | the upstream answers < 400, settle confirmed | its status, headers and body, streamed, plus `PAYMENT-RESPONSE` | once, when the status line arrives, before any body byte |
 * | the upstream answers < 400, settle declined | 402 with the reason; the body is withheld | declined |
 * | the upstream answers < 400, facilitator unreachable | 503 (check your wallet); the body is withheld | unknown, at most once |
 *
 * Once settlement starts it is not interrupted (a buyer who leaves mid-settle is charged at most
 * once and gets nothing more), and a buyer leaving during the body has paid once for the answer.
 * Requests to the upstream lose the hop-by-hop headers and every payment header the buyer sent
 * (`@obol/x402/PaymentHeaders`) and gain `X-Forwarded-*`, `X-Payment-Status: verified` and
 * `X-Payment-Payer`, and the seller's credential as `Authorization` when the route has one (the
 * buyer's own `Authorization` passes through otherwise); answers lose the hop-by-hop headers.
 *
 * This module proxies one request to a given upstream URL. Choosing the route and the upstream
 * (and the HTTP route that calls this) is the caller's; it does not retry, cache or buffer bodies.
 *
 * @since 0.1.0
 */
import { Clock, Context, Data, Duration, Effect, Layer, Option, Redacted, Stream } from "effect"
import { HttpBody, HttpClient, HttpClientRequest, type HttpServerRequest, HttpServerResponse } from "effect/http"
import type * as Facilitator from "@obol/x402/Facilitator"
import type * as Payment from "@obol/x402/Payment"
import * as PaymentHeaders from "@obol/x402/PaymentHeaders"
import * as Decision from "./Decision.ts"
import * as Verifier from "./Verifier.ts"

/**
 * The answer's body was still running at the request deadline.
 *
 * @category errors
 */
export class DeadlineExceeded extends Data.TaggedError("DeadlineExceeded")<{ readonly deadline: number }> {
  override get message() {
    return "the upstream's answer did not end within the request timeout; the connection was cut"
  }
}

/**
 * Payments being served right now, keyed by payer and EIP-3009 nonce, so a concurrent duplicate
 * of an in-flight payment is refused locally instead of reaching the upstream (and the facilitator)
 * twice.
 *
 * @category services
 */
export class InFlight extends Context.Service<
  InFlight,
  { readonly claim: (key: string) => Effect.Effect<boolean>; readonly release: (key: string) => Effect.Effect<void> }
>()("@obol/x402-verifier/PayOnSuccess/InFlight") {
  /** One set per process. */
  static readonly layer: Layer.Layer<InFlight> = Layer.sync(InFlight, () => {
    const keys = new Set<string>()
    return {
      claim: (key) =>
        Effect.sync(() => {
          if (keys.has(key)) return false
          keys.add(key)
          return true
        }),
      release: (key) => Effect.sync(() => void keys.delete(key))
    }
  })
}

/**
 * The in-flight key of a payment: its payer and EIP-3009 nonce (unique per payer).
 *
 * @category accessors
 */
export const keyOf = (payment: Payment.Payment): string =>
  `${payment.authorization.from.toLowerCase()}|${payment.authorization.nonce.toLowerCase()}`

/** Headers that describe one connection, never forwarded (RFC 9110 §7.6.1), plus what we set ourselves. */
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length"
])

const connectionListed = (headers: Readonly<Record<string, string | undefined>>) =>
  new Set(
    (headers["connection"] ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== "")
  )

/**
 * The headers sent to the upstream: the buyer's, without hop-by-hop headers and without every
 * payment header (`@obol/x402/PaymentHeaders`: the payment is for us, and a buyer's
 * `X-Payment-Status` must not reach an upstream that trusts it), with `X-Forwarded-For/Host/Proto`
 * (appended to what a gateway in front already set), then `set` (lower-case names) over all of it.
 *
 * @category constructors
 */
export const upstreamHeaders = (
  headers: Readonly<Record<string, string | undefined>>,
  client: { readonly address?: string; readonly host?: string; readonly proto: string },
  set: Readonly<Record<string, string>> = {}
): Record<string, string> => {
  const listed = connectionListed(headers)
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase()
    if (value === undefined || hopByHop.has(lower) || PaymentHeaders.lowerCased.has(lower) || listed.has(lower)) {
      continue
    }
    out[lower] = value
  }
  if (client.address !== undefined) {
    out["x-forwarded-for"] =
      out["x-forwarded-for"] === undefined ? client.address : `${out["x-forwarded-for"]}, ${client.address}`
  }
  out["x-forwarded-host"] ??= client.host ?? headers["host"] ?? ""
  out["x-forwarded-proto"] ??= client.proto
  return Object.assign(out, set)
}

/**
 * The upstream's answer headers for the buyer: without hop-by-hop headers (the response is
 * re-framed here).
 *
 * @category constructors
 */
export const downstreamHeaders = (headers: Readonly<Record<string, string | undefined>>): Record<string, string> => {
  const listed = connectionListed(headers)
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase()
    if (value === undefined || hopByHop.has(lower) || listed.has(lower)) continue
    out[lower] = value
  }
  return out
}

/**
 * What happened, for metrics and logs.
 *
 * @category models
 */
export type Outcome =
  | "Duplicate"
  | "Refused"
  | "Unreachable"
  | "Timeout"
  | "NotCharged"
  | "Settled"
  | "SettleFailed"
  | "SettleUnavailable"

/**
 * @category models
 */
export interface Target {
  /** The payment, its route and resource, after `Decision.local`. */
  readonly checked: Decision.Checked
  /** The upstream's origin, e.g. `http://10.42.0.7:8080`. */
  readonly upstream: URL
  /** Path and query to ask the upstream for (the public prefix already removed), e.g. `/v1/chat?x=1`. */
  readonly path: string
  /** How long the upstream may take to send its status line: the offer's `maxTimeoutSeconds`. */
  readonly timeout: Duration.Duration
  /**
   * When the whole answer must have ended, in the Effect clock's milliseconds: the request's
   * arrival plus `PaymentRoute.requestTimeoutSeconds`. A body still running then is cut off with
   * an error, so the buyer's client sees an incomplete answer, never a truncated one that looks
   * whole. Unbounded when absent.
   */
  readonly deadline?: number
  /** The seller's credential for this upstream, sent as `Authorization` instead of the buyer's. */
  readonly authorization?: Redacted.Redacted<string>
}

const json = (status: number, error: string) =>
  HttpServerResponse.jsonUnsafe({ error }, { status, headers: { "Cache-Control": "no-store" } })

/**
 * Serves one paid request: verify, proxy, settle on the status line, stream (see the table above).
 *
 * @category constructors
 */
export const forward = Effect.fn("PayOnSuccess.forward")(function* (
  request: HttpServerRequest.HttpServerRequest,
  target: Target
) {
  const inFlight = yield* InFlight
  const key = keyOf(target.checked.payment)
  if (!(yield* inFlight.claim(key))) {
    return {
      outcome: "Duplicate" as Outcome,
      response: json(402, "this payment is already being used by another request in flight; sign a new one")
    }
  }
  return yield* serve(request, target).pipe(Effect.ensuring(inFlight.release(key)))
})

const serve = (
  request: HttpServerRequest.HttpServerRequest,
  target: Target
): Effect.Effect<
  { readonly outcome: Outcome; readonly response: HttpServerResponse.HttpServerResponse },
  never,
  Facilitator.Facilitator | HttpClient.HttpClient
> =>
  Effect.gen(function* () {
    const verified = yield* Decision.verify(target.checked)
    if (verified !== "Verified") return { outcome: "Refused" as const, response: Verifier.respond(verified) }

    const client = yield* HttpClient.HttpClient
    const headers = request.headers as Readonly<Record<string, string | undefined>>
    const hasBody = request.method !== "GET" && request.method !== "HEAD"
    const outgoing = HttpClientRequest.make(request.method as "GET")(new URL(target.path, target.upstream), {
      headers: upstreamHeaders(
        headers,
        {
          ...Option.match(request.remoteAddress, { onNone: () => ({}), onSome: (address) => ({ address }) }),
          proto: headers["x-forwarded-proto"] ?? "http"
        },
        {
          // What the upstream may rely on: the payment was verified (not settled yet), and by whom.
          "x-payment-status": "verified",
          "x-payment-payer": target.checked.payment.authorization.from,
          ...(target.authorization === undefined ? {} : { authorization: Redacted.value(target.authorization) })
        }
      ),
      ...(hasBody ? { body: HttpBody.stream(request.stream, headers["content-type"]) } : {})
    })
    const seconds = Math.round(Duration.toSeconds(target.timeout))
    /** The answer's body, failed at the request deadline (a hung or endless upstream holds nothing forever). */
    const bounded = <E>(body: Stream.Stream<Uint8Array, E>) =>
      target.deadline === undefined
        ? Effect.succeed(body as Stream.Stream<Uint8Array, E | DeadlineExceeded>)
        : Effect.map(Clock.currentTimeMillis, (now) =>
            body.pipe(
              Stream.interruptWhen(
                Effect.sleep(Duration.millis(Math.max(0, target.deadline! - now))).pipe(
                  Effect.andThen(Effect.fail(new DeadlineExceeded({ deadline: target.deadline! })))
                )
              )
            )
          )
    const head = yield* client.execute(outgoing).pipe(Effect.timeoutOption(target.timeout), Effect.result)
    if (head._tag === "Failure") {
      return {
        outcome: "Unreachable" as const,
        response: json(502, "the service could not be reached; nothing was charged, try again shortly")
      }
    }
    if (Option.isNone(head.success)) {
      return {
        outcome: "Timeout" as const,
        response: json(504, `the service did not answer within ${seconds} s; nothing was charged`)
      }
    }
    const upstream = head.success.value
    const answerHeaders = downstreamHeaders(upstream.headers as Readonly<Record<string, string | undefined>>)
    if (upstream.status >= 400) {
      // The buyer did not get what they paid for: pass the answer through and charge nothing.
      return {
        outcome: "NotCharged" as const,
        response: HttpServerResponse.stream(yield* bounded(upstream.stream), {
          status: upstream.status,
          headers: answerHeaders
        })
      }
    }
    // Settle once, on the status line, before any body byte; not interruptible once started.
    const settled = yield* Effect.uninterruptible(Decision.settleVerified(target.checked))
    if (settled.outcome !== "Settled") {
      return {
        outcome: settled.outcome === "SettleFailed" ? ("SettleFailed" as const) : ("SettleUnavailable" as const),
        response: Verifier.respond(settled)
      }
    }
    return {
      outcome: "Settled" as const,
      response: HttpServerResponse.stream(yield* bounded(upstream.stream), {
        status: upstream.status,
        headers: {
          ...answerHeaders,
          ...settled.headers,
          "access-control-expose-headers": "PAYMENT-RESPONSE, X-PAYMENT-RESPONSE"
        }
      })
    }
  })
