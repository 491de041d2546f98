import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import * as KubeError from "@obol/kube/KubeError"

const status = (code: number, reason: string, message: string, details?: object) => ({
  kind: "Status",
  apiVersion: "v1",
  status: "Failure",
  code,
  reason,
  message,
  ...(details === undefined ? {} : { details })
})

describe("KubeError", () => {
  it.each([
    [404, "NotFound", "NotFound"],
    [409, "AlreadyExists", "AlreadyExists"],
    [409, "Conflict", "Conflict"],
    [410, "Expired", "Gone"],
    [410, "Gone", "Gone"],
    [422, "Invalid", "Invalid"],
    [400, "BadRequest", "BadRequest"],
    [403, "Forbidden", "Forbidden"],
    [401, "Unauthorized", "Unauthorized"],
    [429, "TooManyRequests", "TooManyRequests"],
    [500, "InternalError", "ServerError"],
    [504, "Timeout", "ServerError"],
    [503, "ServiceUnavailable", "ServerError"]
  ] as const)("maps a %i Status with reason %s to %s", (code, reason, expected) => {
    const error = KubeError.fromResponse({ code, body: JSON.stringify(status(code, reason, "m")), request: "GET /x" })
    expect(error.reason).toBe(expected)
    expect(error.code).toBe(code)
    expect(error.message).toBe("m")
  })

  it("falls back to the HTTP code when the body is not a Status", () => {
    expect(KubeError.fromResponse({ code: 404, body: "404 page not found" }).reason).toBe("NotFound")
    expect(KubeError.fromResponse({ code: 502, body: "<html>bad gateway</html>" }).reason).toBe("ServerError")
    expect(KubeError.fromResponse({ code: 418, body: "" }).message).toBe("HTTP 418")
  })

  it("keeps the field causes of an Invalid answer", () => {
    const error = KubeError.fromResponse({
      code: 422,
      body: status(422, "Invalid", 'ServiceOffer.obol.org "x" is invalid', {
        causes: [{ reason: "FieldValueInvalid", message: "Invalid value", field: "spec.payment.payTo" }]
      })
    })
    expect(error.causes).toEqual([
      { reason: "FieldValueInvalid", message: "Invalid value", field: "spec.payment.payTo" }
    ])
  })

  it("reads Retry-After from the header, else from the Status details", () => {
    const fromHeader = KubeError.fromResponse({
      code: 429,
      body: status(429, "TooManyRequests", "slow down"),
      retryAfterHeader: "3"
    })
    expect(fromHeader.retryAfter).toEqual(Option.some(Duration.seconds(3)))
    const fromDetails = KubeError.fromResponse({
      code: 429,
      body: status(429, "TooManyRequests", "slow down", { retryAfterSeconds: 2 })
    })
    expect(fromDetails.retryAfterMillis).toBe(2000)
    expect(fromDetails.retryable).toBe(true)
    expect(KubeError.fromResponse({ code: 404, body: "" }).retryable).toBe(false)
  })

  it("parses Retry-After as seconds or as an HTTP date", () => {
    expect(KubeError.parseRetryAfter("1.5")).toBe(1500)
    expect(KubeError.parseRetryAfter("Fri, 27 Nov 2026 08:00:10 GMT", Date.parse("2026-11-27T08:00:00Z"))).toBe(10_000)
    expect(KubeError.parseRetryAfter("soon")).toBeUndefined()
  })

  it("offers guards per reason", () => {
    const notFound = KubeError.fromResponse({ code: 404, body: "" })
    expect(KubeError.isNotFound(notFound)).toBe(true)
    expect(KubeError.isConflict(notFound)).toBe(false)
    expect(KubeError.isKubeError(new Error("x"))).toBe(false)
  })

  it.effect("ignoreNotFound turns NotFound into None and keeps other failures", () =>
    Effect.gen(function* () {
      expect(yield* KubeError.ignoreNotFound(Effect.fail(KubeError.fromResponse({ code: 404, body: "" })))).toEqual(
        Option.none()
      )
      expect(yield* KubeError.ignoreNotFound(Effect.succeed(1))).toEqual(Option.some(1))
      const other = yield* Effect.flip(
        KubeError.ignoreNotFound(Effect.fail(KubeError.fromResponse({ code: 403, body: "" })))
      )
      expect(other.reason).toBe("Forbidden")
    })
  )
})
