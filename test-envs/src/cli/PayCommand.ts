/**
 * The command line of `npm run pay -- [options] <url>` (`pay.ts`): its usage text and the
 * arguments turned into the `@obol/x402/Buyer` request to pay for, or a usage error.
 *
 * - Arguments: one http(s) URL; `--method`/`-X`, `--data`/`-d` (the request body; the method then
 *   defaults to POST), `-H`/`--header 'Name: value'` (repeatable), `--max <decimal>` (a spending
 *   limit in whole units of the asset asked for, USDC on our chains), `--help`.
 * - `--max` is only checked to be a plain decimal here; against the asset's decimals it is checked
 *   by `Buyer.run` once the 402 names the asset.
 *
 * The settings (the payer's key, the RPC URL) are not arguments: `StackEnv.loadSettings` reads
 * them from the environment or the stack's `stack.env`, so the key never lands in shell history.
 *
 * @since 0.1.0
 */
import { Data, Result } from "effect"
import { parseArgs as parseNodeArgs } from "node:util"
import type * as Buyer from "@obol/x402/Buyer"
import * as Price from "@obol/x402/Price"

/**
 * @category constants
 */
export const usage = `usage: npm run pay -- [options] <url>

Pays for one request with the official x402 client (@x402/fetch) and shows the HTTP status, the
response body and the settlement receipt.

options:
  -X, --method <METHOD>    HTTP method (default GET, or POST with --data)
  -d, --data <body>        request body, sent as given (add -H 'Content-Type: …' if it matters)
  -H, --header 'Name: v'   a request header; repeat for more
      --max <decimal>      refuse to pay more than this, in whole units of the asset (USDC), e.g. 0.01
      --help               this text

settings (the environment wins, else the stack's stack.env, which \`npm start\` writes):
  PAYER_PRIVATE_KEY        the payer's hex private key (never printed)
  RPC_URL                  JSON-RPC URL of the payment's chain (reads the asset's decimals)
  OBOL_STACK_DIR           where stack.env is (default \${XDG_DATA_HOME:-~/.local/share}/obol-serviceoffer/stack)

exit status: 0 on a 2xx answer, 1 otherwise (with the reason on stderr), 2 for a usage error.`

/**
 * @category errors
 */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/**
 * What the command line asks: the usage text, or one request to pay for.
 *
 * @category models
 */
export type Command = { readonly _tag: "Help" } | ({ readonly _tag: "Pay" } & Buyer.Request)

const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/u

/**
 * The command line (without `node` and the script) to a request, or a usage error.
 *
 * @category constructors
 */
export const parseArgs = (argv: ReadonlyArray<string>): Result.Result<Command, UsageError> => {
  let parsed
  try {
    parsed = parseNodeArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        method: { type: "string", short: "X" },
        data: { type: "string", short: "d" },
        header: { type: "string", short: "H", multiple: true },
        max: { type: "string" },
        help: { type: "boolean" }
      }
    })
  } catch (error) {
    return Result.fail(new UsageError({ message: error instanceof Error ? error.message : String(error) }))
  }
  const { values, positionals } = parsed
  if (values.help === true) return Result.succeed({ _tag: "Help" })
  const fail = (message: string) => Result.fail(new UsageError({ message }))
  if (positionals.length === 0) return fail("the URL to pay for is missing")
  if (positionals.length > 1) return fail(`expected one URL, got ${positionals.length}: ${positionals.join(" ")}`)
  const raw = positionals[0]!
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return fail(`"${raw}" is not a URL; give an http:// or https:// URL`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return fail(`"${raw}" is not an http:// or https:// URL`)
  }
  const method = (values.method ?? (values.data === undefined ? "GET" : "POST")).toUpperCase()
  if (!token.test(method)) return fail(`"${values.method}" is not an HTTP method`)
  if (values.data !== undefined && (method === "GET" || method === "HEAD")) {
    return fail(`a ${method} request cannot carry --data; use --method POST (or leave --method out)`)
  }
  const headers: Array<readonly [string, string]> = []
  for (const header of values.header ?? []) {
    const colon = header.indexOf(":")
    const name = colon < 0 ? "" : header.slice(0, colon).trim()
    if (!token.test(name)) return fail(`-H "${header}" is not a 'Name: value' header`)
    headers.push([name, header.slice(colon + 1).trim()])
  }
  if (values.max !== undefined) {
    const checked = Price.toAtomic(values.max, 0)
    if (Result.isFailure(checked) && checked.failure.reason === "Malformed") {
      return fail(`--max "${values.max}" is not a plain decimal amount like 0.01`)
    }
  }
  return Result.succeed({
    _tag: "Pay",
    url,
    method,
    headers,
    ...(values.data === undefined ? {} : { data: values.data }),
    ...(values.max === undefined ? {} : { max: values.max })
  })
}
