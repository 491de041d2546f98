/**
 * The names of every x402 payment header a buyer could send to forge what an upstream sees: the
 * buyer's payment (`PAYMENT-SIGNATURE` v2, `X-PAYMENT` v1), the 402 requirements
 * (`PAYMENT-REQUIRED`), the settlement receipt (`PAYMENT-RESPONSE`, `X-PAYMENT-RESPONSE`) and the
 * verifier's own summary for upstreams (`X-Payment-Status`, `X-Payment-Tx`, `X-Payment-Payer`).
 *
 * Both paths to an upstream remove all of them from the buyer's request: Traefik ForwardAuth
 * through the Middleware's `authResponseHeaders` (the serviceoffer-controller lists exactly these),
 * the pay-on-success proxy itself (`@obol/x402-verifier/PayOnSuccess`). What an upstream then
 * sees under these names was set by the verifier.
 *
 * It does not read or write headers; it only names them.
 *
 * @since 0.1.0
 */

/**
 * @category constants
 */
export const names: ReadonlyArray<string> = [
  "PAYMENT-RESPONSE",
  "X-PAYMENT-RESPONSE",
  "X-Payment-Status",
  "X-Payment-Tx",
  "X-Payment-Payer",
  "PAYMENT-SIGNATURE",
  "X-PAYMENT",
  "PAYMENT-REQUIRED"
]

/**
 * The same names, lower-cased, for lookups in Node's lower-cased header records.
 *
 * @category constants
 */
export const lowerCased: ReadonlySet<string> = new Set(names.map((name) => name.toLowerCase()))
