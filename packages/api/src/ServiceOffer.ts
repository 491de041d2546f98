/**
 * `ServiceOffer` (obol.org/v1alpha1): a seller's declaration that an HTTP service in the cluster
 * is sold behind an x402 payment gate, optionally registered on-chain (ERC-8004).
 *
 * The spec accepts every field of obol-stack's ServiceOffer CRD unchanged, with the same defaults
 * (`type: http`, `upstream.port: 11434`, `upstream.healthPath: /health`, `payment.scheme: exact`,
 * `payment.maxTimeoutSeconds: 300`), and adds `paused` and `payment.asset`. Validation that the old
 * CRD lacked (address and path patterns, port range, decimal prices, "at least one price",
 * "inference needs a model") is here, in the Schema and as CEL in the generated CRD.
 *
 * This module is the single source for decoding offers and for the CRD. It does not compute
 * prices (see `@obol/x402`) or children (see the serviceoffer-controller).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as CelRule from "./CelRule.ts"
import { Conditions } from "@obol/kube/Condition"
import * as CustomResource from "./CustomResource.ts"
import { DecimalString } from "./Decimal.ts"
import { Address, NetworkName, TxHash, Uint256String } from "./Ethereum.ts"
import { defaulted } from "./internal/defaulted.ts"
import { UpstreamAuthorization } from "./UpstreamAuthorization.ts"

const DnsLabel = Schema.String.check(
  Schema.isMaxLength(63),
  Schema.isPattern(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/u, {
    expected: "a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit"
  })
)

const ServiceName = Schema.String.check(
  Schema.isMaxLength(63),
  Schema.isPattern(/^[a-z]([-a-z0-9]*[a-z0-9])?$/u, {
    expected: "a Service name: lower-case letters, digits and '-', starting with a letter"
  })
)

const StringMap = Schema.Record(Schema.String, Schema.String)

/**
 * The kind of service sold.
 *
 * @category schemas
 */
export const OfferType = Schema.Literals(["inference", "fine-tuning", "http"]).annotate({
  description: "What is sold: inference (an LLM endpoint; requires model), fine-tuning, or http (any HTTP service)."
})

/**
 * @category schemas
 */
export const Model = Schema.Struct({
  name: Schema.String.check(Schema.isMinCodePoints(1), Schema.isMaxLength(253)).annotate({
    description: "Model identifier as the runtime knows it, e.g. qwen3.5:35b."
  }),
  runtime: Schema.Literals(["ollama", "vllm", "tgi"]).annotate({
    description: "Inference runtime serving the model: ollama, vllm or tgi."
  })
}).annotate({ description: "The model served, for inference offers." })

/**
 * @category schemas
 */
export const Upstream = Schema.Struct({
  service: ServiceName.annotate({ description: "Name of the Kubernetes Service that serves the offer." }),
  namespace: Schema.optionalKey(
    DnsLabel.annotate({ description: "Namespace of the Service. Defaults to the offer's own namespace." })
  ),
  port: defaulted(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 })).annotate({
      description: "Service port to send traffic to (1-65535)."
    }),
    11434
  ),
  healthPath: defaulted(
    Schema.String.check(
      Schema.isMaxLength(1024),
      Schema.isPattern(/^\/[^\s?#]*$/u, { expected: "an absolute path starting with / (no query or fragment)" })
    ).annotate({ description: "Path probed for upstream health; a connection failure or a 5xx answer is unhealthy." }),
    "/health"
  ),
  authorization: Schema.optionalKey(UpstreamAuthorization)
}).annotate({ description: "The in-cluster Service that receives paid requests." })

/**
 * Prices as decimal strings in the asset's unit (USDC by default). When several are set, the
 * effective price is perRequest, else perMTok (per million tokens, charged per request using an
 * approximate token count), else perHour.
 *
 * @category schemas
 */
export const Price = Schema.Struct({
  perRequest: Schema.optionalKey(
    DecimalString.annotate({
      description: 'Price of one request, e.g. "0.001" (USDC). Takes precedence over the others.'
    })
  ),
  perMTok: Schema.optionalKey(
    DecimalString.annotate({ description: 'Price per million tokens, e.g. "1.25", for inference offers.' })
  ),
  perHour: Schema.optionalKey(
    DecimalString.annotate({ description: 'Price per hour of compute, e.g. "2", for fine-tuning offers.' })
  ),
  perEpoch: Schema.optionalKey(
    DecimalString.annotate({
      description: "Price per training epoch. Accepted for compatibility with obol-stack; not used for charging."
    })
  )
})
  .annotate({ description: "What a buyer pays. At least one of perRequest, perMTok or perHour must be set." })
  .check(
    CelRule.make(
      {
        rule: "has(self.perRequest) || has(self.perMTok) || has(self.perHour)",
        message: "at least one of perRequest, perMTok or perHour must be set"
      },
      (price: { readonly perRequest?: string; readonly perMTok?: string; readonly perHour?: string }) =>
        price.perRequest !== undefined || price.perMTok !== undefined || price.perHour !== undefined
    )
  )

