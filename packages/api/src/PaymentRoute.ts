/**
 * `PaymentRoute` (obol.org/v1alpha1): the price of one offer in the exact form the x402 verifier
 * needs, written by the serviceoffer-controller next to its ServiceOffer and read by every
 * verifier replica through an informer.
 *
 * Amounts here are already atomic units (an integer string in the asset's smallest unit), so the
 * verifier never does decimal math. `status.admitted` is written by the verifier once it serves the
 * route's current generation; the controller publishes the offer's HTTPRoute only after that, so
 * a route is never reachable before its price is known (fail closed).
 *
 * `settlement` says who carries paid requests: `upfront` (or absent) is Traefik ForwardAuth, which
 * settles before the upstream runs; `onSuccess` makes the verifier the HTTPRoute's backend, which
 * proxies to `upstream` and settles only when it answers below 400 (docs/adr/0010-pay-on-success.md).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as CelRule from "./CelRule.ts"
import * as CustomResource from "./CustomResource.ts"
import { DecimalString } from "./Decimal.ts"
import { Address, Caip2, Uint256String } from "./Ethereum.ts"
import { defaulted } from "./internal/defaulted.ts"
import { UpstreamAuthorization } from "./UpstreamAuthorization.ts"

/**
 * The ServiceOffer a route prices: always the one of that name **in the route's own namespace**,
 * and only when the route carries a controller ownerReference to it. There is deliberately no
 * namespace field: identity comes from where the route lives, so a route can never price another
 * namespace's offer (docs/adr/0007-paymentroute-identity-and-tenancy.md). The verifier's
 * ForwardAuth address names the same identity (`/verify/<namespace>/<name>`).
 *
 * @category schemas
 */
export const OfferRef = Schema.Struct({
  name: Schema.String.check(Schema.isMinCodePoints(1)).annotate({
    description: "Name of the ServiceOffer, in this PaymentRoute's namespace."
  }),
  uid: Schema.optionalKey(
    Schema.String.annotate({
      description: "UID of the ServiceOffer this route was computed for; must match the controller ownerReference."
    })
  )
}).annotate({ description: "The ServiceOffer this route prices, in the route's own namespace." })

/**
 * @category schemas
 */
export const RouteAsset = Schema.Struct({
  address: Address.annotate({ description: "Token contract address (EIP-3009)." }),
  decimals: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 36 })).annotate({
    description: "Token decimals; price is in 10^-decimals units of the token."
  }),
  eip712Name: Schema.String.check(Schema.isMinCodePoints(1)).annotate({
    description: "EIP-712 domain name of the token (x402 requirement extra.name)."
  }),
  eip712Version: Schema.String.check(Schema.isMinCodePoints(1)).annotate({
    description: "EIP-712 domain version of the token (x402 requirement extra.version)."
  })
}).annotate({ description: "The token buyers pay with." })

/**
 * @category schemas
 */
export const PriceModel = Schema.Literals(["perRequest", "perMTok", "perHour"]).annotate({
  description: "Which ServiceOffer price the amount comes from: perRequest, perMTok (converted per request) or perHour."
})

/**
 * When a paid request is charged: `upfront` (ForwardAuth settles before the upstream runs) or
 * `onSuccess` (the verifier proxies and settles only an answer below 400). Absent means upfront.
 *
 * @category schemas
 */
export const Settlement = Schema.Literals(["onSuccess", "upfront"]).annotate({
  description:
    "When a request is charged: upfront (settled before the upstream runs, Traefik ForwardAuth) or onSuccess (the verifier proxies to upstream and settles only an answer below 400). Absent means upfront."
})

/**
 * @category models
 */
export type Settlement = typeof Settlement.Type

/**
 * The Service a pay-on-success route is proxied to, resolved by the verifier through its ready
 * EndpointSlice endpoints (`@obol/kube/Endpoints`). The namespace is always written (the
 * controller resolves the offer's default), so the verifier never guesses it.
 *
 * @category schemas
 */
export const RouteUpstream = Schema.Struct({
  service: Schema.String.check(
    Schema.isMaxLength(63),
    Schema.isPattern(/^[a-z]([-a-z0-9]*[a-z0-9])?$/u, {
      expected: "a Service name: lower-case letters, digits and '-', starting with a letter"
    })
  ).annotate({ description: "Name of the Kubernetes Service that serves the offer." }),
  namespace: Schema.String.check(
    Schema.isMaxLength(63),
    Schema.isPattern(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/u, {
      expected: "a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit"
    })
  ).annotate({ description: "Namespace of the Service." }),
  port: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 })).annotate({
    description: "Service port to send paid requests to (1-65535)."
  }),
  authorization: Schema.optionalKey(UpstreamAuthorization)
}).annotate({ description: "Where the verifier proxies paid requests when settlement is onSuccess." })

/**
 * @category schemas
 */
