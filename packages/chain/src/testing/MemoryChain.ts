/**
 * An in-memory chain with ERC-8004 registries, for unit tests of the registrar: every
 * transaction mines at once in its own block, agentIds start at 0, and `Registered` events are
 * kept so `findRegistration` answers like the real scan.
 *
 * Faults: `down` makes every call fail with `Rpc` (the node is unreachable); `failNext(op, error)`
 * fails the next call(s) of one operation; `afterSend` runs right after a transaction is accepted
 * and before its hash is returned (a test interrupts there to play a crash between send and
 * status write). `sends` counts accepted transactions per operation, `calls` every call.
 * `approve(registry, agentId, operator)` lets another address manage an agent (what ERC-721
 * `approve` does), for `isAuthorizedOrOwner` and `setAgentURI`.
 *
 * Not modelled: gas, nonces, reorgs, pending transactions (`inFlight` is always 0), registries
 * that are not ERC-8004 (any address is a registry).
 *
 * @since 0.1.0
 */
import { Effect, Layer, Option } from "effect"
import type { Address, Hash } from "viem"
import * as ChainClient from "../ChainClient.ts"
import { ChainError } from "../ChainError.ts"

/**
 * @category models
 */
export type Operation = "register" | "setAgentURI" | "read"

interface Agent {
  owner: Address
  uri: string
}

const same = (a: Address, b: Address) => a.toLowerCase() === b.toLowerCase()

interface RegistryState {
  readonly agents: Array<Agent>
  readonly registered: Array<ChainClient.Registration>
  /** Approved managers per agent id (ERC-721 `approve`). */
  readonly approved: Map<bigint, Address>
}

interface Tx {
  readonly blockNumber: bigint
  readonly revert?: string
  readonly registration?: ChainClient.Registration
}

/**
 * @category models
 */
export interface MemoryChain {
  readonly connect: (target: ChainClient.Target) => ChainClient.Registry
  /** Every call fails with `Rpc` while true. */
  down: boolean
  readonly failNext: (operation: Operation, error: ChainError, times?: number) => void
  /** The next `register`/`setAgentURI` is mined but reverted with this reason. */
  readonly revertNext: (operation: "register" | "setAgentURI", reason: string) => void
  afterSend: ((operation: Operation, hash: Hash) => Effect.Effect<void>) | undefined
  readonly sends: Record<Operation, number>
  /** Every call made, failed ones included. */
  calls: number
  /** Agents of a registry, by id. */
  readonly agents: (registry: Address) => ReadonlyArray<Agent>
  /** Registered events of a registry. */
  readonly registered: (registry: Address) => ReadonlyArray<ChainClient.Registration>
  /** Lets `operator` manage an agent it does not own (ERC-721 `approve`, done by its owner). */
  readonly approve: (registry: Address, agentId: bigint, operator: Address) => void
  blockNumber: bigint
}

/**
 * @category constructors
 */
