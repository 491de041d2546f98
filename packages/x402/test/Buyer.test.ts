/**
 * The buyer's pure parts: the spending limit in integer atomic units, the receipt and the report.
 * Paying for real, through the verifier, is `packages/x402-verifier/test/Buyer.integration.test.ts`;
 * `npm run pay`'s command line and settings are tested in `test-envs/test/cli/`.
 */
import { encodePaymentResponseHeader } from "@x402/core/http"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import * as Buyer from "../src/Buyer.ts"

const address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
const usdc: Buyer.Asset = { _tag: "Known", decimals: 6, symbol: "USDC" }

describe("money", () => {
  it("reads the amount of a v2 or a v1 option", () => {
    expect(Buyer.amountOf({ amount: "10000" } as never)).toBe("10000")
    expect(Buyer.amountOf({ maxAmountRequired: "20000" } as never)).toBe("20000")
  })

  it("knows the chain id of CAIP-2 and v1 network names", () => {
    expect(Buyer.chainIdOf("eip155:84532")).toBe(84532)
    expect(Buyer.chainIdOf("base-sepolia")).toBe(84532)
    expect(Buyer.chainIdOf("base")).toBe(8453)
    expect(Buyer.chainIdOf("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp")).toBeUndefined()
    expect(Buyer.chainIdOf("toString")).toBeUndefined()
  })

  it("describes an amount in the asset's units and in atomic units", () => {
    expect(Buyer.describeAmount("10000", usdc)).toBe("0.01 USDC (10000 atomic units)")
    expect(Buyer.describeAmount("1000000", usdc)).toBe("1 USDC (1000000 atomic units)")
    expect(Buyer.describeAmount("10000", { _tag: "Unknown", reason: "no RPC" })).toBe(
      "10000 atomic units (decimals unknown: no RPC)"
    )
    expect(Buyer.describeAmount("1.5", usdc)).toBe('"1.5" (not a whole number of atomic units)')
  })

  it("pays up to and including --max, with integer math in the asset's decimals", () => {
    expect(Buyer.checkLimit("10000", "0.01", usdc)).toEqual(Result.succeed({ amount: 10_000n, limit: 10_000n }))
    expect(Buyer.checkLimit("10000", "0.010000", usdc)).toEqual(Result.succeed({ amount: 10_000n, limit: 10_000n }))
    expect(Buyer.checkLimit("0", "0", usdc)).toEqual(Result.succeed({ amount: 0n, limit: 0n }))
    // 18 decimals, beyond a double's exact range: 0.1 + 0.2 must not drift.
    const eth: Buyer.Asset = { _tag: "Known", decimals: 18, symbol: "WETH" }
    expect(Buyer.checkLimit("300000000000000000", "0.3", eth)).toEqual(
      Result.succeed({ amount: 300_000_000_000_000_000n, limit: 300_000_000_000_000_000n })
    )
    expect(Result.isFailure(Buyer.checkLimit("300000000000000001", "0.3", eth))).toBe(true)
  })

  it("refuses above --max, and when the limit cannot be checked", () => {
    expect(Buyer.checkLimit("10000", "0.005", usdc)).toEqual(
      Result.fail("the price 0.01 USDC (10000 atomic units) is above --max 0.005 USDC (5000 atomic units)")
    )
    expect(Buyer.checkLimit("10001", "0.01", usdc)).toEqual(
      Result.fail("the price 0.010001 USDC (10001 atomic units) is above --max 0.01 USDC (10000 atomic units)")
    )
    expect(Buyer.checkLimit("1", "0", usdc)).toMatchObject({ _tag: "Failure" })
    expect(Buyer.checkLimit("10000", "0.0000001", usdc)).toEqual(
      Result.fail('--max "0.0000001" has 7 decimal places, but the token has only 6')
    )
    expect(Buyer.checkLimit("10000", "1", { _tag: "Unknown", reason: "RPC_URL serves chain 1" })).toEqual(
      Result.fail("--max 1 cannot be checked: the asset's decimals are unknown (RPC_URL serves chain 1)")
    )
    for (const amount of ["", "1.5", "-1", "1e6", "0x10", "010"]) {
      expect(Buyer.checkLimit(amount, "100", usdc), amount).toMatchObject({ _tag: "Failure" })
    }
  })
})

