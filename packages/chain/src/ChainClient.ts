/**
 * The ERC-8004 IdentityRegistry as an Effect service: what the registrar needs from a chain, and
 * nothing more. `connect` binds one registry on one chain; write operations take the `Signer`
 * explicitly, so a registry handle never holds a key.
 *
 * Operations:
 * - `register(signer, uri)` simulates `register(string)` first (a revert surfaces before any gas
 *   is spent) and returns the transaction hash as soon as the node accepted it, without waiting,
 *   so the caller can record it before anything else can go wrong;
 * - `awaitRegistration(hash)` waits (bounded) for the receipt and reads `agentId` from the
 *   `Registered` log; `transaction(hash)` says whether a hash is mined, pending or unknown;
 * - `findRegistration(owner, uri, fromBlock)` scans `Registered` logs (indexed by owner, in
 *   bounded block ranges) for a registration of exactly that URI: the idempotency check before any
 *   resend;
 * - `setAgentURI`, `awaitReceipt`, `getAgent` (owner and URI of an id; `None` if not minted),
 *   `isAuthorizedOrOwner(spender, id)` (may `spender` manage the agent: its owner, approved for
 *   it, or an operator of the owner; `Reverted` for an id that was never minted), `blockNumber`,
 *   `inFlight` (transactions of an address sent but not mined), and `version` (`getVersion()`
 *   after checking there is code at the address).
 *
 * agentIds are `bigint`s and start at 0: 0 is a real id, never "none".
 *
 * Errors are `ChainError` (Reverted, InsufficientFunds, NonceTooLow, Rpc, Timeout). `layer`
 * talks JSON-RPC through viem, with no retries of its own (the registrar owns retry policy);
 * unit tests use `testing/MemoryChain` (its `layer`), which this module does not import.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Redacted } from "effect"
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  decodeEventLog,
  decodeFunctionData,
  defineChain,
  type Hash,
  http,
  InsufficientFundsError,
  NonceTooLowError,
  type PublicClient,
  TimeoutError,
  TransactionReceiptNotFoundError,
  WaitForTransactionReceiptTimeoutError
} from "viem"
import { privateKeyToAccount } from "viem/accounts"
import { ChainError } from "./ChainError.ts"
import { identityRegistryAbi } from "./IdentityRegistryAbi.ts"
import type { Signer } from "./Signer.ts"

/**
 * One registry on one chain.
 *
 * @category models
 */
export interface Target {
  readonly chainId: number
  readonly rpcUrl: string
  readonly registry: Address
}

/**
 * A mined registration, as the `Registered` log tells it.
 *
 * @category models
 */
export interface Registration {
  readonly agentId: bigint
  readonly owner: Address
  readonly uri: string
  readonly txHash: Hash
  readonly blockNumber: bigint
}

/**
 * @category models
 */
export interface Agent {
  readonly agentId: bigint
  readonly owner: Address
  readonly uri: string
}

/**
 * @category models
 */
export type TransactionState = "Mined" | "Pending" | "Unknown"

/**
 * @category models
 */
export interface Registry {
  readonly target: Target
  readonly version: Effect.Effect<string, ChainError>
  readonly blockNumber: Effect.Effect<bigint, ChainError>
  readonly inFlight: (address: Address) => Effect.Effect<number, ChainError>
  readonly register: (signer: Signer, uri: string) => Effect.Effect<Hash, ChainError>
  readonly awaitRegistration: (hash: Hash) => Effect.Effect<Registration, ChainError>
  readonly transaction: (hash: Hash) => Effect.Effect<TransactionState, ChainError>
  readonly findRegistration: (
    owner: Address,
    uri: string,
    fromBlock: bigint
  ) => Effect.Effect<Option.Option<Registration>, ChainError>
  readonly setAgentURI: (signer: Signer, agentId: bigint, uri: string) => Effect.Effect<Hash, ChainError>
  readonly awaitReceipt: (hash: Hash) => Effect.Effect<void, ChainError>
  readonly getAgent: (agentId: bigint) => Effect.Effect<Option.Option<Agent>, ChainError>
  readonly isAuthorizedOrOwner: (spender: Address, agentId: bigint) => Effect.Effect<boolean, ChainError>
}

/**
 * @category models
 */
export interface Shape {
  readonly connect: (target: Target) => Registry
}

/**
 * @category services
 */
export class ChainClient extends Context.Service<ChainClient, Shape>()("@obol/chain/ChainClient") {}

/**
 * @category models
 */
export interface Options {
  /** Per JSON-RPC request. Default 10 s. */
  readonly requestTimeoutMillis?: number
  /** How long `awaitRegistration`/`awaitReceipt` wait for a receipt. Default 120 s. */
  readonly receiptTimeoutMillis?: number
  /** Receipt polling interval. Default 1 s. */
  readonly pollingIntervalMillis?: number
  /** Largest block range per `eth_getLogs` request. Default 10,000 (what public RPCs allow). */
  readonly logRange?: bigint
}

