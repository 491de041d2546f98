/**
 * The buyer's side of x402: one request paid with the official `@x402/fetch` client, and what came
 * back: the HTTP status, the body, and the settlement receipt. `obol sell probe --pay` pays through
 * it, and so does `npm run pay -- <url>` for people who do not have the `obol` CLI yet (its thin
 * script is `test-envs/src/cli/pay.ts`).
 *
 * - Arguments: one http(s) URL; `--method`/`-X`, `--data`/`-d` (the request body; the method then
 *   defaults to POST), `-H`/`--header 'Name: value'` (repeatable), `--max <decimal>` (a spending
 *   limit in whole units of the asset asked for, USDC on our chains).
 * - Settings: `PAYER_PRIVATE_KEY` and `RPC_URL`, each from the environment when set, else from the
 *   `stack.env` that `npm start` writes in the stack directory
 *   (`${OBOL_STACK_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/obol-serviceoffer/stack}`). The key is
 *   parsed by `@obol/chain/Signer` into a `Redacted` and is never printed, nor is any part of it in
 *   an error; only the payer's address is shown. `RPC_URL` is shown by host only (hosted RPC URLs
 *   carry API keys in their path).
 * - Money: every amount is an integer of atomic units (`bigint`); human forms come from the asset's
 *   own `decimals()` read over `RPC_URL` and `@obol/x402/Price`'s `toDecimal`/`toAtomic`, never a
 *   float. With `--max`, an option whose amount is above the limit, or whose decimals cannot be
 *   read (wrong chain behind `RPC_URL`, no contract), or a limit finer than the asset's decimals,
 *   is refused before anything is signed; the library's own spend controls are off, because they
 *   know only public USDC deployments and would refuse our local token.
 * - Receipt: `PAYMENT-RESPONSE` (v2) or `X-PAYMENT-RESPONSE` (v1), decoded with `@x402/core`'s
 *   decoder. When a payment was sent and no receipt came back, the report says so: with Traefik
 *   ForwardAuth in front, the receipt currently goes to the upstream, not to the buyer.
 *
 * This module does not sign anything itself (the `@x402/evm` exact client does), does not retry a
 * failed payment, does not choose among several payment options beyond dropping those over the
 * limit (the client's default selector picks the first remaining), and keeps no state between runs.
 *
 * @since 0.1.0
 */
import { Data, Redacted, Result } from "effect"
import { homedir } from "node:os"
import { join } from "node:path"
import { parseArgs as parseNodeArgs } from "node:util"
import { x402Client, x402HTTPClient } from "@x402/core/client"
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from "@x402/core/http"
import type { PaymentRequired, PaymentRequirements, SettleResponse } from "@x402/core/types"
import { toClientEvmSigner } from "@x402/evm"
import { registerExactEvmScheme } from "@x402/evm/exact/client"
import { EVM_NETWORK_CHAIN_ID_MAP } from "@x402/evm/v1"
import { wrapFetchWithPayment } from "@x402/fetch"
import { createPublicClient, erc20Abi, http, isAddress, type Address } from "viem"
import { privateKeyToAccount } from "viem/accounts"
import * as Signer from "@obol/chain/Signer"
import * as Price from "./Price.ts"
import * as Requirements from "./Requirements.ts"

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
 * @category errors
 */
export class SettingsError extends Data.TaggedError("SettingsError")<{ readonly message: string }> {}

/**
 * One request to pay for, as the command line asked.
 *
 * @category models
 */
export interface Request {
  readonly url: URL
  readonly method: string
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>
  readonly data?: string
  /** The spending limit as typed (a plain decimal, checked against the asset's decimals later). */
  readonly max?: string
}

/**
 * @category models
 */
export type Command = { readonly _tag: "Help" } | ({ readonly _tag: "Pay" } & Request)

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

type Env = Readonly<Record<string, string | undefined>>

const set = (env: Env, name: string) => {
  const value = env[name]
  return value === undefined || value === "" ? undefined : value
}

/**
 * The stack data directory: `${OBOL_STACK_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/obol-serviceoffer/stack}`.
 *
 * @category accessors
 */
export const stackDir = (env: Env): string =>
  set(env, "OBOL_STACK_DIR") ??
  join(
    set(env, "XDG_DATA_HOME") ?? join(set(env, "HOME") ?? homedir(), ".local", "share"),
    "obol-serviceoffer",
    "stack"
  )

