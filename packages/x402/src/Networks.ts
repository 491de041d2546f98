/**
 * The chains an offer can be paid on: a chain name or CAIP-2 id, mapped to its CAIP-2 id and
 * default payment token (USDC). The table is configuration: the defaults cover Base Sepolia and
 * Base, and a deployment (or the local test chain) adds its own as `NETWORKS_JSON`
 * ({@link configured}). The serviceoffer-controller resolves offers with it and the `obol` CLI
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
 * Base Sepolia and Base with Circle's USDC (EIP-712 domains as the tokens declare them).
 *
 * @category constants
 */
export const defaults: ReadonlyArray<Network> = [
  {
    names: ["base-sepolia"],
    caip2: "eip155:84532",
    usdc: { address: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", decimals: 6, eip712Name: "USDC", eip712Version: "2" }
  },
  {
    names: ["base"],
    caip2: "eip155:8453",
    usdc: {
      address: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
      decimals: 6,
      eip712Name: "USD Coin",
      eip712Version: "2"
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
