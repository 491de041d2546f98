import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as CustomResource from "@obol/api/CustomResource"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { minimalOffer, readManifest, repoRoot } from "./utils/manifests.ts"

const decode = (input: unknown, options?: CustomResource.DecodeOptions) =>
  CustomResource.decodeResult(ServiceOffer, input, options)

const problems = (input: unknown) => {
  const result = decode(input)
  if (Result.isSuccess(result)) throw new Error("expected decoding to fail")
  return result.failure.problems.map((p) => `${p.path}: ${p.message}`)
}

describe("ServiceOffer", () => {
  const samples = readdirSync(join(repoRoot, "deploy", "samples")).filter((f) => f.startsWith("serviceoffer-"))

  it("has the four samples the docs refer to", () => {
    expect(samples.toSorted()).toEqual([
      "serviceoffer-http-per-request.yaml",
      "serviceoffer-inference-per-mtok.yaml",
      "serviceoffer-paused.yaml",
      "serviceoffer-upfront.yaml"
    ])
  })

  it.each(samples)("decodes the sample %s strictly (no unknown fields)", (file) => {
    const result = decode(readManifest(`deploy/samples/${file}`), { strict: true })
    expect(Result.isSuccess(result) ? "ok" : result.failure.message).toBe("ok")
  })

  it("decodes an obol-stack manifest that uses every original field, keeping every value", () => {
    const manifest = readManifest("packages/api/test/fixtures/obol-stack-serviceoffer.yaml")
    const result = decode(manifest, { strict: true })
    if (Result.isFailure(result)) throw new Error(result.failure.message)
    const offer = result.success
    const spec = manifest["spec"] as { readonly payment: object }
    expect(offer.spec).toEqual({ ...spec, paused: false, payment: { ...spec.payment, settlement: "onSuccess" } })
    expect(offer.status?.agentId).toBe("0")
  })

  it("applies the obol-stack defaults to omitted fields", () => {
    const result = decode(minimalOffer())
    if (Result.isFailure(result)) throw new Error(result.failure.message)
    const { spec } = result.success
    expect(spec.type).toBe("http")
    expect(spec.paused).toBe(false)
    expect(spec.upstream.port).toBe(11434)
    expect(spec.upstream.healthPath).toBe("/health")
    expect(spec.payment.scheme).toBe("exact")
    expect(spec.payment.maxTimeoutSeconds).toBe(300)
    expect(spec.upstream.namespace).toBeUndefined()
  })

  it("rejects unknown fields only in strict mode, naming the field", () => {
    const offer = minimalOffer()
    offer.spec.payment.pricce = { perRequest: "1" }
    expect(Result.isSuccess(decode(offer))).toBe(true)
    const strict = decode(offer, { strict: true })
    expect(Result.isFailure(strict) && strict.failure.problems.map((p) => p.path)).toEqual(["spec.payment.pricce"])
  })

  const invalid: ReadonlyArray<readonly [string, (o: any) => void, ReadonlyArray<string>]> = [
    [
      "a short payTo address",
      (o) => (o.spec.payment.payTo = "0x1234"),
      ['spec.payment.payTo: Expected an 0x-prefixed 20-byte hex address (0x + 40 hex digits), got "0x1234"']
    ],
    [
      "a path without a leading slash",
      (o) => (o.spec.path = "services/x"),
      [
        `spec.path: Expected a URL path starting with / using only letters, digits, '/', '_', '.' and '-', got "services/x"`
      ]
    ],
    [
      "a path with a query string",
      (o) => (o.spec.path = "/services/x?a=1"),
      [
        `spec.path: Expected a URL path starting with / using only letters, digits, '/', '_', '.' and '-', got "/services/x?a=1"`
      ]
    ],
    ["port 0", (o) => (o.spec.upstream.port = 0), ["spec.upstream.port: Expected a value between 1 and 65535, got 0"]],
    [
      "port 65536",
      (o) => (o.spec.upstream.port = 65536),
      ["spec.upstream.port: Expected a value between 1 and 65535, got 65536"]
    ],
    ["a fractional port", (o) => (o.spec.upstream.port = 80.5), ["spec.upstream.port: Expected an integer, got 80.5"]],
    [
      "a float price",
      (o) => (o.spec.payment.price.perRequest = 0.001),
      ["spec.payment.price.perRequest: Expected string, got 0.001"]
    ],
    [
      "a price in exponent notation",
      (o) => (o.spec.payment.price.perRequest = "1e-3"),
      [
        'spec.payment.price.perRequest: Expected a decimal number such as "0.001" or "5" (no sign, exponent or leading dot), got "1e-3"'
      ]
    ],
    [
      "a negative price",
      (o) => (o.spec.payment.price.perMTok = "-1"),
      [
        'spec.payment.price.perMTok: Expected a decimal number such as "0.001" or "5" (no sign, exponent or leading dot), got "-1"'
      ]
    ],
    [
      "no price at all",
      (o) => (o.spec.payment.price = {}),
      ["spec.payment.price: at least one of perRequest, perMTok or perHour must be set"]
    ],
    [
      "only the unused perEpoch price",
      (o) => (o.spec.payment.price = { perEpoch: "1" }),
      ["spec.payment.price: at least one of perRequest, perMTok or perHour must be set"]
    ],
    [
      "an unknown offer type",
      (o) => (o.spec.type = "rpc"),
      ['spec.type: Expected "inference" | "fine-tuning" | "http", got "rpc"']
    ],
    [
      "an unknown runtime",
      (o) => (o.spec.model = { name: "m", runtime: "llamacpp" }),
      ['spec.model.runtime: Expected "ollama" | "vllm" | "tgi", got "llamacpp"']
    ],
    [
      "an unknown scheme",
      (o) => (o.spec.payment.scheme = "upto"),
      ['spec.payment.scheme: Expected "exact", got "upto"']
    ],
    [
      "maxTimeoutSeconds 0",
      (o) => (o.spec.payment.maxTimeoutSeconds = 0),
      ["spec.payment.maxTimeoutSeconds: Expected a value between 1 and 3600, got 0"]
    ],
    [
      "maxTimeoutSeconds above an hour",
      (o) => (o.spec.payment.maxTimeoutSeconds = 3601),
      ["spec.payment.maxTimeoutSeconds: Expected a value between 1 and 3600, got 3601"]
    ],
    [
      "an inference offer without a model",
      (o) => (o.spec.type = "inference"),
      ["spec.model: model is required when type is inference"]
    ],
    [
      "an empty upstream service (obol-stack accepted it)",
      (o) => (o.spec.upstream.service = ""),
      [
        `spec.upstream.service: Expected a Service name: lower-case letters, digits and '-', starting with a letter, got ""`
      ]
    ],
    ["a missing upstream", (o) => delete o.spec.upstream, ["spec.upstream: Missing key"]],
    [
      "a registration service without endpoint",
      (o) => (o.spec.registration = { enabled: true, services: [{ name: "web" }] }),
      ["spec.registration.services[0].endpoint: Missing key"]
    ],
    ["a wrong kind", (o) => (o.kind = "PaymentRoute"), ['kind: Expected "ServiceOffer", got "PaymentRoute"']]
  ]

  it.each(invalid)("rejects %s with a path-qualified message", (_, breakIt, expected) => {
    const offer = minimalOffer()
    breakIt(offer)
    expect(problems(offer)).toEqual(expected)
  })

  it("reports every problem at once, not just the first", () => {
    const offer = minimalOffer()
    offer.spec.upstream.port = 0
    offer.spec.payment.payTo = "nope"
    expect(problems(offer).map((line) => line.split(":")[0])).toEqual(["spec.upstream.port", "spec.payment.payTo"])
  })

  it("names the object in the error message", () => {
    const offer = minimalOffer()
    offer.spec.upstream.port = 0
    const result = decode(offer)
    expect(Result.isFailure(result) && result.failure.message).toBe(
      "invalid ServiceOffer demo:\n  spec.upstream.port: Expected a value between 1 and 65535, got 0"
    )
  })
})
