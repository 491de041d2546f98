/**
 * String formats for chain-facing fields: addresses, transaction hashes, chain names and CAIP-2
 * network ids. They validate shape only (hex length, character set); whether a chain is supported
 * is decided by the verifier and the registrar from their configuration.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A 20-byte hex address with `0x` prefix. Checksum case is accepted but not verified here.
 *
 * @category schemas
 */
export const Address = Schema.String.check(
  Schema.isPattern(/^0x[0-9a-fA-F]{40}$/u, { expected: "an 0x-prefixed 20-byte hex address (0x + 40 hex digits)" })
)

/**
 * A 32-byte transaction hash with `0x` prefix.
 *
 * @category schemas
 */
export const TxHash = Schema.String.check(
  Schema.isPattern(/^0x[0-9a-fA-F]{64}$/u, { expected: "an 0x-prefixed 32-byte hex transaction hash" })
)

/**
 * A network as sellers write it: a chain name such as `base-sepolia` (what obol-stack manifests
 * use) or a CAIP-2 EVM id such as `eip155:84532`.
 *
 * @category schemas
 */
export const NetworkName = Schema.String.check(
  Schema.isPattern(/^([a-z0-9][a-z0-9-]{0,62}|eip155:[1-9][0-9]{0,19})$/u, {
    expected: "a chain name such as base-sepolia, or a CAIP-2 id such as eip155:84532"
  })
)

/**
 * A CAIP-2 chain id (`namespace:reference`), e.g. `eip155:84532`.
 *
 * @category schemas
 */
export const Caip2 = Schema.String.check(
  Schema.isPattern(/^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/u, { expected: "a CAIP-2 chain id such as eip155:84532" })
)

/**
 * An unsigned integer too large for a JavaScript number (token ids, atomic amounts), as a decimal
 * string without sign or leading zeros.
 *
 * @category schemas
 */
export const Uint256String = Schema.String.check(
  Schema.isPattern(/^(0|[1-9][0-9]{0,77})$/u, { expected: "a non-negative decimal integer without leading zeros" })
)