export const make = (): MemoryChain => {
  const registries = new Map<string, RegistryState>()
  const txs = new Map<Hash, Tx>()
  const injected = new Map<Operation, Array<ChainError>>()
  const reverts = new Map<"register" | "setAgentURI", Array<string>>()
  let counter = 0
  const stateOf = (registry: Address) => {
    const key = registry.toLowerCase()
    const existing = registries.get(key)
    if (existing !== undefined) return existing
    const created: RegistryState = { agents: [], registered: [], approved: new Map() }
    registries.set(key, created)
    return created
  }
  const nextHash = () => `0x${(++counter).toString(16).padStart(64, "0")}` as Hash

  const chain: MemoryChain = {
    down: false,
    afterSend: undefined,
    sends: { register: 0, setAgentURI: 0, read: 0 },
    calls: 0,
    blockNumber: 100n,
    failNext: (operation, error, times = 1) => {
      const queue = injected.get(operation) ?? []
      for (let i = 0; i < times; i++) queue.push(error)
      injected.set(operation, queue)
    },
    revertNext: (operation, reason) => {
      const queue = reverts.get(operation) ?? []
      queue.push(reason)
      reverts.set(operation, queue)
    },
    agents: (registry) => stateOf(registry).agents,
    registered: (registry) => stateOf(registry).registered,
    approve: (registry, agentId, operator) => {
      stateOf(registry).approved.set(agentId, operator)
    },
    connect: (target) => {
      const state = stateOf(target.registry)
      const gate = (operation: Operation) =>
        Effect.suspend(() => {
          chain.calls += 1
          if (chain.down) {
            return Effect.fail(
              new ChainError({ reason: "Rpc", message: `${operation}: connect ECONNREFUSED ${target.rpcUrl}` })
            )
          }
          const error = injected.get(operation)?.shift()
          return error === undefined ? Effect.void : Effect.fail(error)
        })
      const read = <A>(f: () => A) => Effect.andThen(gate("read"), Effect.sync(f))
      const authorized = (spender: Address, agentId: bigint) => {
        const agent = state.agents[Number(agentId)]
        const operator = state.approved.get(agentId)
        return (
          agent !== undefined && (same(agent.owner, spender) || (operator !== undefined && same(operator, spender)))
        )
      }
      const send = (operation: "register" | "setAgentURI", apply: (blockNumber: bigint, hash: Hash) => Tx) =>
        Effect.gen(function* () {
          yield* gate(operation)
          const hash = nextHash()
          chain.blockNumber += 1n
          const revert = reverts.get(operation)?.shift()
          txs.set(
            hash,
            revert === undefined ? apply(chain.blockNumber, hash) : { blockNumber: chain.blockNumber, revert }
          )
          chain.sends[operation] += 1
          if (chain.afterSend !== undefined) yield* chain.afterSend(operation, hash)
          return hash
        })
      const receipt = (hash: Hash) =>
        Effect.andThen(gate("read"), () => {
          const tx = txs.get(hash)
          if (tx === undefined) {
            return Effect.fail(new ChainError({ reason: "Timeout", message: `no receipt for ${hash}` }))
          }
          if (tx.revert !== undefined) {
            return Effect.fail(new ChainError({ reason: "Reverted", message: `reverted: ${tx.revert}` }))
          }
          return Effect.succeed(tx)
        })
      return {
        target,
        version: read(() => "2.0.0"),
        blockNumber: read(() => chain.blockNumber),
        inFlight: () => read(() => 0),
        register: (signer, uri) =>
          send("register", (blockNumber, hash) => {
            const registration = {
              agentId: BigInt(state.agents.length),
              owner: signer.address,
              uri,
              txHash: hash,
              blockNumber
            }
            state.agents.push({ owner: signer.address, uri })
            state.registered.push(registration)
            return { blockNumber, registration }
          }),
        awaitRegistration: (hash) =>
          Effect.flatMap(receipt(hash), (tx) =>
            tx.registration === undefined
              ? Effect.fail(new ChainError({ reason: "Reverted", message: `${hash} mined without a Registered event` }))
              : Effect.succeed(tx.registration)
          ),
        transaction: (hash) => read(() => (txs.has(hash) ? ("Mined" as const) : ("Unknown" as const))),
        findRegistration: (owner, uri, fromBlock) =>
          read(() =>
            Option.fromUndefinedOr(
              state.registered.find((r) => same(r.owner, owner) && r.uri === uri && r.blockNumber >= fromBlock)
            )
          ),
        setAgentURI: (signer, agentId, uri) =>
          send("setAgentURI", (blockNumber) => {
            const agent = state.agents[Number(agentId)]
            if (agent === undefined) return { blockNumber, revert: "Unknown agent" }
            if (!authorized(signer.address, agentId)) return { blockNumber, revert: "Not authorized" }
            agent.uri = uri
            return { blockNumber }
          }),
        awaitReceipt: (hash) => Effect.asVoid(receipt(hash)),
        getAgent: (agentId) =>
          read(() => {
            const agent = state.agents[Number(agentId)]
            return agent === undefined ? Option.none() : Option.some({ agentId, owner: agent.owner, uri: agent.uri })
          }),
        isAuthorizedOrOwner: (spender, agentId) =>
          Effect.andThen(gate("read"), () =>
            state.agents[Number(agentId)] === undefined
              ? Effect.fail(
                  new ChainError({ reason: "Reverted", message: "isAuthorizedOrOwner reverted: Unknown agent" })
                )
              : Effect.succeed(authorized(spender, agentId))
          )
      }
    }
  }
  return chain
}

/**
 * A `ChainClient` that answers from `chain`.
 *
 * @category layers
 */
export const layer = (chain: MemoryChain): Layer.Layer<ChainClient.ChainClient> =>
  Layer.succeed(ChainClient.ChainClient, { connect: (target) => chain.connect(target) })
