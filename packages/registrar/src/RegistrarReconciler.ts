/**
 * One reconcile of a RegistrationRequest: observe → decide → act. `Registration` holds the state
 * machine as pure decisions (its header has the expected flow and the idempotency argument); this
 * module runs it. Each stage (`admit`, then `apply` or `cleanup` under the finalizer
 * `obol.org/registrar-tombstone`) is a short loop: ask the stage for the next step given the status
 * (a value threaded from step to step) and what was observed, perform that step, feed back its
 * outcome, until the stage finishes with what the runtime does next.
 *
 * What acting means here:
 * - **Observe**: one read (the signer Secret, or one chain call); its failure is observed too, and
 *   the decision says what it costs.
 * - **Write**: the whole status through `StatusWriter.applyIfChanged` (server-side apply, sent only
 *   when it differs from the status the run holds), with an Event when the phase or the error
 *   changes (Warning for Failed).
 * - **Send**: holding the signer's lock (one per signer address, shared by all requests): with a
 *   transaction of the signer in flight send nothing; else send, and write `Submitted` with the
 *   hash before the lock is released. Every transaction goes this way (register, adoption, URI
 *   follow-up, tombstone), so two requests of one signer never send at once: without the lock
 *   both would take the same nonce from the node, and one transaction would be rejected or
 *   replace the other.
 * - The registry's code and `getVersion()` are checked once per registry per process.
 *
 * It decides nothing itself: which step comes next, which status is written and which Event is
 * published are `Registration`'s. The signer never appears in status, Events or logs; only its
 * address does.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Option, Result, Semaphore } from "effect"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import * as ChainClient from "@obol/chain/ChainClient"
import type { ChainError } from "@obol/chain/ChainError"
import * as Chains from "@obol/chain/Chains"
import type { Signer } from "@obol/chain/Signer"
import * as Action from "@obol/controller/Action"
import { EventRecorder } from "@obol/controller/EventRecorder"
import * as Finalizer from "@obol/controller/Finalizer"
import * as StatusWriter from "@obol/controller/StatusWriter"
import type { Address } from "viem"
import * as Registration from "./Registration.ts"
import { Signers } from "./Signers.ts"

type Request = typeof RegistrationRequest.schema.Type
type Status = Registration.Status
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
 * The reconcile function, with the per-signer send locks and the set of checked registries it
 * shares across requests.
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

const withSent = (
  state: Registration.State,
  sent: Result.Result<Registration.Sent, ChainError>
): Registration.State => ({ ...state, observed: { ...state.observed, sent } })

const reconcile = Effect.fn("RegistrarReconciler.reconcile")(function* (
  request: Request,
  lockOf: (address: Address) => Semaphore.Semaphore,
  verified: Set<string>
) {
  const settings = yield* RegistrarSettings
  const events = yield* EventRecorder
  const signers = yield* Signers
  const chainClient = yield* ChainClient.ChainClient
  const { metadata, spec } = request
  const deleting = metadata.deletionTimestamp !== undefined

  const chain = Chains.resolve(settings.chains, spec.chain)
  const registryAddress = spec.registry ?? Option.getOrUndefined(chain)?.registry
  const registry =
    Option.isSome(chain) && registryAddress !== undefined
      ? chainClient.connect({
          chainId: chain.value.chainId,
          rpcUrl: chain.value.rpcUrl,
          registry: registryAddress as Address
        })
      : undefined
  const input: Registration.Input = {
    spec,
    read: request.status ?? {},
    deleting,
    hasFinalizer: (metadata.finalizers ?? []).includes(finalizer),
    enabled: settings.enabled,
    target:
      registry !== undefined
        ? Result.succeed(`eip155:${registry.target.chainId}:${registryAddress}`)
        : Option.isNone(chain)
          ? Result.fail(`chain ${spec.chain} is not configured in the registrar (CHAINS_JSON)`)
          : Result.fail(
              `no IdentityRegistry address for ${spec.chain}: set spec.registry or the chain's registry in CHAINS_JSON`
            ),
    secret: signers.refOf(request)
  }

  /** The connected registry; a decision asks for it only once the chain is resolved. */
  const onChain = <A, E>(f: (registry: ChainClient.Registry) => Effect.Effect<A, E>) =>
    registry === undefined
      ? Effect.die(new Error("registrar: a chain step before the chain was resolved"))
      : f(registry)

  const publish = (event: Registration.Publish) =>
    events.publish({
      regarding: {
        apiVersion: request.apiVersion,
        kind: request.kind,
        name: metadata.name ?? "",
        namespace: metadata.namespace ?? "default",
        ...(metadata.uid === undefined ? {} : { uid: metadata.uid })
      },
      type: event.type,
      reason: event.reason,
      action: deleting ? "Tombstone" : "Register",
      note: event.note
    })

  /** Writes the whole status (SSA: what we leave out is removed), and its Event if any. */
  const write = (state: Registration.State, next: Status, note?: string) =>
    Effect.gen(function* () {
      const status: Status = { ...next, observedGeneration: metadata.generation ?? 0 }
      yield* StatusWriter.applyIfChanged(
        RegistrationRequest,
        { ...request, status: state.status },
        status,
        settings.fieldManager
      )
      const event = Registration.changeEvent(state.status, status, note)
      if (event !== undefined) yield* publish(event)
      return { ...state, status }
    })

  /** Checks once per registry that it is one (code at the address, `getVersion()`). */
  const checkRegistry = (connected: ChainClient.Registry) =>
    Effect.gen(function* () {
      const target = `${connected.target.chainId}|${connected.target.registry.toLowerCase()}`
      if (verified.has(target)) return
      const version = yield* connected.version
      yield* Effect.logInfo("IdentityRegistry checked").pipe(
        Effect.annotateLogs({ registry: Result.getOrElse(input.target, () => ""), version })
      )
      verified.add(target)
    })

  const observe = (read: Registration.Read): Effect.Effect<Registration.Observed> => {
    switch (read._tag) {
      case "Signer":
        return Effect.map(Effect.result(signers.get(request)), (signer) => ({ signer }))
      case "Transaction":
        return answer(
          read.hash,
          (c) => c.transaction(read.hash),
          (transaction) => ({ transaction })
        )
      case "Registration":
        return answer(
          read.hash,
          (c) => c.awaitRegistration(read.hash),
          (registration) => ({ registration })
        )
      case "Receipt":
        return answer(
          read.hash,
          (c) => c.awaitReceipt(read.hash),
          (receipt) => ({ receipt })
        )
      case "Block":
        return chainRead(
          (c) => c.blockNumber,
          (block) => ({ block })
        )
      case "Lookup":
        return chainRead(
          (c) => c.findRegistration(read.owner, read.uri, read.fromBlock),
          (lookup) => ({ lookup })
        )
      case "Registry":
        return chainRead(checkRegistry, (checked) => ({ registry: checked }))
      case "Agent":
        return chainRead(
          (c) => c.getAgent(read.agentId),
          (agent) => ({ agent })
        )
      case "Authorized":
        return chainRead(
          (c) => c.isAuthorizedOrOwner(read.spender, read.agentId),
          (authorized) => ({ authorized })
        )
    }
  }
  const chainRead = <A, E>(
    f: (chain: ChainClient.Registry) => Effect.Effect<A, E>,
    to: (result: Result.Result<A, E>) => Registration.Observed
  ) => Effect.map(Effect.result(onChain(f)), to)
  const answer = <A>(
    of: Registration.Answer<A>["of"],
    f: (chain: ChainClient.Registry) => Effect.Effect<A, ChainError>,
    to: (answer: Registration.Answer<A>) => Registration.Observed
  ) => chainRead(f, (result) => to({ of, result }))

  const send = (signer: Signer, call: Registration.Call) =>
    onChain((c) =>
      call._tag === "Register" ? c.register(signer, call.uri) : c.setAgentURI(signer, call.agentId, call.uri)
    )

  /** Performs one step that does not finish its stage; succeeds with the state after it. */
  const act = (step: Exclude<Registration.Step<unknown>, { readonly _tag: "Finish" }>, state: Registration.State) => {
    switch (step._tag) {
      case "Observe":
        return Effect.map(observe(step.read), (observed) => ({
          ...state,
          observed: { ...state.observed, ...observed }
        }))
      case "Write":
        return write(state, step.status, step.note)
      case "Forget":
        return Effect.succeed({ ...state, status: step.status })
      case "Send":
        return lockOf(step.signer.address).withPermits(1)(
          Effect.gen(function* () {
            const inFlight = yield* onChain((c) => c.inFlight(step.signer.address))
            if (inFlight > 0) return withSent(state, Result.succeed({ _tag: "InFlight" }))
            const hash = yield* send(step.signer, step.call)
            const next = yield* write(state, { ...step.submitted, txHash: hash }, `${step.note} (tx ${hash})`)
            return withSent(next, Result.succeed({ _tag: "Sent", hash }))
          }).pipe(Effect.catchTag("ChainError", (error) => Effect.succeed(withSent(state, Result.fail(error)))))
        )
    }
  }

  /**
   * Runs one stage until it finishes: decide, act, feed the outcome back. Succeeds with what the
   * stage finished with and the state after its effects.
   */
  const drive = <Then>(
    decide: (input: Registration.Input, state: Registration.State) => Registration.Step<Then>,
    from: Registration.State
  ) =>
    Effect.gen(function* () {
      let state = from
      for (;;) {
        const step = decide(input, state)
        if (step._tag !== "Finish") {
          state = yield* act(step, state)
          continue
        }
        for (const effect of step.effects) {
          if (effect._tag === "Write") state = yield* write(state, effect.status, effect.note)
          else if (effect._tag === "Publish") yield* publish(effect)
          else yield* Effect.logInfo(effect.message).pipe(Effect.annotateLogs(effect.annotations))
        }
        return { next: step.next, state }
      }
    })

  const delay = (after: Registration.Delay) =>
    after === "OffChainRecheck"
      ? settings.offChainRecheck
      : after === "InFlightRecheck"
        ? settings.inFlightRecheck
        : Duration.zero

  const done = (next: Registration.AwaitChange | Registration.Requeue | Registration.Fail) =>
    next._tag === "Fail"
      ? Effect.fail(next.error)
      : Effect.succeed(next._tag === "AwaitChange" ? Action.awaitChange : Action.requeueAfter(delay(next.after)))

  const admitted = yield* drive(Registration.admit, { status: input.read, observed: {} })
  switch (admitted.next._tag) {
    case "Guard":
      return yield* Finalizer.run({
        kind: RegistrationRequest,
        object: request,
        finalizer,
        apply: () => drive(Registration.apply, admitted.state).pipe(Effect.flatMap(({ next }) => done(next))),
        cleanup: () =>
          drive(Registration.cleanup, admitted.state).pipe(
            Effect.flatMap(({ next }) =>
              next._tag === "Fail"
                ? Effect.fail(next.error)
                : Effect.succeed(next._tag === "Release" ? Finalizer.done : Finalizer.pending(delay(next.after)))
            )
          )
      })
    case "Release":
      return yield* releaseFinalizer(request)
    default:
      return yield* done(admitted.next)
  }
})

/** Removes the finalizer of a deleted request without any cleanup. */
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