/**
 * `KEY=value` lines (blank lines and `#` comments skipped, an `export ` prefix and one pair of
 * surrounding quotes dropped) to a record.
 *
 * @category constructors
 */
export const parseEnvFile = (text: string): Record<string, string> => {
  const out: Record<string, string> = Object.create(null)
  for (const line of text.split(/\r?\n/u)) {
    const trimmed = line.trim().replace(/^export\s+/u, "")
    if (trimmed === "" || trimmed.startsWith("#")) continue
    const eq = trimmed.indexOf("=")
    if (eq <= 0) continue
    let value = trimmed.slice(eq + 1).trim()
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) {
      value = value.slice(1, -1)
    }
    out[trimmed.slice(0, eq).trim()] = value
  }
  return out
}

/**
 * @category models
 */
export interface Settings {
  readonly signer: Signer.Signer
  readonly rpcUrl: string
  /** Where each setting came from ("the environment" or the stack.env path), for the progress lines. */
  readonly sources: { readonly key: string; readonly rpcUrl: string }
}

/**
 * The payer's key and the chain's RPC URL: each from the environment when set, else from
 * `<stackDir>/stack.env`. `readFile` returns the file's text, or undefined when it does not exist.
 *
 * @category constructors
 */
export const loadSettings = (
  env: Env,
  readFile: (path: string) => string | undefined
): Result.Result<Settings, SettingsError> => {
  const fail = (message: string) => Result.fail(new SettingsError({ message }))
  const path = join(stackDir(env), "stack.env")
  let file: Record<string, string> | undefined
  const setting = (name: string): { value: string; source: string } | string => {
    const fromEnv = set(env, name)
    if (fromEnv !== undefined) return { value: fromEnv, source: "the environment" }
    if (file === undefined) {
      let text: string | undefined
      try {
        text = readFile(path)
      } catch (error) {
        return `${name} is not set and ${path} cannot be read (${error instanceof Error ? error.message : String(error)})`
      }
      if (text === undefined) {
        return `${name} is not set and ${path} does not exist: run \`npm start\` (it writes that file) or set PAYER_PRIVATE_KEY and RPC_URL`
      }
      file = parseEnvFile(text)
    }
    const value = file[name]
    return value === undefined || value === ""
      ? `${name} is not set, nor in ${path}: run \`npm start\` again or set PAYER_PRIVATE_KEY and RPC_URL`
      : { value, source: path }
  }
  const key = setting("PAYER_PRIVATE_KEY")
  if (typeof key === "string") return fail(key)
  const rpc = setting("RPC_URL")
  if (typeof rpc === "string") return fail(rpc)
  const signer = Signer.fromPrivateKey(key.value)
  if (Result.isFailure(signer)) return fail(`PAYER_PRIVATE_KEY from ${key.source}: ${signer.failure.message}`)
  let rpcUrl: URL
  try {
    rpcUrl = new URL(rpc.value)
  } catch {
    return fail(`RPC_URL from ${rpc.source} is not a URL`)
  }
  if (rpcUrl.protocol !== "http:" && rpcUrl.protocol !== "https:") {
    return fail(`RPC_URL from ${rpc.source} is not an http:// or https:// URL`)
  }
  return Result.succeed({ signer: signer.success, rpcUrl: rpc.value, sources: { key: key.source, rpcUrl: rpc.source } })
}

/**
 * The amount an option asks, in atomic units as written: `amount` (v2) or `maxAmountRequired` (v1).
 *
 * @category accessors
 */
export const amountOf: (requirement: PaymentRequirements) => string = Requirements.amountOf

/**
 * The EVM chain id of an x402 network: CAIP-2 `eip155:<id>` (v2) or a v1 name (`base-sepolia`).
 *
 * @category accessors
 */
export const chainIdOf = (network: string): number | undefined => {
  const caip = /^eip155:(\d{1,15})$/u.exec(network)
  if (caip !== null) return Number(caip[1])
  return Object.hasOwn(EVM_NETWORK_CHAIN_ID_MAP, network)
    ? EVM_NETWORK_CHAIN_ID_MAP[network as keyof typeof EVM_NETWORK_CHAIN_ID_MAP]
    : undefined
}

/**
 * What the buyer knows about the asset of an option: its decimals and symbol, or why not.
 *
 * @category models
 */
