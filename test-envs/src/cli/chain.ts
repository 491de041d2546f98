/**
 * `npm run chain:up` / `npm run chain:down`: the chain environment kept running in the background
 * for manual work: anvil with our token, Multicall3 and the ERC-8004 registry, and the local facilitator. `up` ends by
 * printing one `KEY=value` line each for RPC_URL, CHAIN_ID, NETWORK, USDC_ADDRESS, USDC_DECIMALS,
 * USDC_NAME and USDC_VERSION (the token's decimals and EIP-712 domain name and version, which
 * NETWORKS_JSON needs as `usdc.decimals`, `usdc.eip712Name` and `usdc.eip712Version`; read from the
 * deployed token, so they are what it signs with), REGISTRY_ADDRESS (our ERC-8004 identity
 * registry), FACILITATOR_URL, PAYER_PRIVATE_KEY (anvil's publicly known dev key of the funded payer;
 * never use it on a real chain) and SELLER_ADDRESS. State lives in `<test-envs cache>/chain/`.
 */
import { Effect } from "effect"
import { mkdirSync } from "node:fs"
import { parseAbi } from "viem"
import * as Chain from "../chain/Chain.ts"
import * as Facilitator from "../chain/Facilitator.ts"
import * as Background from "./Background.ts"

/** What the token reports about itself: `decimals()` and its ERC-5267 `eip712Domain()`. */
const tokenAbi = parseAbi([
  "function decimals() view returns (uint8)",
  "function eip712Domain() view returns (bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)"
])

interface State extends Background.Recorded {
  readonly env: Readonly<Record<string, string>>
}

await Background.main<State>({
  name: "chain",
  script: import.meta.filename,
  start: (runDir) =>
    Effect.gen(function* () {
      mkdirSync(runDir, { recursive: true })
      const chain = yield* Chain.start({ runDir })
      const facilitator = yield* Facilitator.start(chain)
      const [decimals, [, eip712Name, eip712Version]] = yield* Effect.tryPromise({
        try: () =>
          Promise.all([
            chain.client.readContract({ address: chain.usdc, abi: tokenAbi, functionName: "decimals" }),
            chain.client.readContract({ address: chain.usdc, abi: tokenAbi, functionName: "eip712Domain" })
          ]),
        catch: (error) => new Error(`reading the token's decimals and EIP-712 domain failed: ${String(error)}`)
      })
      return {
        pids: [{ name: "anvil", pid: chain.anvil.pid }],
        env: {
          RPC_URL: chain.rpcUrl,
          CHAIN_ID: String(chain.chainId),
          NETWORK: chain.network,
          USDC_ADDRESS: chain.usdc,
          USDC_DECIMALS: String(decimals),
          USDC_NAME: eip712Name,
          USDC_VERSION: eip712Version,
          REGISTRY_ADDRESS: chain.registry,
          FACILITATOR_URL: facilitator.url,
          PAYER_PRIVATE_KEY: chain.payer.privateKey,
          SELLER_ADDRESS: chain.seller
        }
      }
    }),
  isReady: async (state) => {
    try {
      const supported = await fetch(`${state.env["FACILITATOR_URL"]}/supported`)
      const rpc = await fetch(state.env["RPC_URL"] ?? "", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] })
      })
      return supported.ok && rpc.ok
    } catch {
      return false
    }
  },
  print: (state) => {
    for (const [key, value] of Object.entries(state.env)) console.log(`${key}=${value}`)
  }
})
