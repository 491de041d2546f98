import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { createWalletClient, http, parseEventLogs, type Hex } from "viem"
import { privateKeyToAccount } from "viem/accounts"
import * as Chain from "../../src/chain/Chain.ts"
import * as Contracts from "../../src/chain/Contracts.ts"

const registry = Contracts.artifact("IdentityRegistry")

/** Sends a registry call as `key`; resolves to the receipt's logs, or the revert reason. */
const send = (chain: Chain.Chain, key: Hex, functionName: string, args: ReadonlyArray<unknown>) =>
  Effect.promise(async () => {
    const wallet = createWalletClient({
      chain: Chain.viemChain(chain.rpcUrl),
      transport: http(chain.rpcUrl),
      account: privateKeyToAccount(key)
    })
    try {
      const hash = await wallet.writeContract({
        address: chain.registry,
        abi: registry.abi,
        functionName,
        args: [...args]
      })
      const receipt = await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 50 })
      return parseEventLogs({ abi: registry.abi, logs: receipt.logs })
    } catch (error) {
      return /reverted with the following reason:\s*\n?(.*)/.exec(String(error))?.[1]?.trim() ?? String(error)
    }
  })

const read = (chain: Chain.Chain, functionName: string, args: ReadonlyArray<unknown>) =>
  Effect.promise(() =>
    chain.client.readContract({ address: chain.registry, abi: registry.abi, functionName, args: [...args] })
  )

describe("IdentityRegistry (ERC-8004) on the local chain", () => {
  it.live(
    "registers agents from id 0 with the ERC's events, and updates the URI only for the owner",
    () =>
      Effect.gen(function* () {
        const chain = yield* Chain.start()
        const seller = Chain.devKeys.seller
        const first = yield* send(chain, seller, "register", [
          "https://seller.example/.well-known/agent-registration.json"
        ])
        if (typeof first === "string") throw new Error(first)
        expect(first.map((l) => l.eventName)).toEqual(["Transfer", "MetadataUpdate", "Registered", "MetadataSet"])
        const registered = first.find((l) => l.eventName === "Registered")?.args as { agentId: bigint; owner: Hex }
        expect(registered).toMatchObject({ agentId: 0n, owner: chain.seller })
        expect(yield* read(chain, "tokenURI", [0n])).toBe("https://seller.example/.well-known/agent-registration.json")
        expect(yield* read(chain, "getAgentWallet", [0n])).toBe(chain.seller)

        const second = yield* send(chain, seller, "register", ["https://other.example/agent.json"])
        if (typeof second === "string") throw new Error(second)
        const next = second.find((l) => l.eventName === "Registered")?.args as { agentId: bigint } | undefined
        expect(next?.agentId).toBe(1n)

        expect(yield* send(chain, Chain.devKeys.payer, "setAgentURI", [0n, "https://thief.example"])).toBe(
          "Not authorized"
        )
        expect(yield* send(chain, seller, "setMetadata", [0n, "agentWallet", "0x01"])).toBe("reserved key")
        const tombstone = `data:application/json;base64,${Buffer.from(JSON.stringify({ active: false })).toString("base64")}`
        const updated = yield* send(chain, seller, "setAgentURI", [0n, tombstone])
        if (typeof updated === "string") throw new Error(updated)
        expect(updated.map((l) => l.eventName)).toContain("URIUpdated")
        expect(yield* read(chain, "tokenURI", [0n])).toBe(tombstone)
      }).pipe(Effect.scoped),
    60_000
  )
})
