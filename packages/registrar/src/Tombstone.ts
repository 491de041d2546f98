/**
 * The document a deleted registration points at: a registration-v1 document with
 * `active:false`, `x402Support:false`, no services, and the agent's own `registrations` entry,
 * inlined as a `data:application/json;base64,…` URI so it resolves without any server of ours
 * (the well-known route goes away with the offer).
 *
 * @since 0.1.0
 */
import type * as AgentRegistration from "@obol/api/AgentRegistration"
import { registrationType } from "@obol/api/AgentRegistration"

/**
 * @category constructors
 */
export const document = (options: {
  readonly name: string
  readonly agentId: bigint
  readonly agentRegistry: string
}): AgentRegistration.AgentRegistration => ({
  type: registrationType,
  name: options.name,
  description: `${options.name} (deactivated)`,
  services: [],
  x402Support: false,
  active: false,
  registrations:
    options.agentId <= BigInt(Number.MAX_SAFE_INTEGER)
      ? [{ agentId: Number(options.agentId), agentRegistry: options.agentRegistry }]
      : []
})

/**
 * The `data:` URI set as the agent's tokenURI.
 *
 * @category constructors
 */
export const uri = (options: Parameters<typeof document>[0]): string =>
  `data:application/json;base64,${Buffer.from(JSON.stringify(document(options))).toString("base64")}`

/**
 * The document inside a tombstone URI, or `undefined` for any other URI.
 *
 * @category destructors
 */
export const parse = (agentUri: string): unknown => {
  const prefix = "data:application/json;base64,"
  if (!agentUri.startsWith(prefix)) return undefined
  try {
    return JSON.parse(Buffer.from(agentUri.slice(prefix.length), "base64").toString("utf8"))
  } catch {
    return undefined
  }
}