/**
 * Maps what viem threw to a `ChainError`, keeping the node's short message.
 *
 * @category errors
 */
export const fromViem = (operation: string, error: unknown): ChainError => {
  if (!(error instanceof BaseError)) {
    return new ChainError({ reason: "Rpc", message: `${operation}: ${String(error)}` })
  }
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError)
  if (reverted instanceof ContractFunctionRevertedError) {
    return new ChainError({
      reason: "Reverted",
      message: `${operation} reverted: ${reverted.reason ?? reverted.data?.errorName ?? reverted.shortMessage}`
    })
  }
  if (error.walk((e) => e instanceof InsufficientFundsError) !== null) {
    return new ChainError({
      reason: "InsufficientFunds",
      message: `${operation}: the signer cannot pay for gas (insufficient funds); fund its address`
    })
  }
  if (error.walk((e) => e instanceof NonceTooLowError) !== null) {
    return new ChainError({
      reason: "NonceTooLow",
      message: `${operation}: nonce too low (another transaction from this signer took it)`
    })
  }
  if (
    error.walk(
      (e) =>
        e instanceof TimeoutError ||
        e instanceof WaitForTransactionReceiptTimeoutError ||
        e instanceof TransactionReceiptNotFoundError
    ) !== null
  ) {
    return new ChainError({ reason: "Timeout", message: `${operation}: ${error.shortMessage}` })
  }
  const details = error.details === "" || error.shortMessage.includes(error.details) ? "" : ` (${error.details})`
  return new ChainError({ reason: "Rpc", message: `${operation}: ${error.shortMessage}${details}` })
}

const registeredFrom = (logs: ReadonlyArray<{ address: Address; data: `0x${string}`; topics: ReadonlyArray<Hash> }>) =>
  logs.flatMap((log) => {
    try {
      const event = decodeEventLog({
        abi: identityRegistryAbi,
        data: log.data,
        topics: log.topics as [Hash, ...Array<Hash>]
      })
      return event.eventName === "Registered" ? [{ log, args: event.args }] : []
    } catch {
      return []
    }
  })

