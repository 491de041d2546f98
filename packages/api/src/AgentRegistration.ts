/**
 * The ERC-8004 agent registration document ("registration-v1"): what an agent's `agentURI`
 * resolves to, and what `/.well-known/agent-registration.json` serves for endpoint-domain
 * verification. The serviceoffer-controller builds these documents and the registrar builds the
 * `active:false` tombstone; both are held to this schema by tests.
 *
 * Fields per the ERC text (2026-01 revision): `type`, `name`, `description`, `image`,
 * `services[]` (called `endpoints` before that revision), `x402Support`, `active`,
 * `registrations[]` (`agentId` as a JSON number, ids start at 0, and `agentRegistry` as
 * `eip155:<chainId>:<registry>`) and optional `supportedTrust[]`. Extra fields are allowed by the
 * ERC and ignored here.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * @category constants
 */
export const registrationType = "https://eips.ethereum.org/EIPS/eip-8004#registration-v1"

const NonEmpty = Schema.String.check(Schema.isMinCodePoints(1))

/**
 * @category schemas
 */
export const Service = Schema.Struct({
  name: NonEmpty,
  endpoint: NonEmpty,
  version: Schema.optionalKey(Schema.String),
  skills: Schema.optionalKey(Schema.Array(Schema.String)),
  domains: Schema.optionalKey(Schema.Array(Schema.String))
})

/**
 * @category schemas
 */
export const OnChainRegistration = Schema.Struct({
  agentId: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  agentRegistry: Schema.String.check(
    Schema.isPattern(/^eip155:[0-9]+:0x[0-9a-fA-F]{40}$/u, { expected: "eip155:<chainId>:<registry address>" })
  )
})

/**
 * @category schemas
 */
export const AgentRegistration = Schema.Struct({
  type: Schema.Literal(registrationType),
  name: NonEmpty,
  description: Schema.String,
  image: Schema.optionalKey(Schema.String),
  services: Schema.Array(Service),
  x402Support: Schema.Boolean,
  active: Schema.Boolean,
  registrations: Schema.Array(OnChainRegistration),
  supportedTrust: Schema.optionalKey(Schema.Array(Schema.String))
})

/**
 * @category models
 */
export type AgentRegistration = typeof AgentRegistration.Type