/**
 * A payment token other than the network's default USDC.
 *
 * @category schemas
 */
export const Asset = Schema.Struct({
  address: Address.annotate({
    description: "Token contract address; the token must support EIP-3009 transferWithAuthorization."
  }),
  decimals: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 36 })).annotate({
    description: "Token decimals (USDC: 6). Prices with more fractional digits are rejected."
  }),
  eip712Name: Schema.String.check(Schema.isMinCodePoints(1)).annotate({
    description: 'EIP-712 domain name of the token, e.g. "USDC"; buyers sign payments against it.'
  }),
  eip712Version: Schema.String.check(Schema.isMinCodePoints(1)).annotate({
    description: 'EIP-712 domain version of the token, e.g. "2".'
  }),
  symbol: Schema.optionalKey(Schema.String.annotate({ description: "Display symbol, e.g. USDC." }))
}).annotate({ description: "Payment token. Omit to use USDC on the chosen network." })

/**
 * @category schemas
 */
export const Payment = Schema.Struct({
  scheme: defaulted(
    Schema.Literals(["exact"]).annotate({ description: "x402 payment scheme. Only exact is supported." }),
    "exact"
  ),
  network: NetworkName.annotate({
    description:
      "Chain to be paid on, as a name (base-sepolia, base, polygon, polygon-amoy, avalanche, avalanche-fuji) or a CAIP-2 id (eip155:84532)."
  }),
  payTo: Address.annotate({ description: "Address that receives payments (0x + 40 hex digits)." }),
  maxTimeoutSeconds: defaulted(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 3600 })).annotate({
      description: "How long a signed payment stays valid, in seconds (1-3600); also bounds the request timeout."
    }),
    300
  ),
  price: Price,
  asset: Schema.optionalKey(Asset),
  settlement: defaulted(
    Schema.Literals(["onSuccess", "upfront"]).annotate({
      description:
        "When the buyer is charged. onSuccess (the default): the x402 verifier proxies the request and settles only when the upstream answers below 400, returning the receipt to the buyer. upfront: Traefik ForwardAuth settles before the upstream runs, so a failed request is charged too."
    }),
    "onSuccess"
  )
}).annotate({ description: "How buyers pay: x402 scheme, network, recipient, price and token." })

/**
 * @category schemas
 */
export const RegistrationService = Schema.Struct({
  name: Schema.String.check(Schema.isMinCodePoints(1)).annotate({
    description: "Service name, e.g. web, A2A, MCP or OASF."
  }),
  endpoint: Schema.String.check(Schema.isMinCodePoints(1)).annotate({
    description: "Where the service is reached, usually a URL."
  }),
  version: Schema.optionalKey(Schema.String.annotate({ description: "Protocol or schema version of the service." }))
}).annotate({ description: "A service entry of the ERC-8004 registration document." })

/**
 * @category schemas
 */
export const Registration = Schema.Struct({
  enabled: defaulted(
    Schema.Boolean.annotate({ description: "Register the offer on-chain (ERC-8004) once it is serving." }),
    false
  ),
  name: Schema.optionalKey(Schema.String.annotate({ description: "Agent name in the registration document." })),
  description: Schema.optionalKey(
    Schema.String.annotate({ description: "Agent description in the registration document." })
  ),
  image: Schema.optionalKey(Schema.String.annotate({ description: "URL of an image representing the agent." })),
  services: Schema.optionalKey(
    Schema.Array(RegistrationService).annotate({ description: "Services advertised in the registration document." })
  ),
  supportedTrust: Schema.optionalKey(
    Schema.Array(Schema.String).annotate({
      description: "Trust models supported, e.g. reputation, crypto-economic, tee-attestation."
    })
  ),
  skills: Schema.optionalKey(Schema.Array(Schema.String).annotate({ description: "OASF skill taxonomy entries." })),
  domains: Schema.optionalKey(Schema.Array(Schema.String).annotate({ description: "OASF domain taxonomy entries." })),
  metadata: Schema.optionalKey(
    StringMap.annotate({ description: "Extra key/value metadata published with the registration." })
  )
}).annotate({ description: "ERC-8004 identity registration of the offer." })

/**
 * @category schemas
 */