const connectLive = (target: Target, options: Options): Registry => {
  const chain = defineChain({
    id: target.chainId,
    name: `chain-${target.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [target.rpcUrl] } }
  })
  const transport = http(target.rpcUrl, { retryCount: 0, timeout: options.requestTimeoutMillis ?? 10_000 })
  const client = createPublicClient({ chain, transport }) as PublicClient
  const receiptTimeout = options.receiptTimeoutMillis ?? 120_000
  const pollingInterval = options.pollingIntervalMillis ?? 1_000
  const logRange = options.logRange ?? 10_000n
  const call = <A>(operation: string, f: () => Promise<A>) =>
    Effect.tryPromise({ try: f, catch: (error) => fromViem(operation, error) })
  const wallet = (signer: Signer) =>
    createWalletClient({ chain, transport, account: privateKeyToAccount(Redacted.value(signer.privateKey)) })
  const contract = { address: target.registry, abi: identityRegistryAbi } as const

  // A reverted receipt carries no reason: replay the call on the state before its block.
  const revertReason = (operation: string, hash: Hash, blockNumber: bigint) =>
    Effect.tryPromise(async () => {
      const tx = await client.getTransaction({ hash })
      const { functionName, args } = decodeFunctionData({ abi: identityRegistryAbi, data: tx.input })
      await client.simulateContract({
        ...contract,
        functionName,
        args,
        account: tx.from,
        blockNumber: blockNumber - 1n
      } as Parameters<typeof client.simulateContract>[0])
    }).pipe(
      Effect.match({
        onFailure: (error) => {
          const mapped = fromViem(operation, error.cause)
          return mapped.reason === "Reverted" ? mapped.message : `${operation} ${hash} reverted`
        },
        onSuccess: () => `${operation} ${hash} reverted (out of gas?)`
      }),
      Effect.flatMap((message) => Effect.fail(new ChainError({ reason: "Reverted", message })))
    )

  const receipt = (operation: string, hash: Hash) =>
    call(operation, () => client.waitForTransactionReceipt({ hash, timeout: receiptTimeout, pollingInterval })).pipe(
      Effect.flatMap((r) => (r.status === "success" ? Effect.succeed(r) : revertReason(operation, hash, r.blockNumber)))
    )

  return {
    target,
    version: Effect.gen(function* () {
      const code = yield* call("getCode", () => client.getCode({ address: target.registry }))
      if (code === undefined || code === "0x") {
        return yield* new ChainError({
          reason: "Reverted",
          message: `no contract at ${target.registry} on chain ${target.chainId}; check the registry address`
        })
      }
      return yield* call("getVersion", () => client.readContract({ ...contract, functionName: "getVersion" }))
    }),
    blockNumber: call("blockNumber", () => client.getBlockNumber({ cacheTime: 0 })),
    inFlight: (address) =>
      call("inFlight", async () => {
        const [pending, latest] = await Promise.all([
          client.getTransactionCount({ address, blockTag: "pending" }),
          client.getTransactionCount({ address, blockTag: "latest" })
        ])
        return Math.max(0, pending - latest)
      }),
    register: (signer, uri) =>
      call("register", async () => {
        const { request } = await client.simulateContract({
          ...contract,
          functionName: "register",
          args: [uri],
          account: privateKeyToAccount(Redacted.value(signer.privateKey))
        })
        return wallet(signer).writeContract(request)
      }),
    awaitRegistration: (hash) =>
      receipt("register", hash).pipe(
        Effect.flatMap((r) => {
          const found = registeredFrom(r.logs).find(
            ({ log }) => log.address.toLowerCase() === target.registry.toLowerCase()
          )
          return found === undefined
            ? Effect.fail(
                new ChainError({ reason: "Reverted", message: `register ${hash} mined without a Registered event` })
              )
            : Effect.succeed({
                agentId: found.args.agentId,
                owner: found.args.owner,
                uri: found.args.agentURI,
                txHash: hash,
                blockNumber: r.blockNumber
              })
        })
      ),
    transaction: (hash) =>
      call("transaction", async (): Promise<TransactionState> => {
        const mined = await client.getTransactionReceipt({ hash }).catch((error: unknown) => {
          if (error instanceof BaseError && error.walk((e) => e instanceof TransactionReceiptNotFoundError) !== null) {
            return undefined
          }
          throw error
        })
        if (mined !== undefined) return "Mined"
        const known = await client.getTransaction({ hash }).catch((error: unknown) => {
          if (error instanceof BaseError && error.name === "TransactionNotFoundError") return undefined
          throw error
        })
        return known === undefined ? "Unknown" : "Pending"
      }),
    findRegistration: (owner, uri, fromBlock) =>
      Effect.gen(function* () {
        const latest = yield* call("findRegistration", () => client.getBlockNumber({ cacheTime: 0 }))
        for (let from = fromBlock; from <= latest; from += logRange) {
          const to = from + logRange - 1n < latest ? from + logRange - 1n : latest
          const logs = yield* call("findRegistration", () =>
            client.getContractEvents({
              ...contract,
              eventName: "Registered",
              args: { owner },
              fromBlock: from,
              toBlock: to
            })
          )
          const hit = logs.find((log) => log.args.agentURI === uri)
          if (hit?.args.agentId !== undefined && hit.transactionHash !== null && hit.blockNumber !== null) {
            return Option.some({
              agentId: hit.args.agentId,
              owner,
              uri,
              txHash: hit.transactionHash,
              blockNumber: hit.blockNumber
            })
          }
        }
        return Option.none()
      }),
    setAgentURI: (signer, agentId, uri) =>
      call("setAgentURI", async () => {
        const { request } = await client.simulateContract({
          ...contract,
          functionName: "setAgentURI",
          args: [agentId, uri],
          account: privateKeyToAccount(Redacted.value(signer.privateKey))
        })
        return wallet(signer).writeContract(request)
      }),
    awaitReceipt: (hash) => Effect.asVoid(receipt("setAgentURI", hash)),
    getAgent: (agentId) =>
      call("getAgent", async () => {
        try {
          const [owner, uri] = await Promise.all([
            client.readContract({ ...contract, functionName: "ownerOf", args: [agentId] }),
            client.readContract({ ...contract, functionName: "tokenURI", args: [agentId] })
          ])
          return Option.some({ agentId, owner, uri })
        } catch (error) {
          // ERC-721 reverts for an id that was never minted.
          if (error instanceof BaseError && error.walk((e) => e instanceof ContractFunctionRevertedError) !== null) {
            return Option.none()
          }
          throw error
        }
      }),
    isAuthorizedOrOwner: (spender, agentId) =>
      call("isAuthorizedOrOwner", () =>
        client.readContract({ ...contract, functionName: "isAuthorizedOrOwner", args: [spender, agentId] })
      )
  }
}

/**
 * JSON-RPC through viem. One client per target, created on first use.
 *
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<ChainClient> =>
  Layer.sync(ChainClient, () => {
    const registries = new Map<string, Registry>()
    return {
      connect: (target) => {
        const key = `${target.chainId}|${target.rpcUrl}|${target.registry.toLowerCase()}`
        const cached = registries.get(key)
        if (cached !== undefined) return cached
        const registry = connectLive(target, options)
        registries.set(key, registry)
        return registry
      }
    }
  })
