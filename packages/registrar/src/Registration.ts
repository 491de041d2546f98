/**
 * The registrar's state machine as pure decisions. Given one RegistrationRequest (its spec, and
 * its status passed as a value) and what has been observed so far in this run (the signer, chain
 * reads, the outcome of a send), each stage function names the one next step: observe something,
 * write a status, forget a transaction, send one, or finish with what the runtime does next.
 * `RegistrarReconciler` performs the steps (observe → decide → act) and feeds each outcome back
 * until a stage finishes. This module performs no effect and reads no clock; every chain read,
 * status write, Event and lock is the reconciler's.
 *
 * Stages: `admit` runs first and decides whether the request goes on chain at all (no finalizer
 * is added before it says `Guard`); then `apply` (not deleting) or `cleanup` (deleting) runs under
 * the finalizer `obol.org/registrar-tombstone`.
 *
 * Expected flow (docs/architecture.md#the-registrar, ADR 0006):
 * 1. Registration disabled, or no signer configured, and nothing was ever sent: `OffChainOnly`
 *    with the reason; looked at again every `offChainRecheck` (a signer added later is picked
 *    up; OffChainOnly is not a dead end). No finalizer is added: nothing on chain to clean up.
 * 2. Otherwise, under the finalizer:
 *    - **Pending**: record `searchFromBlock` (the current block) and the `agentURI` about to be
 *      sent in status *before* anything is sent (lookups use that URI until Confirmed, so a spec
 *      change in between cannot hide a sent transaction); look the registration up on chain
 *      (owner = signer, same URI, from that block) and adopt it if found; else, holding the
 *      signer's lock and with no transaction of the signer in flight, send `register(agentURI)`.
 *    - **Submitted**: the hash goes to status at once, before waiting for the receipt.
 *    - **Confirmed**: `agentId` from the `Registered` log (0 is a real id), `agentRegistry`
 *      `eip155:<chain>:<registry>`. If `spec.agentURI` later changes (a new public URL),
 *      `setAgentURI` follows it: the agent's URI is read first (already there: Confirmed,
 *      nothing sent), then the send goes like `register`'s, under the signer's lock with nothing
 *      in flight, and `Submitted` with the hash (and the new `agentURI`) is written before the
 *      lock is released; Confirmed with Event `URIUpdated` once its receipt is in.
 *    - **Failed**: any chain error (RPC down, no gas, revert) is written with its reason and the
 *      run fails, so the runtime retries with capped exponential backoff. A reverted transaction
 *      minted nothing: its hash is forgotten, so the retry sends again.
 * 3. **Adoption**, instead of 2's mint when `spec.existingAgentId` is set and no mint was started
 *    (no `searchFromBlock`): an agent minted before us (obol-stack's monetize.py) is taken over,
 *    never minted again. An agent the request already holds comes before the spec's
 *    (`existingAgentId` is read only while the request holds none). `Failed` with reason
 *    `AgentNotFound` if it does not exist, or `AgentNotOwned` (naming its owner and our signer,
 *    and what to do) if the signer neither owns it nor is approved for it; both mint nothing and
 *    are looked at again every `offChainRecheck`, so a transfer to the signer is picked up.
 *    Otherwise record the agent (`Pending` with `agentId`, so a delete after a crash still
 *    tombstones it), and unless its URI already is `spec.agentURI`, send `setAgentURI` under the
 *    signer's lock with nothing in flight, record the hash (`Submitted`) before awaiting the
 *    receipt, and on a restart look at the hash and at the agent's URI again before sending
 *    anything. Then `Confirmed` with reason `Adopted`, that `agentId`, and `txHash` only if a
 *    `setAgentURI` was sent. From there the agent is handled like a minted one.
 * 4. Deleted: find the agent (status, receipt, or the on-chain lookup) and read it; unless it
 *    already is, `setAgentURI` to the `active:false` tombstone data URI, under the signer's lock
 *    with nothing in flight, `Submitted` with the hash and the `agentId` written before the lock
 *    is released; wait for the receipt, then release the finalizer. An agent the signer may no
 *    longer manage is released without a tombstone (Warning Event); so is a request whose chain
 *    is no longer configured.
 *
 * Idempotency: every transaction (register, adoption, URI follow-up, tombstone) is sent under the
 * signer's lock, only when the signer has nothing in flight, and its hash reaches status before
 * the lock is released. So two requests of one signer never race for its nonce, and a send is
 * never made while an earlier one of the signer may still land. A crash after sending but before
 * `txHash` reached status leaves `searchFromBlock` behind; the next run finds the mined
 * registration by owner and URI instead of minting again, and waits while the signer still has a
 * transaction in flight (sent, not yet mined). A `setAgentURI` (adoption, follow-up, tombstone)
 * is never sent again once it landed: a recorded hash is waited for, and the agent's URI is read
 * before any send. A dropped transaction (unknown to the node, nothing found on chain) is sent
 * again.
 *
 * Caveat: a URI follow-up writes nothing before its send (unlike a mint's `Pending`). If the
 * process dies between the node accepting it and `Submitted` reaching status, and the spec goes
 * back to the URI on record meanwhile, the agent is left on the newer URI until the spec changes
 * again or the request is deleted.
 *
 * Nothing but the URI is written on chain: `register(agentURI)` carries no `MetadataEntry`s and
 * no `setMetadata` is sent (ADR 0006).
 *
 * @since 0.1.0
 */
