/**
 * Which chains the registrar can register on: for each, its names (as ServiceOffers and
 * RegistrationRequests spell the network: `base-sepolia` or `eip155:84532`), the chain id, the
 * RPC URL and the default ERC-8004 IdentityRegistry address.
 *
 * Everything here is configuration. The defaults are the registry deployments the ERC-8004
 * reference repository lists (the same vanity address on every testnet, another on mainnets) and
 * the chains' public RPC endpoints; the address in the original proposal is not a known
 * deployment and appears nowhere. Operators override any entry, or add chains (a local anvil),
 * with `CHAINS_JSON`; the registrar checks the registry's code and `getVersion()` before first
 * use, so a wrong address is a clear error, not a silent mint somewhere else.
 *
 * @since 0.1.0
 */
import { Option, Result, Schema } from "effect"

/**
 * @category models
 */
export const ChainConfig = Schema.Struct({
  names: Schema.Array(Schema.String.check(Schema.isMinCodePoints(1))).check(Schema.isMinLength(1)),
  chainId: Schema.Int.check(Schema.isGreaterThan(0)),
  rpcUrl: Schema.String.check(Schema.isPattern(/^https?:\/\/\S+$/u, { expected: "an http(s) URL" })),
  registry: Schema.optionalKey(
    Schema.String.check(Schema.isPattern(/^0x[0-9a-fA-F]{40}$/u, { expected: "a 0x-prefixed 20-byte address" }))
  )
})

/**
 * @category models
 */
export type ChainConfig = typeof ChainConfig.Type

/**
 * @category constants
 */
export const defaults: ReadonlyArray<ChainConfig> = [
  {
    names: ["base-sepolia", "eip155:84532"],
    chainId: 84532,
    rpcUrl: "https://sepolia.base.org",
    registry: "0x8004A818BFB912233c491871b3d84c89A494BD9e"
  },
  {
    names: ["base", "eip155:8453"],
    chainId: 8453,
    rpcUrl: "https://mainnet.base.org",
    registry: "0x8004A169FB4a3325136EB29fA0ceB6D2e539a432"
  }
]

const decodeTable = Schema.decodeUnknownResult(Schema.fromJsonString(Schema.Array(ChainConfig)))

/**
 * The table from `CHAINS_JSON`: its entries replace defaults that share a name or chain id and
 * add the rest. A malformed value is an error naming the field.
 *
 * @category constructors
 */
export const fromJson = (json: string | undefined): Result.Result<ReadonlyArray<ChainConfig>, string> => {
  if (json === undefined || json.trim() === "") return Result.succeed(defaults)
  return decodeTable(json).pipe(
    Result.mapError((error) => `CHAINS_JSON: ${error.message}`),
    Result.map((extra) => [
      ...extra,
      ...defaults.filter((d) => !extra.some((e) => e.chainId === d.chainId || e.names.some((n) => d.names.includes(n))))
    ])
  )
}

/**
 * The CAIP-2 id of a chain (`eip155:<chainId>`).
 *
 * @category accessors
 */
export const caip2 = (chain: ChainConfig) => `eip155:${chain.chainId}`

/**
 * The entry for a network name or CAIP-2 id.
 *
 * @category accessors
 */
export const resolve = (table: ReadonlyArray<ChainConfig>, network: string): Option.Option<ChainConfig> =>
  Option.fromUndefinedOr(table.find((c) => c.names.includes(network) || caip2(c) === network))
