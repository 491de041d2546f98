/**
 * The chains an offer can be paid on: a chain name or CAIP-2 id, mapped to its CAIP-2 id and
 * default payment token (USDC). The table is configuration: the defaults cover every chain name
 * obol-stack accepted (Base, Polygon PoS and Avalanche C-Chain, each with its testnet, plus
 * obol-stack's `-mainnet` aliases), and a deployment (or the local test chain) adds its own as
 * `NETWORKS_JSON` ({@link configured}). The serviceoffer-controller resolves offers with it and the `obol` CLI
 * validates `--chain` with it, so both accept exactly the same names.
 *
 * @since 0.1.0
 */
import { Option, Result, Schema } from "effect"

/**
 * @category models
 */
export interface Token {
  readonly address: string
  readonly decimals: number
  readonly eip712Name: string
  readonly eip712Version: string
}

/**
 * @category models
 */
export interface Network {
  /** Names sellers may write, e.g. `base-sepolia`. */
  readonly names: ReadonlyArray<string>
  /** CAIP-2 id, e.g. `eip155:84532`. */
  readonly caip2: string
  readonly usdc: Token
}

/**
 * Circle's native USDC on each chain obol-stack's verifier resolved by name (`base`/`base-mainnet`,
 * `base-sepolia`, `polygon`/`polygon-mainnet`, `polygon-amoy`, `avalanche`/`avalanche-mainnet`,
 * `avalanche-fuji`). An alias is one more entry in `names`, not another network.
 *
 * Every value was checked against these sources; the comment next to a value names the ones it
 * agrees with:
 *
 * - [obol-stack]: https://github.com/ObolNetwork/obol-stack, `ResolveChain` (internal/x402/config.go) and later
 *   `ResolveChainInfo` (internal/x402/chains.go): the names and aliases it accepted.
 * - [circle]: the issuer's addresses as Circle ships them in npm `@circle-fin/modular-wallets-core` 1.0.15,
 *   `ContractAddress` (dist/index.d.ts); Circle's list: https://developers.circle.com/stablecoins/usdc-contract-addresses
 * - [viem]: `node_modules/viem/_esm/tokens/definitions/usdc.js` (viem 2.57.20, `usdc.addresses` by chain id)
 *   and `node_modules/viem/_esm/chains/definitions/<chain>.js` (the chain id).
 * - [x402]: `node_modules/@x402/evm` 2.27.0, `DEFAULT_ASSETS` (src/defaultAssets.ts): address, EIP-712 name and
 *   version and decimals per CAIP-2 id; and `EVM_NETWORK_CHAIN_ID_MAP` (src/constants.ts): v1 name to chain id.
 * - [x402v1]: npm `x402` 1.2.0, `config` (src/types/shared/evm/config.ts: address and `usdcName` by chain id) and
 *   `getDefaultAsset` (decimals 6, EIP-712 version "2").
 * - [x402-go]: https://github.com/mark3labs/x402-go/blob/main/chains.go, the `ChainConfig` table obol-stack's
 *   verifier resolved names to (address, decimals, `EIP3009Name`, `EIP3009Version`).
 * - [chain]: the `DOMAIN_SEPARATOR()` each token reports on chain, which is the EIP-712 hash of
 *   (eip712Name, eip712Version, chain id, address) and so pins all four together. The values below hash to the
 *   separators that projects reading the chain record (obol-stack's internal/x402/chains_domain_test.go for
 *   base-sepolia; not re-read from an RPC here; re-check with `cast call <address> "DOMAIN_SEPARATOR()(bytes32)"`):
 *   base-sepolia `0x71f17a3b2ff373b803d70a5a07c046c1a2bc8e89c09ef722fcb047abe94c9818`,
 *   base `0x02fa7265e7c5d81118673727957699e4d68f74cd74b7db77da710fe8a2c7834f`,
 *   polygon-amoy `0x5cddc98319864e897e4469bd1d13c2288c677047b54b8cca12bd342adb6be9eb`,
 *   polygon `0xcaa2ce1a5703ccbe253a34eb3166df60a705c561b44b192061e28f2a985be2ca`,
 *   avalanche-fuji `0xfe9fa105a0e9629446730e544caa6b8d05d8d4fc93451750dc50e2ddd6d374b3`,
 *   avalanche `0xbbea200329a938bc3438984a49cb0732e66d66d7bd59c127abacc1710e77f7b3`.
 *
 * The EIP-712 domain name is the token's `name()`: "USDC" on Base Sepolia and Polygon Amoy, "USD Coin" on
 * Avalanche Fuji and on the three mainnets (a testnet is not always "USDC"; obol-stack's later chains.go says
 * "USD Coin" for Base Sepolia and Polygon Amoy, which [chain] contradicts). CAIP-2 ids are `eip155:<chain id>`.
 *
 * @category constants
 */
