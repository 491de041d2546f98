/**
 * `@obol/chain`'s ChainClient (viem) against anvil with our IdentityRegistry deployed. The
 * package's unit tests stay in `packages/chain/test`; this run lives here because `@obol/chain`
 * must not depend on test-envs (see test-envs/README.md).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Result } from "effect"
import { createWalletClient, http } from "viem"
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts"
import * as ChainClient from "@obol/chain/ChainClient"
import * as IdentityRegistry from "@obol/chain/IdentityRegistry"
import * as Signer from "@obol/chain/Signer"
import * as Chain from "../../src/chain/Chain.ts"

const signer = (key: string) => Result.getOrThrow(Signer.fromPrivateKey(key))
const connect = (chain: Chain.Chain, options: ChainClient.Options = {}) =>
  ChainClient.ChainClient.use((client) =>
    Effect.succeed(client.connect({ chainId: chain.chainId, rpcUrl: chain.rpcUrl, registry: chain.registry }))
  ).pipe(Effect.provide(ChainClient.layer({ pollingIntervalMillis: 50, ...options })))

describe("ChainClient (viem) against anvil and our IdentityRegistry", () => {
  it.live(
    "registers from agentId 0, returns the hash before the receipt, finds registrations by owner and URI",
    () =>
      Effect.gen(function* () {
        const chain = yield* Chain.start()
        const registry = yield* connect(chain, { logRange: 2n })
        const seller = signer(Chain.devKeys.seller)
        expect(yield* registry.version).toBe("2.0.0")

        const from = yield* registry.blockNumber
        const uri = "https://seller.example/.well-known/agent-registration.json?offer=sellers/weather"
        const hash = yield* registry.register(seller, uri)
        expect(hash).toMatch(/^0x[0-9a-f]{64}$/u)
        const first = yield* registry.awaitRegistration(hash)
        expect(first).toMatchObject({ agentId: 0n, owner: seller.address, uri, txHash: hash })
        expect(yield* registry.transaction(hash)).toBe("Mined")

        // Filler blocks so the scan crosses several log ranges.
        for (let i = 0; i < 5; i++) yield* Effect.promise(() => chain.client.request({ method: "evm_mine" } as never))
        const second = yield* registry.awaitRegistration(yield* registry.register(seller, `${uri}-2`))
        expect(second.agentId).toBe(1n)

        const found = yield* registry.findRegistration(seller.address, `${uri}-2`, from)
        expect(Option.getOrThrow(found)).toMatchObject({ agentId: 1n, txHash: second.txHash })
        expect(yield* registry.findRegistration(seller.address, uri, first.blockNumber + 1n)).toEqual(Option.none())
        expect(yield* registry.findRegistration(chain.payer.address, uri, from)).toEqual(Option.none())
        expect(yield* registry.inFlight(seller.address)).toBe(0)
        expect(yield* registry.transaction(`0x${"ab".repeat(32)}`)).toBe("Unknown")
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "updates the URI for the owner, reads agents (None for an unminted id), and maps failures to reasons",
    () =>
      Effect.gen(function* () {
        const chain = yield* Chain.start()
        const registry = yield* connect(chain)
        const seller = signer(Chain.devKeys.seller)
        const { agentId } = yield* registry.awaitRegistration(yield* registry.register(seller, "https://a.example/x"))
        expect(agentId).toBe(0n)

        yield* registry.awaitReceipt(yield* registry.setAgentURI(seller, agentId, "data:application/json;base64,e30="))
        expect(Option.getOrThrow(yield* registry.getAgent(agentId))).toEqual({
          agentId,
          owner: seller.address,
          uri: "data:application/json;base64,e30="
        })
        expect(yield* registry.getAgent(7n)).toEqual(Option.none())

        const stranger = yield* Effect.flip(registry.setAgentURI(signer(Chain.devKeys.payer), agentId, "https://evil"))
        expect(stranger.reason).toBe("Reverted")
        expect(stranger.message).toContain("Not authorized")

        const broke = yield* Effect.flip(registry.register(signer(generatePrivateKey()), "https://b.example"))
        expect(broke.reason).toBe("InsufficientFunds")

        const down = yield* connect({ ...chain, rpcUrl: "http://127.0.0.1:1" })
        const unreachable = yield* Effect.flip(down.blockNumber)
        expect(unreachable.reason).toBe("Rpc")

        const nowhere = yield* connect({ ...chain, registry: chain.usdc.replace(/.$/u, "0") as `0x${string}` })
        const noCode = yield* Effect.flip(nowhere.version)
        expect(noCode.message).toMatch(/no contract at 0x/u)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "says who may manage an agent: its owner and an approved address, not a stranger; Reverted for an unminted id",
    () =>
      Effect.gen(function* () {
        const chain = yield* Chain.start()
        const registry = yield* connect(chain)
        const seller = signer(Chain.devKeys.seller)
        const payer = signer(Chain.devKeys.payer)
        const { agentId } = yield* registry.awaitRegistration(yield* registry.register(seller, "https://a.example/x"))
        expect(yield* registry.isAuthorizedOrOwner(seller.address, agentId)).toBe(true)
        expect(yield* registry.isAuthorizedOrOwner(payer.address, agentId)).toBe(false)

        // ERC-721 approve, sent by the owner: the payer may now move the agent's URI.
        const owner = createWalletClient({
          chain: Chain.viemChain(chain.rpcUrl),
          transport: http(chain.rpcUrl),
          account: privateKeyToAccount(Chain.devKeys.seller)
        })
        const approval = yield* Effect.promise(() =>
          owner.writeContract({
            address: chain.registry,
            abi: IdentityRegistry.artifact().abi,
            functionName: "approve",
            args: [payer.address, agentId]
          })
        )
        yield* Effect.promise(() => chain.client.waitForTransactionReceipt({ hash: approval, pollingInterval: 50 }))
        expect(yield* registry.isAuthorizedOrOwner(payer.address, agentId)).toBe(true)
        yield* registry.awaitReceipt(yield* registry.setAgentURI(payer, agentId, "https://b.example/x"))
        expect(Option.getOrThrow(yield* registry.getAgent(agentId))).toEqual({
          agentId,
          owner: seller.address,
          uri: "https://b.example/x"
        })

        const unknown = yield* Effect.flip(registry.isAuthorizedOrOwner(seller.address, 9n))
        expect(unknown.reason).toBe("Reverted")
      }).pipe(Effect.scoped),
    60_000
  )
})