export const PaymentRouteSpec = Schema.Struct({
  offer: OfferRef,
  pattern: Schema.String.check(
    Schema.isMaxLength(512),
    Schema.isPattern(/^\/[a-zA-Z0-9/_.*-]*$/u, { expected: "a path pattern such as /services/x or /services/x/*" })
  ).annotate({ description: "Request paths this price applies to: exact, or a prefix ending in /*." }),
  scheme: defaulted(Schema.Literals(["exact"]).annotate({ description: "x402 payment scheme." }), "exact"),
  price: Uint256String.annotate({
    description: "Amount charged per request, in atomic units of the asset (e.g. 1000 = 0.001 USDC)."
  }),
  priceModel: PriceModel,
  perMTok: Schema.optionalKey(
    DecimalString.annotate({ description: "The offer's per-million-token price, when priceModel is perMTok." })
  ),
  approxTokensPerRequest: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({
      description: "Tokens assumed per request when converting perMTok to a per-request price."
    })
  ),
  payTo: Address.annotate({ description: "Address that receives payments." }),
  network: Caip2.annotate({ description: "CAIP-2 id of the chain payments settle on, e.g. eip155:84532." }),
  asset: RouteAsset,
  maxTimeoutSeconds: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 3600 })).annotate({
    description: "Validity window of a signed payment, in seconds."
  }),
  facilitatorURL: Schema.optionalKey(
    Schema.String.check(Schema.isPattern(/^https?:\/\/[^\s]+$/u, { expected: "an http(s) URL" })).annotate({
      description: "x402 facilitator for this route; defaults to the verifier's. Must be https except on loopback."
    })
  ),
  description: Schema.optionalKey(
    Schema.String.check(Schema.isMaxLength(1024)).annotate({
      description: "Shown to buyers in the 402 payment requirements."
    })
  ),
  settlement: Schema.optionalKey(Settlement),
  upstream: Schema.optionalKey(RouteUpstream)
})
  .annotate({ description: "The exact x402 payment requirement for one offer." })
  .check(
    CelRule.make(
      {
        rule: "!has(self.settlement) || self.settlement != 'onSuccess' || has(self.upstream)",
        message: "upstream is required when settlement is onSuccess",
        fieldPath: ".upstream"
      },
      (spec: { readonly settlement?: string; readonly upstream?: unknown }) =>
        spec.settlement !== "onSuccess" || spec.upstream !== undefined
    )
  )

/**
 * @category schemas
 */
export const PaymentRouteStatus = Schema.Struct({
  admitted: Schema.optionalKey(
    Schema.Boolean.annotate({
      description:
        "True once a verifier serves this route's current generation; false with a reason when no verifier will."
    })
  ),
  lastAdmittedGeneration: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({
      description: "The .metadata.generation the verifier last admitted.",
      format: "int64"
    })
  ),
  reason: Schema.optionalKey(
    Schema.String.annotate({
      description:
        "Why the route is not admitted, in PascalCase: NotOwnedByOffer, DuplicateOfferRoute, PathConflict, UnsupportedNetwork, UnsupportedFacilitator, UpstreamMissing or UpstreamSecretMissing."
    })
  ),
  message: Schema.optionalKey(Schema.String.annotate({ description: "Human-readable detail for reason." }))
}).annotate({ description: "Admission state, written by the x402 verifier." })

/**
 * The PaymentRoute kind.
 *
 * @category resources
 */
export const PaymentRoute = CustomResource.make({
  group: "obol.org",
  version: "v1alpha1",
  kind: "PaymentRoute",
  plural: "paymentroutes",
  singular: "paymentroute",
  shortNames: ["pr"],
  categories: ["obol"],
  description:
    "PaymentRoute is the resolved x402 price of one ServiceOffer, served by the x402 verifier. Managed by the serviceoffer-controller; do not edit.",
  printerColumns: [
    { name: "Pattern", type: "string", jsonPath: ".spec.pattern" },
    { name: "Price", type: "string", jsonPath: ".spec.price" },
    { name: "Network", type: "string", jsonPath: ".spec.network" },
    { name: "Admitted", type: "boolean", jsonPath: ".status.admitted" },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" }
  ],
  spec: PaymentRouteSpec,
  status: PaymentRouteStatus
})

/**
 * @category models
 */
export type PaymentRoute = typeof PaymentRoute.schema.Type

/**
 * Which price a ForwardAuth address asks the verifier for: this PaymentRoute object (its uid) at
 * this generation or a newer one. The controller pins the generation it saw admitted, so a verifier
 * replica whose cache is behind answers 503 instead of charging an older price
 * (docs/adr/0007-paymentroute-identity-and-tenancy.md).
 *
 * @category models
 */
export interface Pin {
  readonly route: string
  readonly generation: number
}

/**
 * The query string (without `?`) that carries a {@link Pin} on a ForwardAuth address.
 *
 * @category constructors
 */
export const pinQuery = (pin: Pin): string => `route=${encodeURIComponent(pin.route)}&generation=${pin.generation}`

/**
 * How long one paid request may take end to end, in seconds: obol-stack's rule for slow inference,
 * `max(maxTimeoutSeconds + 120, 60)` (the default 300 gives 420). The HTTPRoute carries it as
 * `timeouts.request`; Traefik v3.6 does not enforce that field, so the pay-on-success proxy does
 * (the upstream has `maxTimeoutSeconds` for its status line, the payment's validity, and the whole
 * answer must end within this).
 *
 * @category constructors
 */
export const requestTimeoutSeconds = (maxTimeoutSeconds: number): number => Math.max(maxTimeoutSeconds + 120, 60)
