import { describe, expect, it } from "@effect/vitest"
import { expectTypeOf } from "vitest"
import { Result } from "effect"
import * as CustomResource from "@obol/api/CustomResource"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import * as ServiceOfferFixture from "@obol/api/testing/ServiceOfferFixture"
import { HTTPRoute } from "@obol/kube/builtin/HTTPRoute"
import { Middleware } from "@obol/kube/builtin/Middleware"
import type { ReferenceGrant } from "@obol/kube/builtin/ReferenceGrant"
import type { ApplyConfiguration } from "@obol/kube/ApplyConfiguration"
import { Schema } from "effect"
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { parse, stringify } from "yaml"
import * as Children from "@obol/serviceoffer-controller/Children"
import * as Names from "@obol/api/Names"
import * as Requirements from "@obol/x402/Requirements"

const repoRoot = join(import.meta.dirname, "..", "..", "..")

/** Decodes a manifest file as a ServiceOffer that the API server has stored (uid, namespace). */
const offerFrom = (relative: string, uid = "00000000-0000-4000-8000-000000000001") => {
  const raw = parse(readFileSync(join(repoRoot, relative), "utf8"))
  raw.metadata = { namespace: "default", ...raw.metadata, uid, generation: 1 }
  delete raw.status
  const decoded = CustomResource.decodeResult(ServiceOffer, raw)
  if (Result.isFailure(decoded)) throw new Error(decoded.failure.message)
  return decoded.success
}

const settings = { ...Children.defaultSettings, publicBaseUrl: "https://seller.example" }

/** The pin the reconciler would give the Middleware once the verifier admitted generation 1. */
const pin = { route: "00000000-0000-4000-8000-00000000000a", generation: 1 }

/** The same offer, charged upfront through Traefik ForwardAuth instead of the default pay-on-success. */
const upfront = (offer: ReturnType<typeof offerFrom>): ReturnType<typeof offerFrom> => ({
  ...offer,
  spec: { ...offer.spec, payment: { ...offer.spec.payment, settlement: "upfront" } }
})

/**
 * What the reconciler applies once the verifier admitted generation 1: upfront, the Middleware
 * pins the route; pay-on-success, the HTTPRoute's header does and there is no Middleware.
 */
const desiredOf = (offer: ReturnType<typeof offerFrom>) => {
  const result = Children.desired(offer, settings)
  if (Result.isFailure(result)) throw new Error(result.failure.message)
  return Children.settlementOf(offer) === "upfront"
    ? {
        ...result.success,
        middleware: Children.middleware(offer, settings, pin),
        referenceGrant: Children.upstreamGrant(offer, settings)
      }
    : {
        ...result.success,
        httpRoute: Children.httpRoute(offer, settings, pin),
        middleware: undefined,
        referenceGrant: Children.referenceGrant(offer, settings)
      }
}

const goldens: ReadonlyArray<
  readonly [string, string, ((offer: ReturnType<typeof offerFrom>) => ReturnType<typeof offerFrom>)?]
> = [
  ["deploy/samples/serviceoffer-http-per-request.yaml", "http-per-request.yaml"],
  ["deploy/samples/serviceoffer-inference-per-mtok.yaml", "inference-per-mtok.yaml"],
  ["deploy/samples/serviceoffer-paused.yaml", "paused.yaml"],
  ["deploy/samples/serviceoffer-upfront.yaml", "upfront.yaml"],
  ["packages/api/test/fixtures/obol-stack-serviceoffer.yaml", "obol-stack.yaml"],
  // obol-stack's shape charged upfront: the Gateway reaches llm/litellm itself, so llm grants it.
  ["packages/api/test/fixtures/obol-stack-serviceoffer.yaml", "obol-stack-upfront.yaml", upfront]
]