import { Option, Result } from "effect"
import type { RegistrationRequest } from "@obol/api/RegistrationRequest"
import type * as ChainClient from "@obol/chain/ChainClient"
import type { ChainError } from "@obol/chain/ChainError"
import type { Signer, SignerError } from "@obol/chain/Signer"
import type { KubeError } from "@obol/kube/KubeError"
import type { Address, Hash } from "viem"
import type { SecretRef } from "./Signers.ts"
import * as Tombstone from "./Tombstone.ts"

type RegistrationRequestType = typeof RegistrationRequest.schema.Type

/** @category models */
export type Status = NonNullable<RegistrationRequestType["status"]>

/**
 * What one run starts from: nothing in it changes while the run goes on.
 *
 * @category models
 */
export interface Input {
  readonly spec: RegistrationRequestType["spec"]
  /** The status as read when the run started: what earlier runs sent. */
  readonly read: Status
  readonly deleting: boolean
  readonly hasFinalizer: boolean
  /** `false`: registration is disabled in the registrar. */
  readonly enabled: boolean
  /** The registry as `eip155:<chain>:<registry>`, or what to configure when the chain is unknown. */
  readonly target: Result.Result<string, string>
  /** Where the request's signer is read from (named in messages; never its content). */
  readonly secret: SecretRef
}

/**
 * An answer to a read about one transaction.
 *
 * @category models
 */
export interface Answer<A> {
  readonly of: Hash
  readonly result: Result.Result<A, ChainError>
}

/**
 * What a send did: sent with this hash, or nothing sent because the signer had a transaction in
 * flight.
 *
 * @category models
 */
export type Sent = { readonly _tag: "Sent"; readonly hash: Hash } | { readonly _tag: "InFlight" }

/**
 * Everything observed so far in this run, each with its success or its failure.
 *
 * @category models
 */
export interface Observed {
  readonly signer?: Result.Result<Option.Option<Signer>, SignerError | KubeError>
  readonly transaction?: Answer<ChainClient.TransactionState>
  readonly registration?: Answer<ChainClient.Registration>
  readonly receipt?: Answer<void>
  readonly block?: Result.Result<bigint, ChainError>
  readonly lookup?: Result.Result<Option.Option<ChainClient.Registration>, ChainError>
  readonly registry?: Result.Result<void, ChainError>
  readonly agent?: Result.Result<Option.Option<ChainClient.Agent>, ChainError>
  readonly authorized?: Result.Result<boolean, ChainError>
  readonly sent?: Result.Result<Sent, ChainError>
}

/**
 * The status as it stands now (written, or assumed after a `Forget`) and what was observed.
 *
 * @category models
 */
export interface State {
  readonly status: Status
  readonly observed: Observed
}

/**
 * A read the reconciler performs; its answer goes to the `Observed` field of the same name.
 *
 * @category models
 */
export type Read =
  | { readonly _tag: "Signer" }
  | { readonly _tag: "Transaction"; readonly hash: Hash }
  | { readonly _tag: "Registration"; readonly hash: Hash }
  | { readonly _tag: "Receipt"; readonly hash: Hash }
  | { readonly _tag: "Block" }
  | { readonly _tag: "Lookup"; readonly owner: Address; readonly uri: string; readonly fromBlock: bigint }
  | { readonly _tag: "Registry" }
  | { readonly _tag: "Agent"; readonly agentId: bigint }
  | { readonly _tag: "Authorized"; readonly spender: Address; readonly agentId: bigint }