export type Asset =
  | { readonly _tag: "Known"; readonly decimals: number; readonly symbol: string }
  | { readonly _tag: "Unknown"; readonly reason: string }

const atomicPattern = /^(0|[1-9][0-9]*)$/u

/**
 * `10000` of a 6-decimal USDC → `0.01 USDC (10000 atomic units)`; without decimals, the atomic
 * units and why.
 *
 * @category constructors
 */
export const describeAmount = (atomic: string, asset: Asset): string => {
  if (!atomicPattern.test(atomic)) return `"${atomic}" (not a whole number of atomic units)`
  return asset._tag === "Known"
    ? `${Price.toDecimal(BigInt(atomic), asset.decimals)} ${asset.symbol} (${atomic} atomic units)`
    : `${atomic} atomic units (decimals unknown: ${asset.reason})`
}

/**
 * Whether paying `amount` (atomic units, as the 402 wrote it) stays within `max` (a decimal in
 * whole units of the asset): the amount and limit in atomic units, or why the payment is refused.
 * Integer math only: the limit goes through `Price.toAtomic` with the asset's own decimals.
 *
 * @category constructors
 */
export const checkLimit = (
  amount: string,
  max: string,
  asset: Asset
): Result.Result<{ readonly amount: bigint; readonly limit: bigint }, string> => {
  if (!atomicPattern.test(amount)) {
    return Result.fail(`the amount asked, "${amount}", is not a whole number of atomic units`)
  }
  if (asset._tag === "Unknown") {
    return Result.fail(`--max ${max} cannot be checked: the asset's decimals are unknown (${asset.reason})`)
  }
  const limit = Price.toAtomic(max, asset.decimals)
  if (Result.isFailure(limit)) return Result.fail(`--max ${limit.failure.message}`)
  const asked = BigInt(amount)
  if (asked > limit.success) {
    return Result.fail(
      `the price ${describeAmount(amount, asset)} is above --max ${max} ${asset.symbol} (${limit.success} atomic units)`
    )
  }
  return Result.succeed({ amount: asked, limit: limit.success })
}

/**
 * @category models
 */
export type Receipt =
  | {
      readonly _tag: "Decoded"
      readonly header: "PAYMENT-RESPONSE" | "X-PAYMENT-RESPONSE"
      readonly settle: SettleResponse
    }
  | { readonly _tag: "Undecodable"; readonly header: string; readonly error: string }
  | { readonly _tag: "Missing" }

/**
 * The settlement receipt of an answer: `PAYMENT-RESPONSE` (v2), else `X-PAYMENT-RESPONSE` (v1).
 *
 * @category constructors
 */
export const receiptOf = (getHeader: (name: string) => string | null | undefined): Receipt => {
  for (const header of ["PAYMENT-RESPONSE", "X-PAYMENT-RESPONSE"] as const) {
    const value = getHeader(header)
    if (value === null || value === undefined || value === "") continue
    try {
      return { _tag: "Decoded", header, settle: decodePaymentResponseHeader(value) }
    } catch (error) {
      return { _tag: "Undecodable", header, error: error instanceof Error ? error.message : String(error) }
    }
  }
  return { _tag: "Missing" }
}

const reasonOf = (getHeader: (name: string) => string | null, body: string, receipt: Receipt) => {
  if (receipt._tag === "Decoded" && receipt.settle.success === false) {
    const parts = [receipt.settle.errorReason, receipt.settle.errorMessage].filter((s) => s !== undefined && s !== "")
    if (parts.length > 0) return parts.join(": ")
  }
  const required = getHeader("PAYMENT-REQUIRED")
  if (required !== null) {
    try {
      const error = decodePaymentRequiredHeader(required).error
      if (error !== undefined && error !== "") return error
    } catch {
      // fall through to the body
    }
  }
  try {
    const json: unknown = JSON.parse(body)
    if (typeof json === "object" && json !== null && "error" in json && typeof json.error === "string") {
      return json.error
    }
  } catch {
    // not JSON
  }
  return undefined
}

/**
 * How a run ended.
 *
 * @category models
 */
