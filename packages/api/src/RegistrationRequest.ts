/**
 * `RegistrationRequest` (obol.org/v1alpha1): a request to register one offer as an ERC-8004
 * agent identity, created by the serviceoffer-controller next to its ServiceOffer and carried out
 * by the registrar, which owns all chain work.
 *
 * The registrar writes `txHash` and `searchFromBlock` to status *before* waiting for the receipt,
 * so a crash between sending and confirming is recovered by looking the registration up on chain
 * instead of minting again. Deleting the request tombstones the on-chain entry first.
 *
 * `spec.existingAgentId` names an agent minted before the request (obol-stack's monetize.py wrote
 * it to the ServiceOffer's `status.agentId`): the registrar adopts that agent instead of minting,
 * or fails with `status.reason` `AgentNotOwned`/`AgentNotFound` and mints nothing.
 * `spec.metadata` and `spec.provenance` mirror what the offer's registration document publishes;
 * nothing of them goes on chain (ADR 0006).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Conditions } from "@obol/kube/Condition"
import * as CustomResource from "./CustomResource.ts"
import { Address, NetworkName, TxHash, Uint256String } from "./Ethereum.ts"
import { RegistrationService } from "./ServiceOffer.ts"

/**
 * @category schemas
 */
export const SecretKeyRef = Schema.Struct({
  name: Schema.String.check(Schema.isMinCodePoints(1)).annotate({
    description: "Name of the Secret, in the registrar's namespace."
  }),
  key: Schema.String.check(Schema.isMinCodePoints(1)).annotate({ description: "Key in the Secret holding the signer." })
}).annotate({ description: "A key of a Secret." })

/**
 * @category schemas
 */
export const RegistrationRequestSpec = Schema.Struct({
  name: Schema.String.check(Schema.isMinCodePoints(1)).annotate({
    description: "Agent name in the registration document."
  }),
  description: Schema.optionalKey(
    Schema.String.annotate({ description: "Agent description in the registration document." })
  ),
  image: Schema.optionalKey(Schema.String.annotate({ description: "URL of an image representing the agent." })),
  endpoint: Schema.String.check(Schema.isMinCodePoints(1)).annotate({
    description: "Public URL where buyers reach the offer; becomes the web service entry of the document."
  }),
  agentURI: Schema.String.check(
    Schema.isPattern(/^(https?:\/\/|ipfs:\/\/|data:application\/json)\S+$/u, {
      expected: "an https://, http://, ipfs:// or data:application/json URI"
    })
  ).annotate({
    description:
      "The URI registered on chain as the agent's tokenURI: where the agent's ERC-8004 registration document is served. Unique per request, so the registrar can find its own registration on chain after a crash."
  }),
  chain: NetworkName.annotate({
    description: "Chain to register on, as a name (base-sepolia) or CAIP-2 id (eip155:84532)."
  }),
  registry: Schema.optionalKey(
    Address.annotate({
      description: "ERC-8004 IdentityRegistry address; defaults to the registrar's configured registry for the chain."
    })
  ),
  signerSecretRef: Schema.optionalKey(SecretKeyRef),
  services: Schema.optionalKey(
    Schema.Array(RegistrationService).annotate({
      description: "Additional services advertised in the registration document."
    })
  ),
  supportedTrust: Schema.optionalKey(
    Schema.Array(Schema.String).annotate({ description: "Trust models supported, e.g. reputation." })
  ),
  skills: Schema.optionalKey(Schema.Array(Schema.String).annotate({ description: "OASF skill taxonomy entries." })),
  domains: Schema.optionalKey(Schema.Array(Schema.String).annotate({ description: "OASF domain taxonomy entries." })),
  metadata: Schema.optionalKey(
    Schema.Record(Schema.String, Schema.String).annotate({
      description: "Extra key/value metadata published with the registration (the document's metadata object)."
    })
  ),
  provenance: Schema.optionalKey(
    Schema.Record(Schema.String, Schema.String).annotate({
      description:
        "Where the service comes from (framework, metricName, metricValue, experimentId, trainHash, paramCount), published as the document's provenance object."
    })
  ),
  existingAgentId: Schema.optionalKey(
    Uint256String.annotate({
      description:
        "An agent minted before this request (e.g. by obol-stack's monetize.py; copied from the ServiceOffer's status.agentId). The registrar adopts it instead of minting: if its signer owns or operates the agent, it points the agent at agentURI with setAgentURI; otherwise the request fails with reason AgentNotOwned or AgentNotFound and nothing is minted. Read only while the request holds no agent."
    })
  ),
  x402Support: Schema.optionalKey(
    Schema.Boolean.annotate({ description: "Whether the agent accepts x402 payments (x402support in the document)." })
  )
}).annotate({ description: "The agent identity to register." })