/**
 * A transaction to send.
 *
 * @category models
 */
export type Call =
  | { readonly _tag: "Register"; readonly uri: string }
  | { readonly _tag: "SetAgentURI"; readonly agentId: bigint; readonly uri: string }

/**
 * Write the whole status (an Event follows when its phase or error changes, see `changeEvent`).
 *
 * @category models
 */
export interface Write {
  readonly _tag: "Write"
  readonly status: Status
  /** The note of the phase Event, when there is one; default: the error message, or the phase. */
  readonly note?: string
}

/**
 * Publish an Event on the request that no status change carries.
 *
 * @category models
 */
export interface Publish {
  readonly _tag: "Publish"
  readonly type: "Normal" | "Warning"
  readonly reason: string
  readonly note: string
}

/**
 * Log a line (the request is annotated by the runtime).
 *
 * @category models
 */
export interface Log {
  readonly _tag: "Log"
  readonly message: string
  readonly annotations: Readonly<Record<string, string>>
}

/** @category models */
export type Delay = "OffChainRecheck" | "InFlightRecheck" | "Now"

/** Run again after the delay (`Now`: at once). @category models */
export type Requeue = { readonly _tag: "Requeue"; readonly after: Delay }
/** Run again only on a change. @category models */
export type AwaitChange = { readonly _tag: "AwaitChange" }
/** Fail the run: the runtime retries with backoff. @category models */
export type Fail = { readonly _tag: "Fail"; readonly error: ChainError | SignerError | KubeError }
/** Take the finalizer (when missing) and go on with `apply` or `cleanup`. @category models */
export type Guard = { readonly _tag: "Guard" }
/** Let the request go: remove the finalizer. @category models */
export type Release = { readonly _tag: "Release" }
/** Keep the finalizer and look again after the delay. @category models */
export type Hold = { readonly _tag: "Hold"; readonly after: Delay }

/**
 * One step of a stage. `Finish` ends the stage: its effects run in order, then `next` says what
 * the runtime does next.
 *
 * @category models
 */
export type Step<Then> =
  | { readonly _tag: "Observe"; readonly read: Read }
  | Write
  | {
      readonly _tag: "Forget"
      /** The status to go on with, unwritten: a transaction the node never saw is dropped from it. */
      readonly status: Status
    }
  | {
      /**
       * Holding the signer's lock: if the signer has a transaction in flight send nothing
       * (`InFlight`); else send `call` and write `submitted` with its `txHash`, Event note
       * `<note> (tx <hash>)`, before the lock is released. Every transaction goes this way
       * (register, adoption, URI follow-up, tombstone): one signer never has two sends racing
       * for its nonce, and a crash after a send leaves its hash or an in-flight transaction
       * behind for the next run to find.
       */
      readonly _tag: "Send"
      readonly signer: Signer
      readonly call: Call
      readonly submitted: Status
      readonly note: string
    }
  | { readonly _tag: "Finish"; readonly effects: ReadonlyArray<Write | Publish | Log>; readonly next: Then }

/** @category models */
export type AdmitStep = Step<AwaitChange | Requeue | Fail | Guard | Release>
/** @category models */
export type ApplyStep = Step<AwaitChange | Requeue | Fail>
/** @category models */
export type CleanupStep = Step<Release | Hold | Fail>

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

const awaitChange: AwaitChange = { _tag: "AwaitChange" }
const release: Release = { _tag: "Release" }
const requeue = (after: Delay): Requeue => ({ _tag: "Requeue", after })
const fail = (error: Fail["error"]): Fail => ({ _tag: "Fail", error })

const finish = <Then>(next: Then, ...effects: ReadonlyArray<Write | Publish | Log>): Step<Then> => ({
  _tag: "Finish",
  effects,
  next
})
const write = (status: Status, note?: string): Write =>
  note === undefined ? { _tag: "Write", status } : { _tag: "Write", status, note }
const publish = (type: Publish["type"], reason: string, note: string): Publish => ({
  _tag: "Publish",
  type,
  reason,
  note
})
const observe = (read: Read): { readonly _tag: "Observe"; readonly read: Read } => ({ _tag: "Observe", read })

const without = (status: Status, ...keys: ReadonlyArray<keyof Status>): Status => {
  const copy: Record<string, unknown> = { ...status }
  for (const key of keys) delete copy[key]
  return copy as Status
}

