/**
 * Decimal price strings as sellers write them (`"0.001"`, `"5"`). Prices stay strings in every
 * resource: turning them into atomic units is integer math in `@obol/x402`, never a float parse.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A non-negative decimal number in plain notation: digits, optionally a dot and more digits.
 * No sign, no exponent, no leading dot, at most 18 fractional digits.
 *
 * @category schemas
 */
export const DecimalString = Schema.String.check(
  Schema.isPattern(/^(0|[1-9][0-9]{0,29})(\.[0-9]{1,18})?$/u, {
    expected: 'a decimal number such as "0.001" or "5" (no sign, exponent or leading dot)'
  })
)