/**
 * @category schemas
 */
export const RegistrationPhase = Schema.Literals([
  "Pending",
  "Submitted",
  "Confirmed",
  "Failed",
  "OffChainOnly"
]).annotate({
  description:
    "Pending (nothing sent), Submitted (transaction sent, txHash set), Confirmed (agentId set), Failed (retrying; see reason and errorMessage) or OffChainOnly (no signer or registration disabled)."
})

/**
 * Why a request is in its phase, where the phase alone does not say enough to act on.
 *
 * @category schemas
 */
export const RegistrationReason = Schema.Literals(["Adopted", "AgentNotOwned", "AgentNotFound"]).annotate({
  description:
    "Adopted (Confirmed: spec.existingAgentId was adopted, not minted), AgentNotOwned (Failed: the registrar's signer neither owns nor operates spec.existingAgentId) or AgentNotFound (Failed: spec.existingAgentId does not exist in the registry). Both failures mint nothing and are looked at again periodically."
})

/**
 * @category schemas
 */
export const RegistrationRequestStatus = Schema.Struct({
  phase: Schema.optionalKey(RegistrationPhase),
  reason: Schema.optionalKey(RegistrationReason),
  agentId: Schema.optionalKey(Uint256String.annotate({ description: "ERC-8004 agent id (token id); ids start at 0." })),
  agentURI: Schema.optionalKey(Schema.String.annotate({ description: "The agent URI registered on chain." })),
  agentRegistry: Schema.optionalKey(
    Schema.String.check(
      Schema.isPattern(/^eip155:[0-9]+:0x[0-9a-fA-F]{40}$/u, { expected: "eip155:<chainId>:<registry address>" })
    ).annotate({ description: "The registry the agent is registered in, as eip155:<chainId>:<address>." })
  ),
  txHash: Schema.optionalKey(
    TxHash.annotate({
      description:
        "The last transaction sent for the agent (register, setAgentURI when adopting or following a new agentURI, or the tombstone on delete), written before its receipt is awaited."
    })
  ),
  searchFromBlock: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({
      description: "Block to search for an existing registration after a restart, so nothing is minted twice.",
      format: "int64"
    })
  ),
  errorMessage: Schema.optionalKey(Schema.String.annotate({ description: "Why the last attempt failed." })),
  observedGeneration: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({
      description: "The .metadata.generation this status describes.",
      format: "int64"
    })
  ),
  conditions: Schema.optionalKey(Conditions)
}).annotate({ description: "Progress of the registration, written by the registrar." })

/**
 * The RegistrationRequest kind.
 *
 * @category resources
 */
export const RegistrationRequest = CustomResource.make({
  group: "obol.org",
  version: "v1alpha1",
  kind: "RegistrationRequest",
  plural: "registrationrequests",
  singular: "registrationrequest",
  shortNames: ["rr"],
  categories: ["obol"],
  description:
    "RegistrationRequest registers one ServiceOffer as an ERC-8004 agent identity on-chain. Managed by the serviceoffer-controller, carried out by the registrar.",
  printerColumns: [
    { name: "Phase", type: "string", jsonPath: ".status.phase" },
    { name: "AgentID", type: "string", jsonPath: ".status.agentId" },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" }
  ],
  spec: RegistrationRequestSpec,
  status: RegistrationRequestStatus
})

/**
 * @category models
 */
export type RegistrationRequest = typeof RegistrationRequest.schema.Type
