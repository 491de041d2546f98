/**
 * A ServiceOffer's status as a pure function of one pass's verdicts: the conditions, the `Ready`
 * summary over the conditions the offer requires, the phase, the public endpoint, the price
 * column, and the registration it carries. The reconciler observes and acts (`Routing` decides the
 * route); this module decides what the status says.
 *
 * Rules:
 * - `UpstreamHealthy`, `PaymentGateReady`, `RoutePublished` (and `ModelReady` for inference offers)
 *   are required for `Ready`; `Registered` is always written and never required (a slow or failed
 *   registration never takes an offer that serves out of service).
 * - `Registered` comes from the RegistrationRequest's phase (`registeredFrom`): Confirmed, Adopted,
 *   OffChainOnly, an agent that cannot be adopted, other failures, in progress; True/Disabled when
 *   registration is off, False/AwaitingReady until the offer otherwise serves.
 * - `status.agentId` and `status.registrationTxHash` are never dropped once known (monetize.py's,
 *   or ours): a RegistrationRequest without the agent would mint a second one.
 * - phase: Paused while paused, else Ready or NotReady.
 *
 * It does not read, write or compare with the stored status (`StatusWriter.applyIfChanged` sends
 * it only when it changed), and `lastTransitionTime` moves only on a flip (`Conditions`).
 *
 * @since 0.1.0
 */
import type { RegistrationRequest } from "@obol/api/RegistrationRequest"
import { isPaused, type ServiceOffer } from "@obol/api/ServiceOffer"
import * as Conditions from "@obol/controller/Conditions"
import * as Price from "@obol/x402/Price"
import type * as Routing from "./Routing.ts"

type Offer = typeof ServiceOffer.schema.Type

/**
 * What the offer says about its registration, and the agent and transaction it carries.
 *
 * @category models
 */
export interface Registered extends Routing.Verdict {
  readonly agentId?: string
  readonly txHash?: string
}

/**
 * `Registered` when registration is off: True, nothing to wait for (always present, as
 * obol-stack users read it).
 *
 * @category constants
 */
export const registeredDisabled: Registered = {
  status: "True",
  reason: "Disabled",
  message: "registration is off (spec.registration.enabled is not true)"
}

/**
 * `Registered` before the offer serves: nothing is registered for an offer that does not.
 *
 * @category constants
 */
export const registeredAwaiting: Registered = {
  status: "False",
  reason: "AwaitingReady",
  message: "the offer is registered once it serves"
}

/**
 * The `Registered` condition from the RegistrationRequest's status: Confirmed, Adopted (an agent
 * minted before us, which keeps its minting transaction), OffChainOnly, an agent that cannot be
 * adopted (AgentNotOwned, AgentNotFound: the registrar's message says what to do), other failures
 * (retried), or in progress.
 *
 * @category decisions
 */
export const registeredFrom = (
  request: { readonly status?: (typeof RegistrationRequest.schema.Type)["status"] },
  offer: Pick<Offer, "status">
): Registered => {
  const phase = request.status?.phase ?? "Pending"
  const reason = request.status?.reason
  const agentId = request.status?.agentId
  const txHash =
    reason === "Adopted" ? (offer.status?.registrationTxHash ?? request.status?.txHash) : request.status?.txHash
  const carried = { ...(agentId === undefined ? {} : { agentId }), ...(txHash === undefined ? {} : { txHash }) }
  if (phase === "Confirmed" && reason === "Adopted")
    return {
      status: "True",
      reason: "Adopted",
      message: `adopted agent ${agentId ?? "?"}; it points at this offer's document`,
      ...carried
    }
  if (phase === "Confirmed")
    return { status: "True", reason: "Confirmed", message: `registered as agent ${agentId ?? "?"}`, ...carried }
  if (phase === "OffChainOnly")
    return {
      status: "True",
      reason: "OffChainOnly",
      message: request.status?.errorMessage ?? "published off-chain only",
      ...carried
    }
  if (phase === "Failed" && (reason === "AgentNotOwned" || reason === "AgentNotFound"))
    // Waiting will not fix these: the message says what will (transfer the agent, or drop status.agentId).
    return {
      status: "False",
      reason,
      message: request.status?.errorMessage ?? "the agent cannot be adopted",
      ...carried
    }
  if (phase === "Failed")
    return {
      status: "False",
      reason: "RegistrationFailed",
      message: request.status?.errorMessage ?? "registration failed; retrying",
      ...carried
    }
  return { status: "False", reason: phase, message: "registration in progress", ...carried }
}