const same = (a: Address, b: Address) => a.toLowerCase() === b.toLowerCase()

/** The answer about `hash`, if that is what was asked. */
const answer = <A>(observed: Answer<A> | undefined, hash: Hash) => (observed?.of === hash ? observed.result : undefined)

/** Did this run send `hash` (so the node knows it, and its receipt is what is left to wait for)? */
const justSent = (observed: Observed, hash: string) =>
  observed.sent !== undefined &&
  Result.isSuccess(observed.sent) &&
  observed.sent.success._tag === "Sent" &&
  observed.sent.success.hash === hash

const signerOf = (observed: Observed): Option.Option<Signer> =>
  observed.signer !== undefined && Result.isSuccess(observed.signer) ? observed.signer.success : Option.none()

const agentRegistryOf = (input: Input) => Result.getOrElse(input.target, () => "")

/**
 * Has anything ever been sent for this request (an agent, a hash, or a mint started)?
 *
 * @category predicates
 */
export const sentSomething = (status: Status) =>
  status.agentId !== undefined || status.txHash !== undefined || status.searchFromBlock !== undefined

/** The URI a transaction may already carry: recorded before the first send, then fixed until Confirmed. */
const sentURI = (input: Input, status: Status) => status.agentURI ?? input.spec.agentURI

/** A chain error on status (Failed, with its reason), and the run fails so the runtime backs off. */
const failed = <Then>(status: Status, error: ChainError): Step<Then | Fail> =>
  finish<Then | Fail>(
    fail(error),
    write({ ...without(status, "reason"), phase: "Failed", errorMessage: `${error.reason}: ${error.message}` })
  )

/** A failed wait for our transaction: a revert did nothing, so its hash is forgotten and the retry sends again. */
const failedSend = <Then>(status: Status, error: ChainError): Step<Then | Fail> =>
  failed(error.reason === "Reverted" ? without(status, "txHash") : status, error)

/**
 * Waits for a transaction on record (a setAgentURI an earlier run sent): read it, then its
 * receipt. Undefined once it is mined; a transaction the node never saw is forgotten (the caller
 * goes on without it), and a failure fails the run (a revert forgets the hash first).
 */
const awaitRecorded = (observed: Observed, status: Status, recorded: Hash): ApplyStep | undefined => {
  const known = answer(observed.transaction, recorded)
  if (known === undefined) return observe({ _tag: "Transaction", hash: recorded })
  if (Result.isFailure(known)) return failed(status, known.failure)
  if (known.success === "Unknown") return { _tag: "Forget", status: without(status, "txHash") }
  const mined = answer(observed.receipt, recorded)
  if (mined === undefined) return observe({ _tag: "Receipt", hash: recorded })
  if (Result.isFailure(mined)) return failedSend(status, mined.failure)
  return undefined
}

const offChain = (reason: string): AdmitStep =>
  finish(requeue("OffChainRecheck"), write({ phase: "OffChainOnly", errorMessage: reason }))

/** Confirmed under an older URI than the spec's: run again at once to move it. */
const afterConfirm = (input: Input, confirmed: Status): AwaitChange | Requeue =>
  confirmed.agentURI === input.spec.agentURI ? awaitChange : requeue("Now")

const confirm = (input: Input, status: Status, registration: ChainClient.Registration, note: string): ApplyStep => {
  const confirmed: Status = {
    ...without(status, "errorMessage", "reason"),
    phase: "Confirmed",
    agentId: registration.agentId.toString(),
    agentURI: registration.uri,
    agentRegistry: agentRegistryOf(input),
    txHash: registration.txHash
  }
  return finish(afterConfirm(input, confirmed), write(confirmed, note))
}

const inFlight = (signer: Signer) =>
  finish(requeue("InFlightRecheck"), {
    _tag: "Log",
    message: "Waiting for the signer's in-flight transactions before sending",
    annotations: { signer: signer.address }
  } satisfies Log)

// ---------------------------------------------------------------------------------------------
// stages
// ---------------------------------------------------------------------------------------------

/**
 * Before the finalizer: does this request go on chain at all (flow step 1)?
 *
 * @category decisions
 */
