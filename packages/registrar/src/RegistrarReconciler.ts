/**
 * One reconcile of a RegistrationRequest: the registrar's whole state machine, level-based and
 * safe to re-run at any point (a crash anywhere, a second start, a lost status).
 *
 * Expected flow (see DESIGN §5):
 * 1. Registration disabled, or no signer configured, and nothing was ever sent: `OffChainOnly`
 *    with the reason; looked at again every `offChainRecheck` (a signer added later is picked
 *    up; OffChainOnly is not a dead end). No finalizer is added: nothing on chain to clean up.
 * 2. Otherwise, under the finalizer `obol.org/registrar-tombstone`:
 *    - **Pending**: record `searchFromBlock` (the current block) and the `agentURI` about to be
 *      sent in status *before* anything is sent (lookups use that URI until Confirmed, so a
 *      spec change in between cannot hide a sent transaction); look the registration up on chain (owner = signer, same URI, from that block) and
 *      adopt it if found; else, holding the signer's lock and with no transaction of the signer
 *      in flight, simulate and send `register(agentURI)`.
 *    - **Submitted**: the hash goes to status at once, before waiting for the receipt.
 *    - **Confirmed**: `agentId` from the `Registered` log (0 is a real id), `agentRegistry`
 *      `eip155:<chain>:<registry>`. If `spec.agentURI` later changes (a new public URL),
 *      `setAgentURI` follows it.
 *    - **Failed**: any chain error (RPC down, no gas, revert) is written with its reason and the
 *      reconcile fails, so the runtime retries with capped exponential backoff.
 * 3. **Adoption**, instead of 2's mint when `spec.existingAgentId` is set and no mint was
 *    started (no `searchFromBlock`): an agent minted before us (obol-stack's monetize.py) is
 *    taken over, never minted again. An agent the request already holds comes before the spec's
 *    (`existingAgentId` is read only while the request holds none). Read the agent; `Failed` with reason `AgentNotFound` if it does not exist, or
 *    `AgentNotOwned` (naming its owner and our signer, and what to do) if the signer neither owns
 *    it nor is approved for it (`isAuthorizedOrOwner`); both mint nothing and are looked at again
 *    every `offChainRecheck`, so a transfer to the signer is picked up. Otherwise record the
 *    agent (`Pending` with `agentId`, so a delete after a crash still tombstones it), and unless
 *    its URI already is `spec.agentURI`, send `setAgentURI` under the signer's lock with nothing
 *    in flight, record the hash (`Submitted`) before awaiting the receipt, and on a restart look
 *    at the hash and at the agent's URI again before sending anything. Then `Confirmed` with
 *    reason `Adopted`, that `agentId`, and `txHash` only if a `setAgentURI` was sent. From there
 *    the agent is handled like a minted one (URI follow-ups, tombstone on delete).
 * 4. Deleted: find the agent (status, receipt, or the on-chain lookup), `setAgentURI` to the
 *    `active:false` tombstone data URI, wait for the receipt, then release the finalizer. An agent
 *    the signer may no longer manage is released without a tombstone (Warning Event).
 *
 * Nothing but the URI is written on chain: `register(agentURI)` carries no `MetadataEntry`s and
 * no `setMetadata` is sent. The ERC reserves one key, `agentWallet`, which the registry itself
 * sets to the owner; it names no key for an offer's metadata or provenance, which the
 * registration document publishes instead (ADR 0006).
 *
 * Idempotency: a crash after sending but before `txHash` reached status leaves `searchFromBlock`
 * behind; the next run finds the mined registration by owner and URI instead of minting again, and
 * waits while the signer still has a transaction in flight (sent, not yet mined). A dropped
 * transaction (unknown to the node, no registration found) is sent again.
 *
 * Every phase change is an Event on the request (Warning for Failed). The signer never appears in
 * status, Events or logs; only its address does.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Option, Result, Semaphore } from "effect"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import * as ChainClient from "@obol/chain/ChainClient"
import type { ChainError } from "@obol/chain/ChainError"
import * as Chains from "@obol/chain/Chains"
import * as Action from "@obol/controller/Action"
import * as StatusWriter from "@obol/controller/StatusWriter"
import { EventRecorder } from "@obol/controller/EventRecorder"
import * as Finalizer from "@obol/controller/Finalizer"
import type { Signer } from "@obol/chain/Signer"
import type { Address, Hash } from "viem"
import { Signers } from "./Signers.ts"
import * as Tombstone from "./Tombstone.ts"

type Request = typeof RegistrationRequest.schema.Type
type Status = NonNullable<Request["status"]>
type Phase = NonNullable<Status["phase"]>

/**
 * @category models
 */
