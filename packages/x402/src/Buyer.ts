/**
 * The buyer's side of x402, for a program that pays for a URL: `run` sends one request with the
 * official `@x402/fetch` client, paying if the server answers 402, and returns what came back (the
 * HTTP status, the body, the settlement receipt); `report` turns that into what to print and an
 * exit status. `obol sell probe --pay` pays through it, and so does test-envs' `npm run pay`.
 *
 * - Request: a URL, a method, headers, an optional body and an optional spending limit `max` (a
 *   decimal in whole units of the asset asked for, USDC on our chains).
 * - Settings: the payer's `@obol/chain/Signer` (the key is a `Redacted`; it is never printed, nor
 *   is any part of it in an error; only the payer's address is shown) and the chain's RPC URL
 *   (shown by host only: hosted RPC URLs carry API keys in their path), with where each came from.
 * - Money: every amount is an integer of atomic units (`bigint`); human forms come from the asset's
 *   own `decimals()` read over the RPC URL and `@obol/x402/Price`'s `toDecimal`/`toAtomic`, never a
 *   float. With `max`, an option whose amount is above the limit, or whose decimals cannot be read
 *   (wrong chain behind the RPC URL, no contract), or a limit finer than the asset's decimals, is
 *   refused before anything is signed; the library's own spend controls are off, because they know
 *   only public USDC deployments and would refuse our local token.
 * - Receipt: `PAYMENT-RESPONSE` (v2) or `X-PAYMENT-RESPONSE` (v1), decoded with `@x402/core`'s
 *   decoder. When a payment was sent and no receipt came back, the report says so: with Traefik
 *   ForwardAuth in front, the receipt currently goes to the upstream, not to the buyer.
 *
 * This module is not a command line: the arguments, the usage text and where the key and RPC URL
 * come from belong to its callers (`npm run pay`'s are test-envs' `src/cli/PayCommand.ts` and
 * `src/cli/StackEnv.ts`, which reads the local stack's `stack.env`; `obol sell probe`'s are its
 * flags). It reads no file or environment variable, does not sign anything itself (the
 * `@x402/evm` exact client does), does not retry a failed payment, does not choose among several
 * payment options beyond dropping those over the limit (the client's default selector picks the
 * first remaining), and keeps no state between runs.
 *
 * @since 0.1.0
 */
import { Redacted, Result } from "effect"
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
 * One request to pay for.
 *
 * @category models
 */
export interface Request {
  readonly url: URL
  readonly method: string
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>
  readonly data?: string
  /**
   * The spending limit: a plain decimal in whole units of the asset, checked against the asset's
   * decimals once the 402 names it.
   */
  readonly max?: string
}

/**
 * Who pays, and the chain's RPC URL (to read the asset's decimals and symbol).
 *
 * @category models
 */
export interface Settings {
  readonly signer: Signer.Signer
  readonly rpcUrl: string
  /** Where each setting came from (e.g. "the environment" or a file's path), for the progress lines. */
  readonly sources: { readonly key: string; readonly rpcUrl: string }
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
 * (within `max` when given), and reports progress lines on the way.
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
