/**
 * A builder of ServiceOffers for tests and benchmarks, in the style of controller-rs's fixtures:
 * `ServiceOfferFixture.make("weather", { namespace }).paused().pricedPerMTok("1.25").build()`.
 *
 * The defaults are the smallest valid offer: an http offer of the Service named like the offer
 * (port 8080), paid per request ("0.001" USDC) on base-sepolia to a fixed test address. Each
 * modifier returns a new builder and leaves the one it was called on unchanged, so a base builder
 * can be shared by a whole file. `build()` gives the manifest as a client sends it (the encoded
 * form, schema defaults not applied), a fresh deep copy on every call; `decoded()` gives the
 * Schema-decoded `ServiceOffer` for pure functions.
 *
 * It performs no I/O and checks nothing on its own: `.with` can write an offer the CRD rejects,
 * which is what validation tests need; `decoded()` throws on such an offer, saying why.
 */
import { Result } from "effect"
import * as CustomResource from "../CustomResource.ts"
import { ServiceOffer } from "../ServiceOffer.ts"

type Encoded = typeof ServiceOffer.schema.Encoded
type Spec = Encoded["spec"]

/**
 * An offer as a client sends it (`client.create(ServiceOffer, manifest)`), always with a name
 * and a namespace.
 *
 * @category models
 */
export type Manifest = Encoded & { readonly metadata: { readonly name: string; readonly namespace: string } }

/**
 * A JSON merge patch (RFC 7386) of `T`: objects merge key by key, `null` removes a key, anything
 * else (arrays included) replaces what was there.
 *
 * @category models
 */
export type Patch<T> =
  T extends ReadonlyArray<unknown> ? T : T extends object ? { readonly [K in keyof T]?: Patch<T[K]> | null } : T

/**
 * The address that receives payments by default (anvil's second account, the local chain's seller).
 *
 * @category constants
 */
export const defaultPayTo = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

/**
 * The network paid on by default.
 *
 * @category constants
 */
export const defaultNetwork = "base-sepolia"

/**
 * The namespace of an offer made without one.
 *
 * @category constants
 */
export const defaultNamespace = "default"

/**
 * The time every condition a fixture writes carries, so builds compare equal.
 *
 * @category constants
 */
export const conditionTime = "2026-01-01T00:00:00Z"

/**
 * An immutable offer under construction: every modifier returns a new builder.
 *
 * @category models
 */
export interface ServiceOfferFixture {
  readonly name: string
  readonly namespace: string
  /** `spec.paused` (default `true`). */
  readonly paused: (paused?: boolean) => ServiceOfferFixture
  /** `spec.registration`: `{ enabled: true }` plus `registration`, replacing any earlier one. */
  readonly withRegistration: (registration?: Patch<NonNullable<Spec["registration"]>>) => ServiceOfferFixture
  /** `spec.payment.price` becomes `{ perRequest: price }` alone. */
  readonly pricedPerRequest: (price: string) => ServiceOfferFixture
  /** `spec.payment.price` becomes `{ perMTok: price }` alone. */
  readonly pricedPerMTok: (price: string) => ServiceOfferFixture
  /** `spec.payment.price` becomes `{ perHour: price }` alone. */
  readonly pricedPerHour: (price: string) => ServiceOfferFixture
  /** `spec.type: inference` with `spec.model` (default qwen3.5:35b on ollama). */
  readonly inference: (model?: NonNullable<Spec["model"]>) => ServiceOfferFixture
  /** Sets the given fields of `spec.upstream`; the others (port 8080 by default) stay. */
  readonly upstream: (upstream: Patch<Spec["upstream"]>) => ServiceOfferFixture
  /** `spec.path`. */
  readonly path: (path: string) => ServiceOfferFixture
  /** `spec.payment.settlement`. */
  readonly settlement: (settlement: "onSuccess" | "upfront") => ServiceOfferFixture
  /** `spec.payment.payTo`. */
  readonly payTo: (address: string) => ServiceOfferFixture
  /** `spec.payment.network`. */
  readonly network: (network: string) => ServiceOfferFixture
  /**
   * `status.conditions` gets a `Ready` condition, True or False (default True), replacing an
   * earlier one; what `WellKnown` and the CLI read.
   */
  readonly ready: (ready?: boolean) => ServiceOfferFixture
  /** Anything else, as a JSON merge patch of the whole manifest (`null` removes a field). */
  readonly with: (patch: Patch<Encoded>) => ServiceOfferFixture
  /** The manifest, a fresh deep copy on every call. */
  readonly build: () => Manifest
  /**
   * The offer decoded with its Schema (defaults applied), as the API server would store it, a
   * fresh value on every call. Throws when the Schema rejects it.
   */
  readonly decoded: () => ServiceOffer
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** RFC 7386 merge: returns new objects along the patched paths and shares the rest. */
const merge = (target: unknown, patch: unknown): unknown => {
  if (!isRecord(patch)) return patch
  const result: Record<string, unknown> = isRecord(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key]
    else if (value !== undefined) result[key] = merge(result[key], value)
  }
  return result
}