export const admit = (input: Input, state: State): AdmitStep => {
  const { observed, status } = state
  if (input.deleting && !input.hasFinalizer) return finish(awaitChange)
  const sent = sentSomething(input.read)
  if (!input.deleting && !sent && !input.enabled) {
    return offChain("registration is disabled in the registrar (REGISTRATION_ENABLED=false)")
  }
  if (Result.isFailure(input.target)) {
    const message = input.target.failure
    if (input.deleting) {
      return finish(release, publish("Warning", "TombstoneSkipped", `${message}; releasing without a tombstone`))
    }
    return finish(
      requeue("OffChainRecheck"),
      write({ ...without(status, "reason"), phase: "Failed", errorMessage: message })
    )
  }
  if (observed.signer === undefined) return observe({ _tag: "Signer" })
  const { secret } = input
  if (Result.isFailure(observed.signer)) {
    const error = observed.signer.failure
    const message =
      error._tag === "SignerError"
        ? error.message
        : `reading Secret ${secret.namespace}/${secret.name}: ${error.message}`
    if (input.deleting) return finish(fail(error))
    return finish(fail(error), write({ ...without(status, "reason"), phase: "Failed", errorMessage: message }))
  }
  if (!input.deleting && !sent && Option.isNone(observed.signer.success)) {
    const adoption =
      input.spec.existingAgentId === undefined
        ? ""
        : `; agent ${input.spec.existingAgentId} is adopted once a signer is configured`
    return offChain(
      `no signer configured: Secret ${secret.namespace}/${secret.name} has no key ${secret.key}${adoption}`
    )
  }
  return finish({ _tag: "Guard" })
}

/**
 * Under the finalizer, not deleting: register, adopt, or follow the spec's URI (flow steps 2-3).
 *
 * @category decisions
 */
export const apply = (input: Input, state: State): ApplyStep => {
  const { status } = state
  const signer = signerOf(state.observed)
  // Registered before the signer went away: nothing to do until it is back.
  if (Option.isNone(signer)) return finish(requeue("OffChainRecheck"))
  // An agent confirmed once: keep it on the spec's URI. A minted agent keeps its searchFromBlock,
  // so a follow-up under way (Submitted) or failed comes back here; an adopted one goes back to
  // `adopt`, which waits for a recorded setAgentURI the same way.
  if (status.agentId !== undefined && (input.read.phase === "Confirmed" || status.searchFromBlock !== undefined)) {
    return follow(input, state, signer.value, BigInt(status.agentId))
  }
  // Adopt instead of minting, unless a mint was already started (its searchFromBlock is on
  // record): that one may have minted, and is finished first. An agent the request already
  // holds (adopted, then failed) comes before the spec's.
  const adoptee = status.agentId ?? input.spec.existingAgentId
  if (adoptee !== undefined && status.searchFromBlock === undefined) {
    return adopt(input, state, signer.value, BigInt(adoptee))
  }
  return mint(input, state, signer.value)
}

/**
 * An agent confirmed once: report a changed registry, or move the agent to the spec's URI with
 * `setAgentURI` under the signer's lock, its hash recorded (`Submitted`) before the receipt is
 * awaited. A hash recorded by an earlier run is waited for first, and the agent's URI is read
 * before anything is sent: a follow-up that already landed is confirmed, never sent again.
 */
