/**
 * `npm run chain:up` / `npm run chain:down`: the chain environment kept running in the background
 * for manual work: anvil with our token, Multicall3 and the ERC-8004 registry, and the local facilitator. `up` ends by
 * printing one `KEY=value` line each for RPC_URL, CHAIN_ID, NETWORK, USDC_ADDRESS, REGISTRY_ADDRESS
 * (our ERC-8004 identity registry), FACILITATOR_URL, PAYER_PRIVATE_KEY (anvil's publicly known dev key of the funded payer; never use
 * it on a real chain) and SELLER_ADDRESS. State lives in `<test-envs cache>/chain/`.
 */
import { Effect } from "effect"
import { mkdirSync } from "node:fs"
import * as Chain from "../chain/Chain.ts"
import * as Facilitator from "../chain/Facilitator.ts"
import * as Background from "./Background.ts"

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
      return {
        pids: [{ name: "anvil", pid: chain.anvil.pid }],
        env: {
          RPC_URL: chain.rpcUrl,
          CHAIN_ID: String(chain.chainId),
          NETWORK: chain.network,
          USDC_ADDRESS: chain.usdc,
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