export const ServiceOfferSpec = Schema.Struct({
  type: defaulted(OfferType, "http"),
  model: Schema.optionalKey(Model),
  upstream: Upstream,
  payment: Payment,
  path: Schema.optionalKey(
    Schema.String.check(
      Schema.isMaxLength(256),
      Schema.isPattern(/^\/[a-zA-Z0-9/_.-]*$/u, {
        expected: "a URL path starting with / using only letters, digits, '/', '_', '.' and '-'"
      })
    ).annotate({ description: "Public path prefix of the offer. Defaults to /services/<name>." })
  ),
  registration: Schema.optionalKey(Registration),
  provenance: Schema.optionalKey(
    StringMap.annotate({
      description:
        "Where the service comes from (framework, metricName, metricValue, experimentId, trainHash, paramCount)."
    })
  ),
  paused: defaulted(
    Schema.Boolean.annotate({
      description: "Stop selling: the public route is withdrawn (traffic is refused, never free) until unpaused."
    }),
    false
  )
})
  .annotate({ description: "What is sold, where it runs, and how buyers pay." })
  .check(
    CelRule.make(
      {
        rule: "self.type != 'inference' || has(self.model)",
        message: "model is required when type is inference",
        fieldPath: ".model"
      },
      (spec: { readonly type: string; readonly model?: unknown }) =>
        spec.type !== "inference" || spec.model !== undefined
    ),
    CelRule.make(
      {
        rule: "!has(self.upstream.authorization) || !has(self.payment.settlement) || self.payment.settlement == 'onSuccess'",
        message: "upstream.authorization needs settlement onSuccess: only the verifier's proxy sends the credential",
        fieldPath: ".upstream.authorization"
      },
      (spec: {
        readonly upstream: { readonly authorization?: unknown }
        readonly payment: { readonly settlement?: string }
      }) =>
        spec.upstream.authorization === undefined ||
        spec.payment.settlement === undefined ||
        spec.payment.settlement === "onSuccess"
    )
  )

/**
 * @category schemas
 */
export const Phase = Schema.Literals(["Pending", "Ready", "NotReady", "Paused", "Deleting"]).annotate({
  description: "Summary for humans: Pending (not yet reconciled), Ready, NotReady (see conditions), Paused or Deleting."
})

/**
 * @category schemas
 */
export const ServiceOfferStatus = Schema.Struct({
  observedGeneration: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({
      description: "The .metadata.generation this status describes.",
      format: "int64"
    })
  ),
  conditions: Schema.optionalKey(Conditions),
  phase: Schema.optionalKey(Phase),
  endpoint: Schema.optionalKey(
    Schema.String.annotate({ description: "Public URL (or path) where buyers reach the offer." })
  ),
  price: Schema.optionalKey(
    Schema.String.annotate({
      description:
        "The price that applies, for humans (the Price column): 0.001 USDC/request, 1.25 USDC/MTok or 2 USDC/hour."
    })
  ),
  agentId: Schema.optionalKey(
    Uint256String.annotate({ description: "ERC-8004 agent id (token id) once registered; ids start at 0." })
  ),
  registrationTxHash: Schema.optionalKey(TxHash.annotate({ description: "Transaction that registered the agent." }))
}).annotate({ description: "Observed state of the offer, written by the serviceoffer-controller." })

/**
 * The ServiceOffer kind.
 *
 * @category resources
 */
export const ServiceOffer = CustomResource.make({
  group: "obol.org",
  version: "v1alpha1",
  kind: "ServiceOffer",
  plural: "serviceoffers",
  singular: "serviceoffer",
  shortNames: ["so"],
  categories: ["obol"],
  description:
    "ServiceOffer sells an HTTP service in the cluster behind an x402 payment gate, and can register it on-chain (ERC-8004).",
  printerColumns: [
    { name: "Type", type: "string", jsonPath: ".spec.type" },
    { name: "Model", type: "string", jsonPath: ".spec.model.name" },
    { name: "Price", type: "string", jsonPath: ".status.price" },
    { name: "Network", type: "string", jsonPath: ".spec.payment.network" },
    { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" }
  ],
  spec: ServiceOfferSpec,
  status: ServiceOfferStatus
})

/**
 * A decoded ServiceOffer, with defaults applied.
 *
 * @category models
 */
export type ServiceOffer = typeof ServiceOffer.schema.Type

/**
 * The annotation obol-stack's tooling pauses an offer with; `"true"` pauses like `spec.paused`.
 *
 * @category constants
 */
export const pausedAnnotation = "obol.org/paused"

/**
 * Whether the offer is paused: `spec.paused`, or obol-stack's annotation `obol.org/paused: "true"`.
 * The controller withdraws a paused offer's route; the CLI shows and waits for it the same way.
 *
 * @category predicates
 */
export const isPaused = (offer: {
  readonly spec: { readonly paused: boolean }
  readonly metadata: { readonly annotations?: Readonly<Record<string, string>> | undefined }
}): boolean => offer.spec.paused || offer.metadata.annotations?.[pausedAnnotation] === "true"