const follow = (input: Input, state: State, signer: Signer, agentId: bigint): ApplyStep => {
  const { observed, status } = state
  const agentRegistry = agentRegistryOf(input)
  if (status.agentRegistry !== undefined && status.agentRegistry !== agentRegistry) {
    const message = `registered as agent ${status.agentId} in ${status.agentRegistry}, but the request now names ${agentRegistry}; delete and recreate the request to register there`
    return finish(
      awaitChange,
      ...(status.errorMessage === message ? [] : [publish("Warning", "RegistryChanged", message)]),
      write({ ...status, errorMessage: message })
    )
  }
  const uri = input.spec.agentURI
  if (status.phase === "Confirmed" && status.agentURI === uri) return finish(awaitChange, write(status))
  const moved = (note: string): ApplyStep =>
    finish(
      awaitChange,
      write(
        {
          ...without(status, "errorMessage", "reason"),
          ...(input.read.reason === "Adopted" ? { reason: "Adopted" as const } : {}),
          phase: "Confirmed",
          agentURI: uri
        },
        note
      ),
      publish("Normal", "URIUpdated", note)
    )

  if (observed.sent !== undefined) {
    if (Result.isFailure(observed.sent)) return failed(status, observed.sent.failure)
    if (observed.sent.success._tag === "InFlight") return inFlight(signer)
    const hash = observed.sent.success.hash
    const receipt = answer(observed.receipt, hash)
    if (receipt === undefined) return observe({ _tag: "Receipt", hash })
    if (Result.isFailure(receipt)) return failedSend(status, receipt.failure)
    return moved(`agent ${agentId} now points at ${uri} (tx ${hash})`)
  }

  // Not Confirmed: the hash on record may be a follow-up an earlier run sent. Wait for it.
  const recorded = status.txHash as Hash | undefined
  if (status.phase !== "Confirmed" && recorded !== undefined) {
    const waiting = awaitRecorded(observed, status, recorded)
    if (waiting !== undefined) return waiting
  }

  if (observed.agent === undefined) return observe({ _tag: "Agent", agentId })
  if (Result.isFailure(observed.agent)) return failed(status, observed.agent.failure)
  const agent = observed.agent.success
  if (Option.isSome(agent) && agent.value.uri === uri) return moved(`agent ${agentId} now points at ${uri}`)
  return {
    _tag: "Send",
    signer,
    call: { _tag: "SetAgentURI", agentId, uri },
    submitted: { ...without(status, "errorMessage", "reason"), phase: "Submitted", agentURI: uri },
    note: `sent setAgentURI(${agentId}, ${uri}) from ${signer.address}`
  }
}

/** Waits for the registration of `hash` (recorded, or sent in this run). */
const minted = (input: Input, state: State, hash: Hash): ApplyStep => {
  const mined = answer(state.observed.registration, hash)
  if (mined === undefined) return observe({ _tag: "Registration", hash })
  if (Result.isFailure(mined)) return failedSend(state.status, mined.failure)
  return confirm(
    input,
    state.status,
    mined.success,
    `registered as agent ${mined.success.agentId} in ${agentRegistryOf(input)} (tx ${hash})`
  )
}

/** Flow step 2: finish what was sent, else look up, else send `register`. */
const mint = (input: Input, state: State, signer: Signer): ApplyStep => {
  const { observed, status } = state
  const recorded = status.txHash as Hash | undefined
  if (recorded !== undefined) {
    if (!justSent(observed, recorded)) {
      const known = answer(observed.transaction, recorded)
      if (known === undefined) return observe({ _tag: "Transaction", hash: recorded })
      if (Result.isFailure(known)) return failed(status, known.failure)
      // Dropped by the node: go on to the lookup, then send again.
      if (known.success === "Unknown") return { _tag: "Forget", status: without(status, "txHash") }
    }
    return minted(input, state, recorded)
  }

  const from = status.searchFromBlock
  if (from === undefined) {
    if (observed.block === undefined) return observe({ _tag: "Block" })
    if (Result.isFailure(observed.block)) return failed(status, observed.block.failure)
    return write({
      ...without(status, "reason"),
      phase: "Pending",
      searchFromBlock: Number(observed.block.success),
      agentURI: input.spec.agentURI
    })
  }
  const uri = sentURI(input, status)
  if (observed.lookup === undefined) {
    return observe({ _tag: "Lookup", owner: signer.address, uri, fromBlock: BigInt(from) })
  }
  if (Result.isFailure(observed.lookup)) return failed(status, observed.lookup.failure)
  if (Option.isSome(observed.lookup.success)) {
    const found = observed.lookup.success.value
    return confirm(
      input,
      status,
      found,
      `found agent ${found.agentId} registered on chain from an earlier attempt (tx ${found.txHash}); nothing sent again`
    )
  }

  if (observed.registry === undefined) return observe({ _tag: "Registry" })
  if (Result.isFailure(observed.registry)) return failed(status, observed.registry.failure)

  if (observed.sent === undefined) {
    return {
      _tag: "Send",
      signer,
      call: { _tag: "Register", uri },
      submitted: { ...without(status, "errorMessage", "reason"), phase: "Submitted", searchFromBlock: from },
      note: `sent register(${uri}) from ${signer.address}`
    }
  }
  if (Result.isFailure(observed.sent)) return failed(status, observed.sent.failure)
  if (observed.sent.success._tag === "InFlight") return inFlight(signer)
  // The send recorded its hash in status, so this is reached only if that status was not kept.
  return minted(input, state, observed.sent.success.hash)
}