export interface Settings {
  readonly chains: ReadonlyArray<Chains.ChainConfig>
  /** `false`: every request is OffChainOnly. */
  readonly enabled: boolean
  readonly fieldManager: string
  /** How often an OffChainOnly request is looked at again. */
  readonly offChainRecheck: Duration.Duration
  /** How long to wait while the signer has a transaction in flight. */
  readonly inFlightRecheck: Duration.Duration
}

/**
 * @category services
 */
export class RegistrarSettings extends Context.Service<RegistrarSettings, Settings>()(
  "@obol/registrar/RegistrarSettings"
) {
  static readonly layer = (settings: Partial<Settings> = {}) =>
    Layer.succeed(RegistrarSettings, {
      chains: Chains.defaults,
      enabled: true,
      fieldManager: "registrar",
      offChainRecheck: Duration.minutes(1),
      inFlightRecheck: Duration.seconds(5),
      ...settings
    })
}

/** @category constants */
export const finalizer = "obol.org/registrar-tombstone"

/**
 * The reconcile function, with the per-signer send locks it shares across requests.
 *
 * @category constructors
 */
export const make = Effect.sync(() => {
  const locks = new Map<string, Semaphore.Semaphore>()
  const lockOf = (address: Address) => {
    const key = address.toLowerCase()
    let lock = locks.get(key)
    if (lock === undefined) {
      lock = Semaphore.makeUnsafe(1)
      locks.set(key, lock)
    }
    return lock
  }
  const verified = new Set<string>()
  return (request: Request) => reconcile(request, lockOf, verified)
})

const same = (a: Address, b: Address) => a.toLowerCase() === b.toLowerCase()