export type Outcome =
  | {
      readonly _tag: "Answered"
      readonly status: number
      readonly statusText: string
      readonly body: string
      readonly receipt: Receipt
      /** The server asked for a payment (a 402 came first). */
      readonly asked: boolean
      /** A signed payment was sent. */
      readonly paid: boolean
      /** The server's reason for a non-2xx answer, when it gave one. */
      readonly reason?: string
    }
  | { readonly _tag: "Refused"; readonly reason: string }
  | { readonly _tag: "Failed"; readonly reason: string; readonly paid: boolean }

const messageOf = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error)
  const short = (error as Error & { shortMessage?: string }).shortMessage ?? error.message
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ""
  return `${short.split("\n")[0]}${cause}`
}

/**
 * Sends the request with `@x402/fetch`, paying with the settings' key if the server answers 402
 * (within `--max` when given), and reports progress lines on the way.
 *
 * @category constructors
 */
export const run = async (
  request: Request,
  settings: Settings,
  io: { readonly progress: (line: string) => void; readonly fetch?: typeof globalThis.fetch }
): Promise<Outcome> => {
  const progress = io.progress
  const account = privateKeyToAccount(Redacted.value(settings.signer.privateKey))
  const rpc = createPublicClient({ transport: http(settings.rpcUrl, { retryCount: 0, timeout: 15_000 }) })
  const client = new x402Client().setSpendControls(false)
  registerExactEvmScheme(client, {
    signer: toClientEvmSigner(account, {
      readContract: (args) => rpc.readContract(args as Parameters<typeof rpc.readContract>[0])
    })
  })
  const httpClient = new x402HTTPClient(client)

  let served: Promise<number> | undefined
  const assets = new Map<string, Asset>()
  const lookup = async (r: PaymentRequirements): Promise<Asset> => {
    const unknown = (reason: string): Asset => ({ _tag: "Unknown", reason })
    const wanted = chainIdOf(r.network)
    if (wanted === undefined) return unknown(`${r.network} is not an EVM network`)
    if (!isAddress(r.asset, { strict: false })) return unknown(`the asset "${r.asset}" is not a token address`)
    served ??= rpc.getChainId()
    let chainId: number
    try {
      chainId = await served
    } catch (error) {
      return unknown(`RPC_URL did not answer eth_chainId: ${messageOf(error)}`)
    }
    if (chainId !== wanted) {
      return unknown(`RPC_URL serves chain ${chainId}, but this payment is on ${r.network} (chain ${wanted})`)
    }
    let decimals: number
    try {
      decimals = await rpc.readContract({ address: r.asset as Address, abi: erc20Abi, functionName: "decimals" })
    } catch (error) {
      return unknown(`decimals() of ${r.asset} could not be read: ${messageOf(error)}`)
    }
    let symbol: string
    try {
      symbol = await rpc.readContract({ address: r.asset as Address, abi: erc20Abi, functionName: "symbol" })
    } catch {
      const name = r.extra?.["name"]
      symbol = typeof name === "string" && name !== "" ? name : "units"
    }
    return { _tag: "Known", decimals, symbol }
  }
  const keyOf = (r: PaymentRequirements) => `${r.network}|${r.asset.toLowerCase()}`
  const assetOf = (r: PaymentRequirements): Asset =>
    assets.get(keyOf(r)) ?? { _tag: "Unknown", reason: "not looked up" }

  let asked: PaymentRequired | undefined
  let paid = false
  const refusals: Array<string> = []

  httpClient.onPaymentRequired(async ({ paymentRequired, requestUrl }) => {
    asked = paymentRequired
    const accepts = paymentRequired.accepts
    progress(
      `${requestUrl} asks for a payment (x402 v${paymentRequired.x402Version}, ${accepts.length} option${accepts.length === 1 ? "" : "s"})`
    )
    for (const r of accepts) {
      if (!assets.has(keyOf(r))) assets.set(keyOf(r), await lookup(r))
      progress(
        `  ${describeAmount(amountOf(r), assetOf(r))} on ${r.network} (scheme ${r.scheme}), pay to ${r.payTo}, asset ${r.asset}`
      )
    }
  })
  if (request.max !== undefined) {
    const max = request.max
    client.registerPolicy((_version, requirements) =>
      requirements.filter((r) => {
        const verdict = checkLimit(amountOf(r), max, assetOf(r))
        if (Result.isFailure(verdict)) refusals.push(verdict.failure)
        return Result.isSuccess(verdict)
      })
    )
  }
  client.onBeforePaymentCreation(async ({ selectedRequirements: r }) => {
    progress(
      `paying ${describeAmount(amountOf(r), assetOf(r))} on ${r.network} to ${r.payTo} from ${settings.signer.address}${request.max === undefined ? "" : ` (within --max ${request.max})`}`
    )
  })
  client.onAfterPaymentCreation(async () => {
    paid = true
  })

  const fetchWithPayment = wrapFetchWithPayment(io.fetch ?? globalThis.fetch, httpClient)
  progress(`${request.method} ${request.url.href}`)
  progress(
    `payer ${settings.signer.address} (key from ${settings.sources.key}); RPC ${new URL(settings.rpcUrl).host} (from ${settings.sources.rpcUrl})`
  )
  let response: Response
  try {
    response = await fetchWithPayment(request.url, {
      method: request.method,
      headers: request.headers.map(([name, value]) => [name, value]),
      ...(request.data === undefined ? {} : { body: request.data })
    })
  } catch (error) {
    if (!paid && refusals.length > 0 && /filtered out by policies/u.test(messageOf(error))) {
      return { _tag: "Refused", reason: `${refusals.join("; ")}; nothing was signed or paid` }
    }
    const reason = messageOf(error)
    if (asked === undefined) return { _tag: "Failed", paid, reason: `could not reach ${request.url.href}: ${reason}` }
    return {
      _tag: "Failed",
      paid,
      reason: paid
        ? `${reason} (a signed payment was sent; it may or may not have settled)`
        : `${reason}; nothing was paid`
    }
  }
  const body = await response.text()
  const getHeader = (name: string) => response.headers.get(name)
  const receipt = receiptOf(getHeader)
  const reason = response.ok ? undefined : reasonOf(getHeader, body, receipt)
  return {
    _tag: "Answered",
    status: response.status,
    statusText: response.statusText,
    body,
    receipt,
    asked: asked !== undefined,
    paid,
    ...(reason === undefined ? {} : { reason })
  }
}

