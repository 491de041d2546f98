/**
 * The x402 facilitator as an Effect service: `verify` and `settle` a payment, and the cached list
 * of what it supports. A refused payment is a value (`isValid: false`, `success: false`); only an
 * unusable facilitator is an error (`FacilitatorError`: Unavailable, Timeout, BadResponse), which
 * the verifier answers with 503 (fail closed: never 200 without a settled payment).
 *
 * `layer` talks HTTP (`POST /verify`, `POST /settle`, `GET /supported`) with a per-call timeout;
 * facilitator URLs must be https, except on loopback. `layerMemory` answers from functions, for
 * unit tests.
 *
 * @since 0.1.0
 */
import { Clock, Context, Data, Duration, Effect, Layer, Schema } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"

/**
 * @category errors
 */
export class FacilitatorError extends Data.TaggedError("FacilitatorError")<{
  readonly reason: "Unavailable" | "Timeout" | "BadResponse"
  readonly message: string
}> {}

/**
 * @category models
 */
export const VerifyResponse = Schema.Struct({
  isValid: Schema.Boolean,
  invalidReason: Schema.optionalKey(Schema.String),
  invalidMessage: Schema.optionalKey(Schema.String),
  payer: Schema.optionalKey(Schema.String)
})

/**
 * @category models
 */
export type VerifyResponse = typeof VerifyResponse.Type

/**
 * @category models
 */
export const SettleResponse = Schema.Struct({
  success: Schema.Boolean,
  errorReason: Schema.optionalKey(Schema.String),
  errorMessage: Schema.optionalKey(Schema.String),
  transaction: Schema.optionalKey(Schema.String),
  network: Schema.optionalKey(Schema.String),
  payer: Schema.optionalKey(Schema.String)
})

/**
 * @category models
 */
export type SettleResponse = typeof SettleResponse.Type

/**
 * @category models
 */
export const Supported = Schema.Struct({
  kinds: Schema.Array(
    Schema.Struct({
      x402Version: Schema.Int,
      scheme: Schema.String,
      network: Schema.String,
      extra: Schema.optionalKey(Schema.Unknown)
    })
  )
})

/**
 * @category models
 */
export type Supported = typeof Supported.Type

/**
 * What verify and settle receive: the decoded payload and the requirement, both as JSON.
 *
 * @category models
 */
export interface Request {
  readonly x402Version: 1 | 2
  readonly paymentPayload: Record<string, unknown>
  readonly paymentRequirements: Record<string, unknown>
}

/**
 * @category models
 */
export interface Shape {
  readonly supported: Effect.Effect<Supported, FacilitatorError>
  readonly verify: (request: Request) => Effect.Effect<VerifyResponse, FacilitatorError>
  readonly settle: (request: Request) => Effect.Effect<SettleResponse, FacilitatorError>
}

/**
 * @category services
 */
export class Facilitator extends Context.Service<Facilitator, Shape>()("@obol/x402/Facilitator") {}

/**
 * Refuses facilitator URLs that are not https, except on loopback (a local facilitator).
 *
 * @category predicates
 */
export const checkUrl = (url: string): string | undefined => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return `facilitator URL ${JSON.stringify(url)} is not a URL`
  }
  const loopback =
    parsed.hostname === "localhost" || parsed.hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/u.test(parsed.hostname)
  if (parsed.protocol === "https:" || (parsed.protocol === "http:" && loopback)) return undefined
  return `facilitator URL ${url} must use https (plain http is allowed on loopback only)`
}

/**
 * The HTTP facilitator at `url`.
 *
 * @category layers
 */
export const layer = (options: {
  readonly url: string
  readonly timeout?: Duration.Input
  /** How long `/supported` is cached. Default 5 minutes. */
  readonly supportedTtl?: Duration.Input
}): Layer.Layer<Facilitator, never, HttpClient.HttpClient> =>
  Layer.effect(
    Facilitator,
    Effect.gen(function* () {
      const problem = checkUrl(options.url)
      if (problem !== undefined) return yield* Effect.die(new Error(problem))
      const http = yield* HttpClient.HttpClient
      const base = options.url.replace(/\/+$/u, "")
      const timeout = Duration.fromInputUnsafe(options.timeout ?? "10 seconds")
      const call = <S extends Schema.Codec<any, any, never, never>>(
        request: HttpClientRequest.HttpClientRequest,
        schema: S,
        label: string
      ): Effect.Effect<S["Type"], FacilitatorError> =>
        http.execute(request).pipe(
          Effect.mapError(
            (error) => new FacilitatorError({ reason: "Unavailable", message: `${label}: ${error.message}` })
          ),
          Effect.flatMap((response) =>
            response.status >= 500
              ? Effect.fail(
                  new FacilitatorError({ reason: "Unavailable", message: `${label}: HTTP ${response.status}` })
                )
              : response.json.pipe(
                  Effect.flatMap((json) => Schema.decodeUnknownEffect(schema)(json)),
                  Effect.mapError(
                    (error) =>
                      new FacilitatorError({
                        reason: "BadResponse",
                        message: `${label}: HTTP ${response.status}: ${error.message}`
                      })
                  )
                )
          ),
          Effect.timeoutOrElse({
            duration: timeout,
            orElse: () =>
              Effect.fail(
                new FacilitatorError({
                  reason: "Timeout",
                  message: `${label}: no answer within ${Duration.format(timeout)}`
                })
              )
          })
        )
      const post =
        <S extends Schema.Codec<any, any, never, never>>(path: string, schema: S) =>
        (request: Request) =>
          call(
            HttpClientRequest.post(`${base}${path}`).pipe(HttpClientRequest.bodyJsonUnsafe(request)),
            schema,
            `POST ${path}`
          )

      const ttl = Duration.toMillis(Duration.fromInputUnsafe(options.supportedTtl ?? "5 minutes"))
      let cached: { value: Supported; at: number } | undefined
      const supported = Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        if (cached !== undefined && now - cached.at < ttl) return cached.value
        const value = yield* call(HttpClientRequest.get(`${base}/supported`), Supported, "GET /supported")
        cached = { value, at: now }
        return value
      })
      return Facilitator.of({
        supported,
        verify: post("/verify", VerifyResponse),
        settle: post("/settle", SettleResponse)
      })
    })
  )

/**
 * A facilitator answering from functions, for tests.
 *
 * @category layers
 */
export const layerMemory = (shape: Shape): Layer.Layer<Facilitator> => Layer.succeed(Facilitator, Facilitator.of(shape))