/** Flow step 3: take over `agentId` instead of minting. */
const adopt = (input: Input, state: State, signer: Signer, agentId: bigint): ApplyStep => {
  const { observed, status } = state
  const agentRegistry = agentRegistryOf(input)
  const uri = input.spec.agentURI
  const recorded = status.txHash as Hash | undefined
  if (recorded !== undefined && !justSent(observed, recorded)) {
    // A setAgentURI sent earlier: wait for it; then the agent's URI says what is left to do.
    const waiting = awaitRecorded(observed, status, recorded)
    if (waiting !== undefined) return waiting
  }

  if (observed.registry === undefined) return observe({ _tag: "Registry" })
  if (Result.isFailure(observed.registry)) return failed(status, observed.registry.failure)

  if (observed.agent === undefined) return observe({ _tag: "Agent", agentId })
  if (Result.isFailure(observed.agent)) return failed(status, observed.agent.failure)
  if (Option.isNone(observed.agent.success)) {
    return refuse(
      "AgentNotFound",
      `agent ${agentId} (spec.existingAgentId) does not exist in ${agentRegistry}, so it cannot be adopted; nothing was minted. If it was minted on another chain or registry, register there; or remove status.agentId from the ServiceOffer to mint a new agent`
    )
  }
  const agent = observed.agent.success.value
  if (!same(agent.owner, signer.address)) {
    if (observed.authorized === undefined) {
      return observe({ _tag: "Authorized", spender: signer.address, agentId })
    }
    if (Result.isFailure(observed.authorized)) return failed(status, observed.authorized.failure)
    if (!observed.authorized.success) {
      return refuse(
        "AgentNotOwned",
        `agent ${agentId} (spec.existingAgentId) in ${agentRegistry} is owned by ${agent.owner}, and the registrar's signer ${signer.address} is neither its owner nor approved for it, so it cannot be adopted; nothing was minted. Transfer the agent to ${signer.address} (or approve ${signer.address} for it), or remove status.agentId from the ServiceOffer to mint a new agent`
      )
    }
  }

  const adopted: Status = {
    ...without(status, "errorMessage", "reason"),
    agentId: agentId.toString(),
    agentURI: uri,
    agentRegistry
  }
  if (agent.uri === uri) {
    return finish(
      awaitChange,
      write(
        { ...adopted, phase: "Confirmed", reason: "Adopted" },
        `adopted agent ${agentId} in ${agentRegistry}; it already points at ${uri}`
      )
    )
  }
  // The agent goes to status before anything is sent: a delete after a crash still tombstones it.
  if (status.agentId !== agentId.toString()) return write({ ...adopted, phase: "Pending" })

  if (observed.sent === undefined) {
    return {
      _tag: "Send",
      signer,
      call: { _tag: "SetAgentURI", agentId, uri },
      submitted: { ...adopted, phase: "Submitted" },
      note: `sent setAgentURI(${agentId}, ${uri}) from ${signer.address} to adopt agent ${agentId}`
    }
  }
  if (Result.isFailure(observed.sent)) return failed(status, observed.sent.failure)
  if (observed.sent.success._tag === "InFlight") return inFlight(signer)
  const hash = observed.sent.success.hash
  const mined = answer(observed.receipt, hash)
  if (mined === undefined) return observe({ _tag: "Receipt", hash })
  if (Result.isFailure(mined)) return failedSend(status, mined.failure)
  const confirmed: Status = { ...adopted, phase: "Confirmed", reason: "Adopted", txHash: hash }
  return finish(
    afterConfirm(input, confirmed),
    write(confirmed, `adopted agent ${agentId} in ${agentRegistry}: it now points at ${uri} (tx ${hash})`)
  )
}

/** Adoption refused: nothing minted, nothing of the agent kept; looked at again periodically. */
const refuse = (reason: "AgentNotOwned" | "AgentNotFound", message: string): ApplyStep =>
  finish(requeue("OffChainRecheck"), write({ phase: "Failed", reason, errorMessage: message }))

/**
 * Under the finalizer, deleting: tombstone the agent, then let the request go (flow step 4).
 * Chain errors fail the run without a status write; the finalizer stays until a run succeeds.
 *
 * @category decisions
 */