const reconcile = (request: Request, lockOf: (address: Address) => Semaphore.Semaphore, verified: Set<string>) =>
  Effect.gen(function* () {
    const settings = yield* RegistrarSettings
    const events = yield* EventRecorder
    const signers = yield* Signers
    const chainClient = yield* ChainClient.ChainClient
    const { metadata, spec } = request
    const deleting = metadata.deletionTimestamp !== undefined
    const hasFinalizer = (metadata.finalizers ?? []).includes(finalizer)
    if (deleting && !hasFinalizer) return Action.awaitChange

    let current: Status = request.status ?? {}
    const sentSomething =
      current.agentId !== undefined || current.txHash !== undefined || current.searchFromBlock !== undefined

    const publish = (type: "Normal" | "Warning", reason: string, note: string) =>
      events.publish({
        regarding: {
          apiVersion: request.apiVersion,
          kind: request.kind,
          name: metadata.name ?? "",
          namespace: metadata.namespace ?? "default",
          ...(metadata.uid === undefined ? {} : { uid: metadata.uid })
        },
        type,
        reason,
        action: deleting ? "Tombstone" : "Register",
        note
      })

    /** Writes the whole status (SSA: what we leave out is removed) and an Event when the phase changes. */
    const write = (next: Status, note?: string) =>
      Effect.gen(function* () {
        const status: Status = { ...next, observedGeneration: metadata.generation ?? 0 }
        const changedPhase = status.phase !== current.phase
        const changedError = status.errorMessage !== current.errorMessage
        yield* StatusWriter.applyIfChanged(
          RegistrationRequest,
          { ...request, status: current },
          status,
          settings.fieldManager
        )
        current = status
        if ((changedPhase || changedError) && status.phase !== undefined) {
          yield* publish(
            status.phase === "Failed" ? "Warning" : "Normal",
            status.phase,
            note ?? status.errorMessage ?? `phase ${status.phase}`
          )
        }
      })

    const without = (status: Status, ...keys: ReadonlyArray<keyof Status>): Status => {
      const copy: Record<string, unknown> = { ...status }
      for (const key of keys) delete copy[key]
      return copy as Status
    }

    const offChain = (reason: string) =>
      Effect.gen(function* () {
        yield* write({ phase: "OffChainOnly", errorMessage: reason })
        return Action.requeueAfter(settings.offChainRecheck)
      })

    if (!deleting && !sentSomething && !settings.enabled) {
      return yield* offChain("registration is disabled in the registrar (REGISTRATION_ENABLED=false)")
    }

    const chain = Chains.resolve(settings.chains, spec.chain)
    const registryAddress = spec.registry ?? Option.getOrUndefined(chain)?.registry
    if (Option.isNone(chain) || registryAddress === undefined) {
      const message = Option.isNone(chain)
        ? `chain ${spec.chain} is not configured in the registrar (CHAINS_JSON)`
        : `no IdentityRegistry address for ${spec.chain}: set spec.registry or the chain's registry in CHAINS_JSON`
      if (deleting) {
        yield* publish("Warning", "TombstoneSkipped", `${message}; releasing without a tombstone`)
        return yield* releaseFinalizer(request)
      }
      yield* write({ ...without(current, "reason"), phase: "Failed", errorMessage: message })
      return Action.requeueAfter(settings.offChainRecheck)
    }
    const registry = chainClient.connect({
      chainId: chain.value.chainId,
      rpcUrl: chain.value.rpcUrl,
      registry: registryAddress as Address
    })
    const agentRegistry = `eip155:${chain.value.chainId}:${registryAddress}`

    const signerResult = yield* Effect.result(signers.get(request))
    if (Result.isFailure(signerResult)) {
      const ref = signers.refOf(request)
      const message =
        signerResult.failure._tag === "SignerError"
          ? signerResult.failure.message
          : `reading Secret ${ref.namespace}/${ref.name}: ${signerResult.failure.message}`
      if (!deleting) yield* write({ ...without(current, "reason"), phase: "Failed", errorMessage: message })
      return yield* Effect.fail(signerResult.failure)
    }
    const signer = signerResult.success
    if (!deleting && !sentSomething && Option.isNone(signer)) {
      const ref = signers.refOf(request)
      const adoption =
        spec.existingAgentId === undefined
          ? ""
          : `; agent ${spec.existingAgentId} is adopted once a signer is configured`
      return yield* offChain(
        `no signer configured: Secret ${ref.namespace}/${ref.name} has no key ${ref.key}${adoption}`
      )
    }

    /** Marks a chain error on status (Failed, with its reason) and fails, so the runtime backs off. */
    const failed = (error: ChainError, extra: Partial<Status> = {}) =>
      Effect.gen(function* () {
        yield* write({
          ...without(current, "reason"),
          ...extra,
          phase: "Failed",
          errorMessage: `${error.reason}: ${error.message}`
        })
        return yield* Effect.fail(error)
      })

    /** A failed wait for our transaction: a revert did nothing, so its hash is forgotten and the next attempt sends again. */
    const failedSend = (error: ChainError) =>
      Effect.suspend(() => {
        if (error.reason === "Reverted") current = without(current, "txHash")
        return failed(error)
      })

    const confirm = (registration: ChainClient.Registration, note: string) =>
      write(
        {
          ...without(current, "errorMessage", "reason"),
          phase: "Confirmed",
          agentId: registration.agentId.toString(),
          agentURI: registration.uri,
          agentRegistry,
          txHash: registration.txHash
        },
        note
      )

    /** Confirmed under an older URI than the spec's: run again at once to move it. */
    const afterConfirm = () =>
      current.agentURI === spec.agentURI ? Action.awaitChange : Action.requeueAfter(Duration.zero)

    /** The URI a transaction may already carry: recorded before the first send, then fixed until Confirmed. */
    const sentURI = () => current.agentURI ?? spec.agentURI

    /** Checks once per registry that it is one (code at the address, `getVersion()`). */
    const checkRegistry = Effect.gen(function* () {
      const target = `${registry.target.chainId}|${registry.target.registry.toLowerCase()}`
      if (verified.has(target)) return
      const version = yield* registry.version.pipe(Effect.catch((e) => failed(e)))
      yield* Effect.logInfo("IdentityRegistry checked").pipe(Effect.annotateLogs({ registry: agentRegistry, version }))
      verified.add(target)
    })

    /** May the signer manage the agent (owner, approved or operator)? */
    const mayManage = (key: Signer, agent: ChainClient.Agent) =>
      same(agent.owner, key.address) ? Effect.succeed(true) : registry.isAuthorizedOrOwner(key.address, agent.agentId)

    /** Adoption refused: nothing minted, nothing of the agent kept; looked at again periodically. */
    const refuse = (reason: "AgentNotOwned" | "AgentNotFound", message: string) =>
      Effect.gen(function* () {
        yield* write({ phase: "Failed", reason, errorMessage: message })
        return Action.requeueAfter(settings.offChainRecheck)
      })

    /** Takes over `spec.existingAgentId` instead of minting (flow step 3). */
    const adopt = (key: Signer, agentId: bigint) =>
      Effect.gen(function* () {
        if (current.txHash !== undefined) {
          // A setAgentURI sent earlier: wait for it; then the agent's URI says what is left to do.
          const hash = current.txHash as Hash
          const state = yield* registry.transaction(hash).pipe(Effect.catch((e) => failed(e)))
          if (state === "Unknown") current = without(current, "txHash")
          else {
            const mined = yield* Effect.result(registry.awaitReceipt(hash))
            if (Result.isFailure(mined)) return yield* failedSend(mined.failure)
          }
        }
        yield* checkRegistry
        const agent = yield* registry.getAgent(agentId).pipe(Effect.catch((e) => failed(e)))
        if (Option.isNone(agent)) {
          return yield* refuse(
            "AgentNotFound",
            `agent ${agentId} (spec.existingAgentId) does not exist in ${agentRegistry}, so it cannot be adopted; nothing was minted. If it was minted on another chain or registry, register there; or remove status.agentId from the ServiceOffer to mint a new agent`
          )
        }
        if (!(yield* mayManage(key, agent.value).pipe(Effect.catch((e) => failed(e))))) {
          return yield* refuse(
            "AgentNotOwned",
            `agent ${agentId} (spec.existingAgentId) in ${agentRegistry} is owned by ${agent.value.owner}, and the registrar's signer ${key.address} is neither its owner nor approved for it, so it cannot be adopted; nothing was minted. Transfer the agent to ${key.address} (or approve ${key.address} for it), or remove status.agentId from the ServiceOffer to mint a new agent`
          )
        }
        const adopted: Status = {
          ...without(current, "errorMessage", "reason"),
          agentId: agentId.toString(),
          agentURI: spec.agentURI,
          agentRegistry
        }
        if (agent.value.uri === spec.agentURI) {
          yield* write(
            { ...adopted, phase: "Confirmed", reason: "Adopted" },
            `adopted agent ${agentId} in ${agentRegistry}; it already points at ${spec.agentURI}`
          )
          return Action.awaitChange
        }
        // The agent goes to status before anything is sent: a delete after a crash still tombstones it.
        if (current.agentId !== agentId.toString()) yield* write({ ...adopted, phase: "Pending" })
        const sent = yield* lockOf(key.address).withPermits(1)(
          Effect.gen(function* () {
            // A setAgentURI sent but not yet mined (a crash before its hash was recorded) is not resent.
            const inFlight = yield* registry.inFlight(key.address)
            if (inFlight > 0) return Option.none<Hash>()
            const hash = yield* registry.setAgentURI(key, agentId, spec.agentURI)
            yield* write(
              { ...adopted, phase: "Submitted", txHash: hash },
              `sent setAgentURI(${agentId}, ${spec.agentURI}) from ${key.address} to adopt agent ${agentId} (tx ${hash})`
            )
            return Option.some(hash)
          }).pipe(Effect.catchTag("ChainError", (e) => failed(e)))
        )
        if (Option.isNone(sent)) {
          yield* Effect.logInfo("Waiting for the signer's in-flight transactions before sending").pipe(
            Effect.annotateLogs({ signer: key.address })
          )
          return Action.requeueAfter(settings.inFlightRecheck)
        }
        yield* registry.awaitReceipt(sent.value).pipe(Effect.catch(failedSend))
        yield* write(
          { ...adopted, phase: "Confirmed", reason: "Adopted", txHash: sent.value },
          `adopted agent ${agentId} in ${agentRegistry}: it now points at ${spec.agentURI} (tx ${sent.value})`
        )
        return afterConfirm()
      })

    /** The agent behind this request, wherever the evidence is. */
    const locate = (owner: Address): Effect.Effect<Option.Option<bigint>, ChainError> =>
      Effect.gen(function* () {
        if (current.agentId !== undefined) return Option.some(BigInt(current.agentId))
        if (current.txHash !== undefined && (yield* registry.transaction(current.txHash as Hash)) !== "Unknown") {
          const mined = yield* Effect.result(registry.awaitRegistration(current.txHash as Hash))
          if (Result.isSuccess(mined)) return Option.some(mined.success.agentId)
          // A reverted registration minted nothing; an earlier attempt may still have.
          if (mined.failure.reason !== "Reverted") return yield* Effect.fail(mined.failure)
        }
        if (current.searchFromBlock === undefined) return Option.none()
        const found = yield* registry.findRegistration(owner, sentURI(), BigInt(current.searchFromBlock))
        return Option.map(found, (r) => r.agentId)
      })

    const apply = () =>
      Effect.gen(function* () {
        if (Option.isNone(signer)) {
          // Registered before the signer went away: nothing to do until it is back.
          return Action.requeueAfter(settings.offChainRecheck)
        }
        const key = signer.value
        if (current.phase === "Confirmed" && current.agentId !== undefined) {
          if (current.agentRegistry !== undefined && current.agentRegistry !== agentRegistry) {
            const message = `registered as agent ${current.agentId} in ${current.agentRegistry}, but the request now names ${agentRegistry}; delete and recreate the request to register there`
            if (current.errorMessage !== message) yield* publish("Warning", "RegistryChanged", message)
            yield* write({ ...current, errorMessage: message })
            return Action.awaitChange
          }
          if (current.agentURI === spec.agentURI) {
            yield* write(current)
            return Action.awaitChange
          }
          const agentId = BigInt(current.agentId)
          yield* registry.setAgentURI(key, agentId, spec.agentURI).pipe(
            Effect.flatMap(registry.awaitReceipt),
            Effect.catch((e) => failed(e))
          )
          yield* write(
            { ...without(current, "errorMessage"), phase: "Confirmed", agentURI: spec.agentURI },
            `agent ${agentId} now points at ${spec.agentURI}`
          )
          yield* publish("Normal", "URIUpdated", `agent ${agentId} now points at ${spec.agentURI}`)
          return Action.awaitChange
        }

        // Adopt instead of minting, unless a mint was already started (its searchFromBlock is on
        // record): that one may have minted, and is finished first. An agent the request already
        // holds (adopted, then failed) comes before the spec's.
        const adoptee = current.agentId ?? spec.existingAgentId
        if (adoptee !== undefined && current.searchFromBlock === undefined) {
          return yield* adopt(key, BigInt(adoptee))
        }

        if (current.txHash !== undefined) {
          const hash = current.txHash as Hash
          const state = yield* registry.transaction(hash).pipe(Effect.catch((e) => failed(e)))
          if (state !== "Unknown") {
            const mined = yield* Effect.result(registry.awaitRegistration(hash))
            if (Result.isSuccess(mined)) {
              yield* confirm(
                mined.success,
                `registered as agent ${mined.success.agentId} in ${agentRegistry} (tx ${hash})`
              )
              return afterConfirm()
            }
            // A revert minted nothing: forget the hash so the next attempt sends again.
            return yield* failedSend(mined.failure)
          }
          // Dropped by the node: fall through to the lookup, then send again.
          current = without(current, "txHash")
        }

        let from = current.searchFromBlock
        if (from === undefined) {
          from = Number(yield* registry.blockNumber.pipe(Effect.catch((e) => failed(e))))
          yield* write({
            ...without(current, "reason"),
            phase: "Pending",
            searchFromBlock: from,
            agentURI: spec.agentURI
          })
        }
        const found = yield* registry
          .findRegistration(key.address, sentURI(), BigInt(from))
          .pipe(Effect.catch((e) => failed(e)))
        if (Option.isSome(found)) {
          yield* confirm(
            found.value,
            `found agent ${found.value.agentId} registered on chain from an earlier attempt (tx ${found.value.txHash}); nothing sent again`
          )
          return afterConfirm()
        }

        yield* checkRegistry

        const sent = yield* lockOf(key.address).withPermits(1)(
          Effect.gen(function* () {
            const inFlight = yield* registry.inFlight(key.address)
            if (inFlight > 0) return Option.none<Hash>()
            const hash = yield* registry.register(key, sentURI())
            yield* write(
              {
                ...without(current, "errorMessage", "reason"),
                phase: "Submitted",
                txHash: hash,
                searchFromBlock: from
              },
              `sent register(${sentURI()}) from ${key.address} (tx ${hash})`
            )
            return Option.some(hash)
          }).pipe(Effect.catchTag("ChainError", (e) => failed(e)))
        )
        if (Option.isNone(sent)) {
          yield* Effect.logInfo("Waiting for the signer's in-flight transactions before sending").pipe(
            Effect.annotateLogs({ signer: key.address })
          )
          return Action.requeueAfter(settings.inFlightRecheck)
        }
        const registration = yield* registry.awaitRegistration(sent.value).pipe(Effect.catch(failedSend))
        yield* confirm(
          registration,
          `registered as agent ${registration.agentId} in ${agentRegistry} (tx ${registration.txHash})`
        )
        return afterConfirm()
      })

    const cleanup = () =>
      Effect.gen(function* () {
        if (!sentSomething) return Finalizer.done
        if (Option.isNone(signer)) {
          const ref = signers.refOf(request)
          yield* publish(
            "Warning",
            "TombstoneBlocked",
            `cannot tombstone without a signer: Secret ${ref.namespace}/${ref.name} has no key ${ref.key}`
          )
          return Finalizer.pending(settings.offChainRecheck)
        }
        const key = signer.value
        const agentId = yield* locate(key.address)
        if (Option.isNone(agentId)) return Finalizer.done
        const agent = yield* registry.getAgent(agentId.value)
        if (Option.isNone(agent)) return Finalizer.done
        if (!(yield* mayManage(key, agent.value))) {
          yield* publish(
            "Warning",
            "TombstoneSkipped",
            `agent ${agentId.value} is owned by ${agent.value.owner}, and the signer ${key.address} is neither its owner nor approved for it; releasing without a tombstone`
          )
          return Finalizer.done
        }
        const tombstone = Tombstone.uri({ name: spec.name, agentId: agentId.value, agentRegistry })
        if (agent.value.uri !== tombstone) {
          yield* registry.awaitReceipt(yield* registry.setAgentURI(key, agentId.value, tombstone))
        }
        yield* publish(
          "Normal",
          "Tombstoned",
          `agent ${agentId.value} in ${agentRegistry} now points at an active:false document`
        )
        return Finalizer.done
      })

    return yield* Finalizer.run({
      kind: RegistrationRequest,
      object: request,
      finalizer,
      apply,
      cleanup
    })
  })

const releaseFinalizer = (request: Request) =>
  Finalizer.run({
    kind: RegistrationRequest,
    object: request,
    finalizer,
    apply: () => Effect.succeed(Action.awaitChange),
    cleanup: () => Effect.succeed(Finalizer.done)
  })

/** @internal */
export type { Phase }