describe("receipt and report", () => {
  const settle = { success: true, transaction: "0xabc", network: "eip155:84532", payer: address } as const
  const headers = (entries: Record<string, string>) => (name: string) => new Headers(entries).get(name)

  it("decodes PAYMENT-RESPONSE, else X-PAYMENT-RESPONSE, with @x402/core's decoder", () => {
    const encoded = encodePaymentResponseHeader(settle)
    expect(Buyer.receiptOf(headers({ "payment-response": encoded }))).toEqual({
      _tag: "Decoded",
      header: "PAYMENT-RESPONSE",
      settle
    })
    expect(Buyer.receiptOf(headers({ "X-PAYMENT-RESPONSE": encoded }))).toMatchObject({
      _tag: "Decoded",
      header: "X-PAYMENT-RESPONSE"
    })
    expect(Buyer.receiptOf(headers({ "PAYMENT-RESPONSE": "%%%" }))).toMatchObject({
      _tag: "Undecodable",
      header: "PAYMENT-RESPONSE"
    })
    expect(Buyer.receiptOf(headers({}))).toEqual({ _tag: "Missing" })
  })

  const answered = (over: Partial<Extract<Buyer.Outcome, { _tag: "Answered" }>> = {}): Buyer.Outcome => ({
    _tag: "Answered",
    status: 200,
    statusText: "OK",
    body: '{"ok":true}',
    receipt: { _tag: "Decoded", header: "PAYMENT-RESPONSE", settle },
    asked: true,
    paid: true,
    ...over
  })

  it("prints the status, the body and the receipt, and exits 0 on a 2xx", () => {
    expect(Buyer.report(answered())).toEqual({
      stdout: `HTTP 200 OK\n{"ok":true}\nreceipt (PAYMENT-RESPONSE, decoded):\n${JSON.stringify(settle, null, 2)}\n`,
      exitCode: 0
    })
  })

  it("says plainly when a paid answer has no receipt, and why that happens behind ForwardAuth", () => {
    const { stdout, exitCode } = Buyer.report(answered({ receipt: { _tag: "Missing" } }))
    expect(exitCode).toBe(0)
    expect(stdout).toContain("receipt: none. The server sent no PAYMENT-RESPONSE")
    expect(stdout).toContain("With Traefik ForwardAuth in front, the receipt currently goes to the upstream")
    expect(Buyer.report(answered({ receipt: { _tag: "Missing" }, asked: false, paid: false })).stdout).toContain(
      "receipt: none (no payment was asked for"
    )
  })

  it("exits 1 with the reason on anything but a 2xx, a refusal or a failure", () => {
    const refused = Buyer.report(
      answered({
        status: 402,
        statusText: "Payment Required",
        receipt: { _tag: "Missing" },
        reason: "invalid_exact_evm_insufficient_balance"
      })
    )
    expect(refused.exitCode).toBe(1)
    expect(refused.failure).toBe("HTTP 402 Payment Required: invalid_exact_evm_insufficient_balance")
    expect(refused.stdout).toContain("receipt: none (a payment was sent and the server did not accept it")
    expect(Buyer.report(answered({ status: 500, statusText: "Internal Server Error" })).failure).toBe(
      "HTTP 500 Internal Server Error"
    )
    expect(Buyer.report({ _tag: "Refused", reason: "above --max" })).toEqual({
      stdout: "",
      failure: "refused to pay: above --max",
      exitCode: 1
    })
    expect(Buyer.report({ _tag: "Failed", reason: "could not reach", paid: false })).toEqual({
      stdout: "",
      failure: "could not reach",
      exitCode: 1
    })
  })
})
