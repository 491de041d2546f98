/**
 * The one error the Kubernetes client fails with: a tagged `KubeError` whose `reason` says what
 * happened, mapped from the API server's `Status` body (its `reason` and `code`) or from the
 * transport. Callers match on the reason (`KubeError.isNotFound`, `Effect.catchTag` plus a
 * `reason` check) instead of parsing messages.
 *
 * Reasons:
 * - `NotFound`, `AlreadyExists`, `Conflict` (optimistic-concurrency or SSA field conflict),
 *   `Gone` (resourceVersion too old: relist), `Invalid` (with the field causes), `BadRequest`;
 * - `Forbidden`, `Unauthorized`;
 * - `TooManyRequests` (with `retryAfter`), `ServerError` (5xx, timeouts reported by the server);
 * - `Transport` (no HTTP answer), `Decode` (an answer that does not match the expected Schema).
 *
 * This module maps and classifies; it performs no requests.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Option, Predicate, Schema } from "effect"

/**
 * @category models
 */
export const Reason = Schema.Literals([
  "NotFound",
  "AlreadyExists",
  "Conflict",
  "Gone",
  "Invalid",
  "BadRequest",
  "Forbidden",
  "Unauthorized",
  "TooManyRequests",
  "ServerError",
  "Transport",
  "Decode"
])

/**
 * @category models
 */
export type Reason = typeof Reason.Type

/**
 * One field-level cause of an `Invalid` error, as the API server reports it.
 *
 * @category models
 */
export const Cause = Schema.Struct({
  reason: Schema.optionalKey(Schema.String),
  message: Schema.optionalKey(Schema.String),
  field: Schema.optionalKey(Schema.String)
})

/**
 * @category models
 */
export type Cause = typeof Cause.Type

/**
 * A Kubernetes API failure.
 *
 * @category errors
 */
export class KubeError extends Schema.TaggedError<KubeError>()("KubeError", {
  reason: Reason,
  message: Schema.String,
  /** HTTP status code, when the server answered. */
  code: Schema.optionalKey(Schema.Int),
  /** Verb and path of the request, e.g. `GET /api/v1/namespaces/x`. */
  request: Schema.optionalKey(Schema.String),
  /** Field causes of an `Invalid` (422) answer. */
  causes: Schema.optionalKey(Schema.Array(Cause)),
  /** Server's `Retry-After` (429, some 5xx), as a duration in milliseconds. */
  retryAfterMillis: Schema.optionalKey(Schema.Int)
}) {
  /** How long the server asked us to wait, if it did. */
  get retryAfter(): Option.Option<Duration.Duration> {
    return this.retryAfterMillis === undefined ? Option.none() : Option.some(Duration.millis(this.retryAfterMillis))
  }

  /** Whether retrying the same request later can succeed. */
  get retryable(): boolean {
    return this.reason === "TooManyRequests" || this.reason === "ServerError" || this.reason === "Transport"
  }
}

/**
 * The API server's `Status` body (the fields we use).
 *
 * @category models
 */
export const Status = Schema.Struct({
  kind: Schema.optionalKey(Schema.String),
  status: Schema.optionalKey(Schema.String),
  message: Schema.optionalKey(Schema.String),
  reason: Schema.optionalKey(Schema.String),
  code: Schema.optionalKey(Schema.Int),
  details: Schema.optionalKey(
    Schema.Struct({
      name: Schema.optionalKey(Schema.String),
      kind: Schema.optionalKey(Schema.String),
      causes: Schema.optionalKey(Schema.Array(Cause)),
      retryAfterSeconds: Schema.optionalKey(Schema.Int)
    })
  )
})

/**
 * @category models
 */
export type Status = typeof Status.Type

const byStatusReason: Record<string, Reason> = {
  NotFound: "NotFound",
  AlreadyExists: "AlreadyExists",
  Conflict: "Conflict",
  Gone: "Gone",
  Expired: "Gone",
  Invalid: "Invalid",
  BadRequest: "BadRequest",
  Forbidden: "Forbidden",
  Unauthorized: "Unauthorized",
  TooManyRequests: "TooManyRequests",
  InternalError: "ServerError",
  ServerTimeout: "ServerError",
  Timeout: "ServerError",
  ServiceUnavailable: "ServerError"
}