/**
 * One pass's verdicts, by condition. `model` is present exactly for inference offers.
 *
 * @category models
 */
export interface Verdicts {
  readonly upstream: Routing.Verdict
  readonly model?: Routing.Verdict
  readonly paymentGate: Routing.Verdict
  readonly routePublished: Routing.Verdict
}

/** The conditions `Ready` summarizes, by type, with their verdicts. */
const requiredOf = (verdicts: Verdicts): ReadonlyArray<readonly [string, Routing.Verdict]> => [
  ["UpstreamHealthy", verdicts.upstream],
  ["PaymentGateReady", verdicts.paymentGate],
  ["RoutePublished", verdicts.routePublished],
  ...(verdicts.model === undefined ? [] : ([["ModelReady", verdicts.model]] as const))
]

/**
 * Everything `Ready` requires is True: the offer serves, so it may be registered.
 *
 * @category decisions
 */
export const serves = (verdicts: Verdicts): boolean => requiredOf(verdicts).every(([, v]) => v.status === "True")

/**
 * `status.price`: the price that applies as the seller wrote it, in the token's symbol.
 *
 * @category decisions
 */
export const priceOf = (offer: Offer): { readonly price?: string } => {
  const asset = offer.spec.payment.asset
  const label = Price.label(offer.spec.payment.price, asset === undefined ? "USDC" : (asset.symbol ?? "tokens"))
  return label === undefined ? {} : { price: label }
}

/**
 * The whole status for this pass (see the module header), at `time` (RFC 3339, seconds).
 *
 * @category decisions
 */
export const decide = (
  offer: Offer,
  verdicts: Verdicts,
  registered: Registered,
  options: { readonly time: string; readonly publicBaseUrl: string; readonly path: string }
) => {
  const generation = offer.metadata.generation ?? 1
  const required = requiredOf(verdicts)
  // Written in this order (a new offer's conditions list in it); Ready summarizes in `required`'s.
  const written: ReadonlyArray<readonly [string, Routing.Verdict]> = [
    ["UpstreamHealthy", verdicts.upstream],
    ...(verdicts.model === undefined ? [] : ([["ModelReady", verdicts.model]] as const)),
    ["PaymentGateReady", verdicts.paymentGate],
    ["RoutePublished", verdicts.routePublished],
    ["Registered", registered]
  ]
  const updates: ReadonlyArray<Conditions.Update> = written.map(([type, v]) => ({
    type,
    status: v.status,
    reason: v.reason,
    message: v.message,
    observedGeneration: generation
  }))
  const previous = (offer.status?.conditions ?? []) as ReadonlyArray<Conditions.Condition>
  let conditions = Conditions.setAll(previous, updates, options.time)
  conditions = Conditions.set(
    conditions,
    Conditions.summarize(
      conditions,
      required.map(([type]) => type),
      generation
    ),
    options.time
  )
  const ready = Conditions.isTrue(conditions, "Ready", generation)
  const agentId = registered.agentId ?? offer.status?.agentId
  const txHash = registered.txHash ?? offer.status?.registrationTxHash
  return {
    observedGeneration: generation,
    conditions,
    phase: isPaused(offer) ? "Paused" : ready ? "Ready" : "NotReady",
    endpoint: `${options.publicBaseUrl.replace(/\/+$/u, "")}${options.path}`,
    ...priceOf(offer),
    ...(agentId === undefined ? {} : { agentId }),
    ...(txHash === undefined ? {} : { registrationTxHash: txHash })
  } as const
}
