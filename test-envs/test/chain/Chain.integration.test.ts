import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { randomBytes } from "node:crypto"
import { createWalletClient, http, parseSignature, type Hex } from "viem"
import { privateKeyToAccount } from "viem/accounts"
import * as Chain from "../../src/chain/Chain.ts"
import * as Contracts from "../../src/chain/Contracts.ts"
import * as ManagedProcess from "../../src/ManagedProcess.ts"

const token = Contracts.artifact("TestUSDC")

const authorization = (chain: Chain.Chain, value: bigint, validBefore = 2n ** 40n) => ({
  from: chain.payer.address,
  to: chain.seller,
  value,
  validAfter: 0n,
  validBefore,
  nonce: `0x${randomBytes(32).toString("hex")}` as Hex
})

const sign = (chain: Chain.Chain, message: ReturnType<typeof authorization>) =>
  privateKeyToAccount(chain.payer.privateKey).signTypedData({
    domain: { name: "USDC", version: "2", chainId: chain.chainId, verifyingContract: chain.usdc },
    types: {
      TransferWithAuthorization: [
        { name: "from", type: "address" },
        { name: "to", type: "address" },
        { name: "value", type: "uint256" },
        { name: "validAfter", type: "uint256" },
        { name: "validBefore", type: "uint256" },
        { name: "nonce", type: "bytes32" }
      ]
    },
    primaryType: "TransferWithAuthorization",
    message
  })

const balanceOf = (chain: Chain.Chain, address: Hex) =>
  Effect.promise(
    () =>
      chain.client.readContract({
        address: chain.usdc,
        abi: token.abi,
        functionName: "balanceOf",
        args: [address]
      }) as Promise<bigint>
  )

/** Submits a transfer as the facilitator would; resolves to the revert reason, or "ok". */
const submit = (chain: Chain.Chain, args: ReadonlyArray<unknown>) =>
  Effect.promise(async () => {
    const relayer = createWalletClient({
      chain: Chain.viemChain(chain.rpcUrl),
      transport: http(chain.rpcUrl),
      account: privateKeyToAccount(chain.facilitatorKey)
    })
    try {
      const hash = await relayer.writeContract({
        address: chain.usdc,
        abi: token.abi,
        functionName: "transferWithAuthorization",
        args: [...args]
      })
      const receipt = await chain.client.waitForTransactionReceipt({ hash, pollingInterval: 50 })
      return receipt.status === "success" ? "ok" : "reverted"
    } catch (error) {
      const text = String(error)
      return /reverted with the following reason:\s*\n?(.*)/.exec(text)?.[1]?.trim() ?? text
    }
  })

describe("Chain", () => {
  it.live(
    "starts anvil with the token minted to the payer and Multicall3 in place, and stops it with the scope",
    () =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const chain = yield* Chain.start().pipe(Scope.provide(scope))
        expect(yield* Effect.promise(() => chain.client.getChainId())).toBe(84532)
        const [name, version, decimals, balance] = yield* Effect.promise(() =>
          chain.client.multicall({
            allowFailure: false,
            contracts: [
              { address: chain.usdc, abi: token.abi, functionName: "name" },
              { address: chain.usdc, abi: token.abi, functionName: "version" },
              { address: chain.usdc, abi: token.abi, functionName: "decimals" },
              { address: chain.usdc, abi: token.abi, functionName: "balanceOf", args: [chain.payer.address] }
            ]
          })
        )
        expect([name, version, decimals, balance]).toEqual(["USDC", "2", 6, Chain.payerBalance])
        yield* Scope.close(scope, Exit.void)
        expect(ManagedProcess.isGroupAlive(chain.anvil.pid)).toBe(false)
      }),
    60_000
  )

  it.live(
    "moves tokens on a signed authorization (both overloads) and refuses a replay, an overdraft and an expired one with USDC's reasons",
    () =>
      Effect.gen(function* () {
        const chain = yield* Chain.start()
        const first = authorization(chain, 1_000n)
        const signature = yield* Effect.promise(() => sign(chain, first))
        const ordered = [first.from, first.to, first.value, first.validAfter, first.validBefore, first.nonce]
        expect(yield* submit(chain, [...ordered, signature])).toBe("ok")
        expect(yield* balanceOf(chain, chain.seller)).toBe(1_000n)
        expect(yield* balanceOf(chain, chain.payer.address)).toBe(Chain.payerBalance - 1_000n)
        expect(yield* submit(chain, [...ordered, signature])).toContain("authorization is used or canceled")

        const second = authorization(chain, 2_000n)
        const { v, r, s } = parseSignature(yield* Effect.promise(() => sign(chain, second)))
        const secondArgs = [second.from, second.to, second.value, second.validAfter, second.validBefore, second.nonce]
        expect(yield* submit(chain, [...secondArgs, Number(v), r, s])).toBe("ok")
        expect(yield* balanceOf(chain, chain.seller)).toBe(3_000n)

        const overdraft = authorization(chain, Chain.payerBalance)
        const overdraftArgs = [
          overdraft.from,
          overdraft.to,
          overdraft.value,
          0n,
          overdraft.validBefore,
          overdraft.nonce
        ]
        expect(yield* submit(chain, [...overdraftArgs, yield* Effect.promise(() => sign(chain, overdraft))])).toContain(
          "transfer amount exceeds balance"
        )

        const expired = authorization(chain, 1n, 1n)
        const expiredArgs = [expired.from, expired.to, expired.value, 0n, 1n, expired.nonce]
        expect(yield* submit(chain, [...expiredArgs, yield* Effect.promise(() => sign(chain, expired))])).toContain(
          "authorization is expired"
        )
      }).pipe(Effect.scoped),
    60_000
  )
})