/**
 * Classifies an HTTP status code when the body gives no usable reason.
 *
 * @category constructors
 */
export const reasonOfCode = (code: number): Reason => {
  switch (code) {
    case 400:
      return "BadRequest"
    case 401:
      return "Unauthorized"
    case 403:
      return "Forbidden"
    case 404:
      return "NotFound"
    case 409:
      return "Conflict"
    case 410:
      return "Gone"
    case 422:
      return "Invalid"
    case 429:
      return "TooManyRequests"
    default:
      return code >= 500 ? "ServerError" : "BadRequest"
  }
}

const decodeStatus = Schema.decodeUnknownOption(Status)

/**
 * Parses a `Retry-After` header value (seconds; HTTP dates are rare from the API server and are
 * read too) into milliseconds.
 *
 * @category constructors
 */
export const parseRetryAfter = (value: string | undefined, now: number = Date.now()): number | undefined => {
  if (value === undefined || value.trim() === "") return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * Maps an error answer (status code, body, `Retry-After` header) to a {@link KubeError}.
 * A `Conflict` reason on a 409 from an `AlreadyExists` create is reported as `AlreadyExists`;
 * the Status `reason` wins over the code whenever it is one we know.
 *
 * @category constructors
 */
export const fromResponse = (options: {
  readonly code: number
  readonly body: unknown
  readonly request?: string
  readonly retryAfterHeader?: string | undefined
}): KubeError => {
  const parsed = typeof options.body === "string" ? safeJson(options.body) : options.body
  const status = decodeStatus(parsed).pipe(Option.getOrUndefined)
  const reason =
    (status?.reason !== undefined ? byStatusReason[status.reason] : undefined) ?? reasonOfCode(options.code)
  const retryAfterMillis =
    parseRetryAfter(options.retryAfterHeader) ??
    (status?.details?.retryAfterSeconds === undefined ? undefined : status.details.retryAfterSeconds * 1000)
  const message =
    status?.message ??
    (typeof options.body === "string" && options.body.trim() !== ""
      ? options.body.trim().slice(0, 500)
      : `HTTP ${options.code}`)
  return new KubeError({
    reason,
    message,
    code: options.code,
    ...(options.request === undefined ? {} : { request: options.request }),
    ...(status?.details?.causes === undefined ? {} : { causes: status.details.causes }),
    ...(retryAfterMillis === undefined ? {} : { retryAfterMillis })
  })
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * @category constructors
 */
export const transport = (request: string, cause: unknown): KubeError =>
  new KubeError({ reason: "Transport", message: `${request}: ${describe(cause)}`, request })

/**
 * @category constructors
 */
export const decode = (request: string, message: string): KubeError =>
  new KubeError({ reason: "Decode", message: `${request}: ${message}`, request })

const describe = (cause: unknown): string => {
  if (cause instanceof Error) {
    const inner = (cause as { cause?: unknown }).cause
    return inner instanceof Error ? `${cause.message} (${inner.message})` : cause.message
  }
  return String(cause)
}

/**
 * @category predicates
 */
export const isKubeError = (u: unknown): u is KubeError => Predicate.isTagged(u, "KubeError")

const is =
  (reason: Reason) =>
  (u: unknown): u is KubeError =>
    isKubeError(u) && u.reason === reason

/** @category predicates */
export const isNotFound = is("NotFound")
/** @category predicates */
export const isAlreadyExists = is("AlreadyExists")
/** @category predicates */
export const isConflict = is("Conflict")
/** @category predicates */
export const isGone = is("Gone")
/** @category predicates */
export const isInvalid = is("Invalid")
/** @category predicates */
export const isForbidden = is("Forbidden")

/**
 * Turns a `NotFound` failure into `Option.none()`: "get it if it exists".
 *
 * @category combinators
 */
export const ignoreNotFound = <A, E, R>(
  effect: Effect.Effect<A, E | KubeError, R>
): Effect.Effect<Option.Option<A>, E | KubeError, R> =>
  effect.pipe(
    Effect.map(Option.some),
    Effect.catchIf(isNotFound, () => Effect.succeed(Option.none<A>()))
  ) as Effect.Effect<Option.Option<A>, E | KubeError, R>