const fixture = (manifest: Manifest): ServiceOfferFixture => {
  const patched = (patch: Patch<Encoded>) => fixture(merge(manifest, patch) as Manifest)
  // A price modifier replaces the price: merging would keep the default perRequest, which wins.
  const priced = (price: NonNullable<Spec["payment"]["price"]>) =>
    fixture({ ...manifest, spec: { ...manifest.spec, payment: { ...manifest.spec.payment, price } } })
  return {
    name: manifest.metadata.name,
    namespace: manifest.metadata.namespace,
    paused: (paused = true) => patched({ spec: { paused } }),
    withRegistration: (registration = {}) =>
      fixture({
        ...manifest,
        spec: { ...manifest.spec, registration: merge({ enabled: true }, registration) as never }
      }),
    pricedPerRequest: (perRequest) => priced({ perRequest }),
    pricedPerMTok: (perMTok) => priced({ perMTok }),
    pricedPerHour: (perHour) => priced({ perHour }),
    inference: (model = { name: "qwen3.5:35b", runtime: "ollama" }) =>
      fixture({ ...manifest, spec: { ...manifest.spec, type: "inference", model } }),
    upstream: (upstream) => patched({ spec: { upstream } }),
    path: (path) => patched({ spec: { path } }),
    settlement: (settlement) => patched({ spec: { payment: { settlement } } }),
    payTo: (payTo) => patched({ spec: { payment: { payTo } } }),
    network: (network) => patched({ spec: { payment: { network } } }),
    ready: (ready = true) => {
      const others = (manifest.status?.conditions ?? []).filter((c) => c.type !== "Ready")
      const condition = {
        type: "Ready",
        status: ready ? ("True" as const) : ("False" as const),
        reason: ready ? "Ready" : "NotReady",
        message: "",
        lastTransitionTime: conditionTime
      }
      return fixture({ ...manifest, status: { ...manifest.status, conditions: [...others, condition] } })
    },
    with: patched,
    build: () => structuredClone(manifest),
    decoded: () => {
      const result = CustomResource.decodeResult(ServiceOffer, structuredClone(manifest))
      if (Result.isFailure(result)) throw new Error(result.failure.message)
      return result.success
    }
  }
}

/**
 * A builder for the offer `name` in `namespace` (default `"default"`), starting from the
 * defaults in the module header.
 *
 * @example
 * ```ts
 * import * as ServiceOfferFixture from "@obol/api/testing/ServiceOfferFixture"
 *
 * const weather = ServiceOfferFixture.make("weather", { namespace: "sellers" })
 * weather.pricedPerMTok("1.25").build().spec.payment.price // => { perMTok: "1.25" }
 * weather.build().spec.payment.price // => { perRequest: "0.001" }
 * ```
 *
 * @category constructors
 */
export const make = (name: string, options: { readonly namespace?: string } = {}): ServiceOfferFixture =>
  fixture({
    apiVersion: ServiceOffer.apiVersion,
    kind: ServiceOffer.kind,
    metadata: { name, namespace: options.namespace ?? defaultNamespace },
    spec: {
      upstream: { service: name, port: 8080 },
      payment: { network: defaultNetwork, payTo: defaultPayTo, price: { perRequest: "0.001" } }
    }
  })