export const cleanup = (input: Input, state: State): CleanupStep => {
  const { observed } = state
  if (!sentSomething(input.read)) return finish(release)
  const signer = signerOf(observed)
  if (Option.isNone(signer)) {
    const { secret } = input
    return finish(
      { _tag: "Hold", after: "OffChainRecheck" },
      publish(
        "Warning",
        "TombstoneBlocked",
        `cannot tombstone without a signer: Secret ${secret.namespace}/${secret.name} has no key ${secret.key}`
      )
    )
  }
  const located = locate(input, state, signer.value.address)
  if (typeof located !== "bigint") return located
  const agentId = located
  const agentRegistry = agentRegistryOf(input)

  if (observed.agent === undefined) return observe({ _tag: "Agent", agentId })
  if (Result.isFailure(observed.agent)) return finish(fail(observed.agent.failure))
  if (Option.isNone(observed.agent.success)) return finish(release)
  const agent = observed.agent.success.value
  if (!same(agent.owner, signer.value.address)) {
    if (observed.authorized === undefined) {
      return observe({ _tag: "Authorized", spender: signer.value.address, agentId })
    }
    if (Result.isFailure(observed.authorized)) return finish(fail(observed.authorized.failure))
    if (!observed.authorized.success) {
      return finish(
        release,
        publish(
          "Warning",
          "TombstoneSkipped",
          `agent ${agentId} is owned by ${agent.owner}, and the signer ${signer.value.address} is neither its owner nor approved for it; releasing without a tombstone`
        )
      )
    }
  }

  const tombstone = Tombstone.uri({ name: input.spec.name, agentId, agentRegistry })
  if (agent.uri !== tombstone) {
    if (observed.sent === undefined) {
      return {
        _tag: "Send",
        signer: signer.value,
        call: { _tag: "SetAgentURI", agentId, uri: tombstone },
        submitted: { ...without(state.status, "errorMessage"), phase: "Submitted", agentId: agentId.toString() },
        note: `sent setAgentURI(${agentId}, the active:false tombstone) from ${signer.value.address}`
      }
    }
    if (Result.isFailure(observed.sent)) return finish(fail(observed.sent.failure))
    if (observed.sent.success._tag === "InFlight") return finish({ _tag: "Hold", after: "InFlightRecheck" })
    const hash = observed.sent.success.hash
    const mined = answer(observed.receipt, hash)
    if (mined === undefined) return observe({ _tag: "Receipt", hash })
    if (Result.isFailure(mined)) return finish(fail(mined.failure))
  }
  return finish(
    release,
    publish("Normal", "Tombstoned", `agent ${agentId} in ${agentRegistry} now points at an active:false document`)
  )
}

/** The agent behind a deleted request, wherever the evidence is; or the step that finds it. */
const locate = (input: Input, state: State, owner: Address): CleanupStep | bigint => {
  const { observed, status } = state
  if (status.agentId !== undefined) return BigInt(status.agentId)
  const recorded = status.txHash as Hash | undefined
  if (recorded !== undefined) {
    const known = answer(observed.transaction, recorded)
    if (known === undefined) return observe({ _tag: "Transaction", hash: recorded })
    if (Result.isFailure(known)) return finish(fail(known.failure))
    if (known.success !== "Unknown") {
      const mined = answer(observed.registration, recorded)
      if (mined === undefined) return observe({ _tag: "Registration", hash: recorded })
      if (Result.isSuccess(mined)) return mined.success.agentId
      // A reverted registration minted nothing; an earlier attempt may still have.
      if (mined.failure.reason !== "Reverted") return finish(fail(mined.failure))
    }
  }
  if (status.searchFromBlock === undefined) return finish(release)
  if (observed.lookup === undefined) {
    return observe({
      _tag: "Lookup",
      owner,
      uri: sentURI(input, status),
      fromBlock: BigInt(status.searchFromBlock)
    })
  }
  if (Result.isFailure(observed.lookup)) return finish(fail(observed.lookup.failure))
  if (Option.isNone(observed.lookup.success)) return finish(release)
  return observed.lookup.success.value.agentId
}

/**
 * The Event a status write carries: one when the phase or the error message changes (Warning for
 * Failed), none otherwise or while there is no phase.
 *
 * @category decisions
 */
export const changeEvent = (before: Status, after: Status, note?: string): Publish | undefined =>
  (after.phase !== before.phase || after.errorMessage !== before.errorMessage) && after.phase !== undefined
    ? publish(
        after.phase === "Failed" ? "Warning" : "Normal",
        after.phase,
        note ?? after.errorMessage ?? `phase ${after.phase}`
      )
    : undefined