describe("Children", () => {
  it.each(goldens)("renders the children of %s as in golden/%s", (...row) => {
    const [sample, golden, transform] = row as unknown as (typeof goldens)[number]
    const desired = desiredOf((transform ?? ((o) => o))(offerFrom(sample)))
    const text = [
      desired.middleware,
      desired.paymentRoute,
      desired.httpRoute,
      desired.referenceGrant,
      desired.registrationRequest
    ]
      .filter((m) => m !== undefined)
      .map((m) => stringify(m, { lineWidth: 0 }))
      .join("---\n")
    const file = join(import.meta.dirname, "golden", golden)
    if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(file, text)
    if (!existsSync(file)) throw new Error(`missing golden file ${file}; run with UPDATE_GOLDEN=1 and review it`)
    expect(text).toBe(readFileSync(file, "utf8"))
  })

  it.each(goldens)("produces children of %s that their own Schemas accept", (...row) => {
    const [sample, , transform] = row as unknown as (typeof goldens)[number]
    const desired = desiredOf((transform ?? ((o) => o))(offerFrom(sample)))
    expect(Result.isSuccess(CustomResource.decodeResult(PaymentRoute, desired.paymentRoute, { strict: true }))).toBe(
      true
    )
    const rr =
      desired.registrationRequest === undefined
        ? undefined
        : CustomResource.decodeResult(RegistrationRequest, desired.registrationRequest, { strict: true })
    expect(rr === undefined || Result.isSuccess(rr) ? "ok" : rr.failure.message).toBe("ok")
    expect(() => Schema.decodeUnknownSync(HTTPRoute.schema)(desired.httpRoute)).not.toThrow()
    expect(() =>
      desired.middleware === undefined
        ? undefined
        : Schema.decodeUnknownSync(Middleware.schema)(desired.middleware, { onExcessProperty: "error" })
    ).not.toThrow()
  })

  it("names the offer in the ForwardAuth address and pins the admitted route and generation", () => {
    const offer = offerFrom("deploy/samples/serviceoffer-http-per-request.yaml")
    expect(
      (Children.middleware(offer, settings, { route: "r-1", generation: 7 }).spec as any).forwardAuth.address
    ).toBe("http://x402-verifier.x402.svc.cluster.local:8080/verify/sellers/weather-api?route=r-1&generation=7")
    const queried = { ...settings, verifierAddress: "http://verifier/verify/{namespace}/{name}?tenant=a" }
    expect((Children.middleware(offer, queried, { route: "r-1", generation: 7 }).spec as any).forwardAuth.address).toBe(
      "http://verifier/verify/sellers/weather-api?tenant=a&route=r-1&generation=7"
    )
  })

  it("lists every payment header the verifier reads or writes in authResponseHeaders, so Traefik strips the buyer's", () => {
    // Every header name in the verifier and its x402 library: what it reads (the payment) and
    // what it writes (402 requirements, receipts). Traefik deletes the buyer's copy of each listed
    // name before the upstream sees the request, so none of them can be forged.
    const headerName = /["'`]((?:x-)?payment(?:-[a-z0-9]+)+|x-payment)["'`]/giu
    const used = new Set<string>()
    for (const dir of ["packages/x402/src", "packages/x402-verifier/src"]) {
      for (const file of readdirSync(join(repoRoot, dir), { recursive: true, encoding: "utf8" })) {
        if (!file.endsWith(".ts")) continue
        for (const match of readFileSync(join(repoRoot, dir, file), "utf8").matchAll(headerName)) {
          used.add(match[1]!.toLowerCase())
        }
      }
    }
    expect([...used].toSorted()).toEqual(
      expect.arrayContaining([
        "payment-signature",
        "x-payment",
        "payment-required",
        "payment-response",
        "x-payment-response",
        "x-payment-status",
        "x-payment-tx",
        "x-payment-payer"
      ])
    )
    const listed = new Set(Children.authResponseHeaders.map((name) => name.toLowerCase()))
    expect([...used].filter((name) => !listed.has(name))).toEqual([])
    const offer = offerFrom("deploy/samples/serviceoffer-http-per-request.yaml")
    expect((Children.middleware(offer, settings, pin).spec as any).forwardAuth.authResponseHeaders).toEqual([
      ...Children.authResponseHeaders
    ])
  })

  it("bounds the ForwardAuth answer body far above the verifier's largest 402", () => {
    const desired = desiredOf(upfront(offerFrom("deploy/samples/serviceoffer-http-per-request.yaml")))
    const spec = desired.paymentRoute.spec as any
    expect((desired.middleware!.spec as any).forwardAuth.maxResponseBodySize).toBe(Children.maxResponseBodySize)
    expect(Children.maxResponseBodySize).toBe(64 * 1024)
    // The 402 body the verifier sends for this route, with the longest description a PaymentRoute
    // allows and a 4 KiB request URL.
    const answer = Requirements.paymentRequired(
      {
        scheme: "exact",
        amount: spec.price,
        network: spec.network,
        asset: spec.asset,
        payTo: spec.payTo,
        maxTimeoutSeconds: spec.maxTimeoutSeconds,
        description: "d".repeat(1024)
      },
      { url: `https://seller.example/services/weather-api/${"p".repeat(4096)}` },
      "payment does not match the route's requirement: amount"
    )
    const bytes = Buffer.byteLength(answer.bodyJson)
    expect(bytes).toBeGreaterThan(1024 + 4096)
    expect(bytes * 8).toBeLessThan(Children.maxResponseBodySize)
  })

  it("prices exactly: 0.001 USDC per request is 1000 atomic units; 1.25 per MTok at 1000 tokens is 1250", () => {
    expect(
      (desiredOf(offerFrom("deploy/samples/serviceoffer-http-per-request.yaml")).paymentRoute.spec as any).price
    ).toBe("1000")
    const inference = desiredOf(offerFrom("deploy/samples/serviceoffer-inference-per-mtok.yaml")).paymentRoute
      .spec as any
    expect([inference.price, inference.priceModel, inference.perMTok, inference.approxTokensPerRequest]).toEqual([
      "1250",
      "perMTok",
      "1.25",
      1000
    ])
  })

  it("routes PathPrefix <path> through the Middleware, strips the prefix, and bounds the request time", () => {
    const route = Children.httpRoute(
      upfront(offerFrom("deploy/samples/serviceoffer-inference-per-mtok.yaml")),
      settings
    ).spec as any
    expect(route.parentRefs).toEqual([{ namespace: "traefik", name: "traefik-gateway", sectionName: "web" }])
    expect(route.rules[0].matches).toEqual([{ path: { type: "PathPrefix", value: "/services/qwen" } }])
    expect(route.rules[0].filters.map((f: { type: string }) => f.type)).toEqual(["ExtensionRef", "URLRewrite"])
    expect(route.rules[0].backendRefs).toEqual([{ name: "ollama", port: 11434 }])
    // obol-stack's rule for slow inference: max(maxTimeoutSeconds + 120, 60); the sample's 120 gives 240.
    expect(route.rules[0].timeouts).toEqual({ request: "240s" })
  })

  it("sells another namespace's Service only where UPSTREAM_NAMESPACES allows, saying how to fix it", () => {
    const offer = offerFrom("packages/api/test/fixtures/obol-stack-serviceoffer.yaml")
    expect(Result.isSuccess(Children.desired(offer, settings))).toBe(true)
    const refused = Children.desired(offer, { ...settings, upstreamNamespaces: ["models"] })
    expect(Result.isFailure(refused) && refused.failure.reason).toBe("UpstreamNamespaceNotAllowed")
    expect(Result.isFailure(refused) && refused.failure.message).toBe(
      "the upstream Service is in namespace llm, and this controller sells Services of other namespaces only from models (UPSTREAM_NAMESPACES); add llm there, or create the offer in namespace llm"
    )
    expect(Result.isSuccess(Children.desired(offer, { ...settings, upstreamNamespaces: "*" }))).toBe(true)
    // Its own namespace always.
    const own = offerFrom("deploy/samples/serviceoffer-http-per-request.yaml")
    expect(Result.isSuccess(Children.desired(own, { ...settings, upstreamNamespaces: [] }))).toBe(true)
  })

  it("grants the upstream's namespace only for upfront offers that cross namespaces", () => {
    const crossing = offerFrom("packages/api/test/fixtures/obol-stack-serviceoffer.yaml")
    expect(Children.upstreamGrant(crossing, settings)).toBeUndefined()
    expect(Children.grants(crossing, settings).map((g) => g.metadata.namespace)).toEqual(["x402"])
    expect(Children.grants(upfront(crossing), settings).map((g) => g.metadata.namespace)).toEqual(["llm"])
    const local = upfront(offerFrom("deploy/samples/serviceoffer-http-per-request.yaml"))
    expect(Children.grants(local, settings)).toEqual([])
  })

  it("names the upstream namespace only when it differs from the offer's", () => {
    const offer = upfront(offerFrom("packages/api/test/fixtures/obol-stack-serviceoffer.yaml"))
    expect((Children.httpRoute(offer, settings).spec as any).rules[0].backendRefs).toEqual([
      { name: "litellm", namespace: "llm", port: 4000 }
    ])
  })

  it("asks for registration only when it is enabled", () => {
    expect(
      desiredOf(offerFrom("deploy/samples/serviceoffer-http-per-request.yaml")).registrationRequest
    ).toBeUndefined()
    const rr = desiredOf(offerFrom("deploy/samples/serviceoffer-inference-per-mtok.yaml")).registrationRequest
      ?.spec as any
    expect([rr.name, rr.endpoint, rr.chain]).toEqual([
      "Qwen 3.5 35B",
      "https://seller.example/services/qwen",
      "base-sepolia"
    ])
  })

  it("gives every child a controller ownerReference to the offer, in the offer's namespace", () => {
    const desired = desiredOf(upfront(offerFrom("deploy/samples/serviceoffer-inference-per-mtok.yaml", "uid-42")))
    for (const child of [desired.middleware!, desired.paymentRoute, desired.httpRoute, desired.registrationRequest!]) {
      expect(child.metadata.namespace).toBe("llm")
      expect(child.metadata["ownerReferences"]).toEqual([
        {
          apiVersion: "obol.org/v1alpha1",
          kind: "ServiceOffer",
          name: "qwen",
          uid: "uid-42",
          controller: true,
          blockOwnerDeletion: true
        }
      ])
    }
  })

  it("refuses an unknown network and an unrepresentable price, saying why", () => {
    const offer = ServiceOfferFixture.make("weather-api", { namespace: "sellers" }).with({
      metadata: { uid: "00000000-0000-4000-8000-000000000001", generation: 1 }
    })
    const unknown = Children.desired(offer.network("solana").decoded(), settings)
    expect(Result.isFailure(unknown) && unknown.failure.reason).toBe("UnknownNetwork")
    expect(Result.isFailure(unknown) && unknown.failure.message).toMatch(
      /^network "solana" is not configured \(known: base-sepolia, eip155:84532, base, base-mainnet, eip155:8453, .*avalanche-fuji, eip155:43113, .*\)$/u
    )
    const tooPrecise = Children.desired(offer.pricedPerRequest("0.0000001").decoded(), settings)
    expect(Result.isFailure(tooPrecise) && tooPrecise.failure.reason).toBe("InvalidPrice")
  })

  it("shortens long names to 63 characters with a stable hash suffix", () => {
    const long = "a".repeat(60)
    const name = Names.registrationRequest(long)
    expect(name.length).toBe(63)
    expect(name).toMatch(/^a+-[0-9a-f]{8}$/u)
    expect(Names.registrationRequest(long)).toBe(name)
    expect(Names.registrationRequest(`${long}b`)).not.toBe(name)
    expect(Names.httpRoute("short")).toBe("so-short")
  })

  // Type-level: these hold only while `npx tsc --noEmit -p tsconfig.json` passes; each
  // `@ts-expect-error` fails the typecheck if the error it expects disappears.
  it("builds each child as its kind's apply configuration, so a misspelt field fails the typecheck", () => {
    expectTypeOf(Children.middleware).returns.toEqualTypeOf<ApplyConfiguration<typeof Middleware>>()
    expectTypeOf(Children.paymentRoute).returns.toEqualTypeOf<
      Result.Result<ApplyConfiguration<typeof PaymentRoute>, Children.InvalidOffer>
    >()
    expectTypeOf(Children.httpRoute).returns.toEqualTypeOf<ApplyConfiguration<typeof HTTPRoute>>()
    expectTypeOf(Children.referenceGrant).returns.toEqualTypeOf<ApplyConfiguration<typeof ReferenceGrant> | undefined>()
    expectTypeOf(Children.upstreamGrant).returns.toEqualTypeOf<ApplyConfiguration<typeof ReferenceGrant> | undefined>()
    expectTypeOf(Children.registrationRequest).returns.toEqualTypeOf<
      ApplyConfiguration<typeof RegistrationRequest> | undefined
    >()

    const { paymentRoute } = desiredOf(offerFrom("deploy/samples/serviceoffer-http-per-request.yaml"))
    // @ts-expect-error `spce` is not a field of PaymentRoute
    const misspeltSpec: Children.Desired["paymentRoute"] = { ...paymentRoute, spce: {} }
    const misspeltUpstream: Children.Desired["paymentRoute"] = {
      ...paymentRoute,
      // @ts-expect-error `nmae` is not a field of spec.upstream
      spec: { ...paymentRoute.spec, upstream: { service: "api", nmae: "api" } }
    }
    const misspeltPrice: Children.Desired["paymentRoute"] = {
      ...paymentRoute,
      // @ts-expect-error `priceModel` is one of the Schema's literals
      spec: { ...paymentRoute.spec, priceModel: "perrequest" }
    }
    expect([misspeltSpec, misspeltUpstream, misspeltPrice]).toHaveLength(3)
  })
})