/**
 * @category models
 */
export interface Report {
  /** The result: status line, body, receipt. */
  readonly stdout: string
  /** Why the run failed, for stderr; undefined on success. */
  readonly failure?: string
  readonly exitCode: 0 | 1
}

const receiptText = (outcome: Extract<Outcome, { _tag: "Answered" }>): string => {
  const receipt = outcome.receipt
  switch (receipt._tag) {
    case "Decoded":
      return `receipt (${receipt.header}, decoded):\n${JSON.stringify(receipt.settle, null, 2)}`
    case "Undecodable":
      return `receipt: the ${receipt.header} header could not be decoded (${receipt.error})`
    case "Missing":
      if (!outcome.asked) return "receipt: none (no payment was asked for: the server did not answer 402)"
      if (!outcome.paid) return "receipt: none (no payment was sent)"
      if (outcome.status < 200 || outcome.status >= 300) {
        return "receipt: none (a payment was sent and the server did not accept it; see the reason)"
      }
      return [
        "receipt: none. The server sent no PAYMENT-RESPONSE (or X-PAYMENT-RESPONSE) header, although a payment was sent.",
        "With Traefik ForwardAuth in front, the receipt currently goes to the upstream, not to the buyer;",
        "look for the token transfer on chain to confirm the payment."
      ].join("\n")
  }
}

/**
 * What to print for an outcome, and the exit status: 0 on a 2xx answer, 1 otherwise.
 *
 * @category constructors
 */
export const report = (outcome: Outcome): Report => {
  switch (outcome._tag) {
    case "Refused":
      return { stdout: "", failure: `refused to pay: ${outcome.reason}`, exitCode: 1 }
    case "Failed":
      return { stdout: "", failure: outcome.reason, exitCode: 1 }
    case "Answered": {
      const body = outcome.body === "" || outcome.body.endsWith("\n") ? outcome.body : `${outcome.body}\n`
      const stdout = `HTTP ${outcome.status} ${outcome.statusText}\n${body}${receiptText(outcome)}\n`
      if (outcome.status >= 200 && outcome.status < 300) return { stdout, exitCode: 0 }
      return {
        stdout,
        failure: `HTTP ${outcome.status} ${outcome.statusText}${outcome.reason === undefined ? "" : `: ${outcome.reason}`}`,
        exitCode: 1
      }
    }
  }
}