export const defaults: ReadonlyArray<Network> = [
  {
    names: ["base-sepolia"], // [obol-stack] [x402] [x402-go]
    caip2: "eip155:84532", // [viem] [x402]
    usdc: {
      address: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", // [circle] [viem] [x402] [x402v1] [x402-go]
      decimals: 6, // [x402] [x402v1] [x402-go]
      eip712Name: "USDC", // [chain] [x402] [x402v1] [x402-go]
      eip712Version: "2" // [chain] [x402] [x402v1] [x402-go]
    }
  },
  {
    names: ["base", "base-mainnet"], // [obol-stack] [x402] [x402-go]; base-mainnet: [obol-stack] only
    caip2: "eip155:8453", // [viem] [x402]
    usdc: {
      address: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", // [circle] [viem] [x402] [x402v1] [x402-go]
      decimals: 6, // [x402] [x402v1] [x402-go]
      eip712Name: "USD Coin", // [chain] [x402] [x402v1] [x402-go]
      eip712Version: "2" // [chain] [x402] [x402v1] [x402-go]
    }
  },
  {
    names: ["polygon-amoy"], // [obol-stack] [x402] [x402-go]
    caip2: "eip155:80002", // [viem] [x402]
    usdc: {
      address: "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582", // [circle] [viem] [x402v1] [x402-go]
      decimals: 6, // [x402v1] [x402-go]
      eip712Name: "USDC", // [chain] [x402v1] [x402-go]
      eip712Version: "2" // [chain] [x402v1] [x402-go]
    }
  },
  {
    names: ["polygon", "polygon-mainnet"], // [obol-stack] [x402] [x402-go]; polygon-mainnet: [obol-stack] only
    caip2: "eip155:137", // [viem] [x402]
    usdc: {
      address: "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", // [circle] [viem] [x402] [x402v1] [x402-go]
      decimals: 6, // [x402] [x402v1] [x402-go]
      eip712Name: "USD Coin", // [chain] [x402] [x402v1] [x402-go]
      eip712Version: "2" // [chain] [x402] [x402v1] [x402-go]
    }
  },
  {
    names: ["avalanche-fuji"], // [obol-stack] [x402] [x402-go]
    caip2: "eip155:43113", // [viem] [x402]
    usdc: {
      address: "0x5425890298aed601595a70AB815c96711a31Bc65", // [circle] [viem] [x402v1] [x402-go]
      decimals: 6, // [x402v1] [x402-go]
      eip712Name: "USD Coin", // [chain] [x402v1] [x402-go]
      eip712Version: "2" // [chain] [x402v1] [x402-go]
    }
  },
  {
    names: ["avalanche", "avalanche-mainnet"], // [obol-stack] [x402] [x402-go]; avalanche-mainnet: [obol-stack] only
    caip2: "eip155:43114", // [viem] [x402]
    usdc: {
      address: "0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E", // [circle] [viem] [x402] [x402v1] [x402-go]
      decimals: 6, // [x402] [x402v1] [x402-go]
      eip712Name: "USD Coin", // [chain] [x402] [x402v1] [x402-go]
      eip712Version: "2" // [chain] [x402] [x402v1] [x402-go]
    }
  }
]

/**
 * Finds a network by name or CAIP-2 id.
 *
 * @category getters
 */
export const find = (networks: ReadonlyArray<Network>, nameOrCaip2: string): Option.Option<Network> =>
  Option.fromUndefinedOr(networks.find((n) => n.caip2 === nameOrCaip2 || n.names.includes(nameOrCaip2)))

/**
 * The shape of `NETWORKS_JSON`: `[{names, caip2, usdc: {address, decimals, eip712Name, eip712Version}}]`.
 *
 * @category schemas
 */
export const NetworkList = Schema.Array(
  Schema.Struct({
    names: Schema.Array(Schema.String),
    caip2: Schema.String,
    usdc: Schema.Struct({
      address: Schema.String,
      decimals: Schema.Int,
      eip712Name: Schema.String,
      eip712Version: Schema.String
    })
  })
)

/**
 * The networks a deployment accepts: those a `NETWORKS_JSON` value adds (absent or empty: none),
 * ahead of the defaults, or why the value is invalid. The controller and the `obol` CLI both read
 * `NETWORKS_JSON` through this, so they accept the same names.
 *
 * @category constructors
 */
export const configured = (json: string | undefined): Result.Result<ReadonlyArray<Network>, string> =>
  json === undefined || json === ""
    ? Result.succeed(defaults)
    : Schema.decodeUnknownResult(Schema.fromJsonString(NetworkList))(json).pipe(
        Result.map((extra): ReadonlyArray<Network> => [...extra, ...defaults]),
        Result.mapError((error) => `NETWORKS_JSON is invalid: ${error.message}`)
      )

/**
 * Every name a seller may write, for help texts and "did you mean" messages.
 *
 * @category getters
 */
export const names = (networks: ReadonlyArray<Network>): ReadonlyArray<string> => networks.flatMap((n) => n.names)
