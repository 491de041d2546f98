/**
 * Pay on success through the whole stack (issue 16, docs/adr/0010-pay-on-success.md): an offer
 * with `settlement: onSuccess` is published with the verifier's Service as its HTTPRoute backend;
 * through real Traefik and with the official x402 client, a paid 200 carries a PAYMENT-RESPONSE
 * the client decodes and moves exactly the price; a paid request the upstream answers 404 or 500
 * moves nothing; a streamed answer (server-sent events) arrives as it is sent and is charged once.
 */
import { x402Client, x402HTTPClient } from "@x402/core/client"
import type { PaymentRequired } from "@x402/core/types"
import { toClientEvmSigner } from "@x402/evm"
import { registerExactEvmScheme } from "@x402/evm/exact/client"
import type { Address } from "viem"
import { privateKeyToAccount } from "viem/accounts"
import { stringify } from "yaml"
import { describe, expect, it } from "vitest"
import * as Chain from "../../src/chain/Chain.ts"
import { useStack } from "../../src/vitest/Stacks.ts"
import { eventually, kubectl, request, useNamespace } from "../../src/vitest/TestCluster.ts"

const namespace = useNamespace("pos")
const stack = useStack(namespace)

const buyer = () => {
  const client = new x402Client().setSpendControls(false)
  registerExactEvmScheme(client, {
    signer: toClientEvmSigner(privateKeyToAccount(stack().chain.payer.privateKey), stack().chain.client as never)
  })
  return new x402HTTPClient(client)
}

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${stack().gatewayUrl}${path}`, { headers, signal: AbortSignal.timeout(30_000) })

const balance = (address: Address) => Chain.balanceOf(stack().chain, address)

/** The 402 for `path`, parsed by the official client. */
const required = async (path: string): Promise<PaymentRequired> => {
  const res = await eventually(`the 402 for ${path}`, async () => {
    const answer = await get(path)
    return answer.status === 402 ? answer : undefined
  })
  return buyer().getPaymentRequiredResponse((name) => res.headers.get(name), await res.json())
}

/** A payment for `path`, signed by the official client, as request headers. */
const pay = async (path: string) => {
  const client = buyer()
  return client.encodePaymentSignatureHeader(await client.createPaymentPayload(await required(path)))
}

describe("pay on success through the whole stack", () => {
  it("publishes the offer with the verifier as its backend and reports it Ready", async () => {
    const offer = {
      apiVersion: "obol.org/v1alpha1",
      kind: "ServiceOffer",
      metadata: { name: "pos", namespace: namespace() },
      spec: {
        upstream: { service: "echo", port: stack().upstream.port, healthPath: "/health" },
        payment: {
          network: "base-sepolia",
          payTo: stack().chain.seller,
          price: { perRequest: "0.001" },
          settlement: "onSuccess"
        }
      }
    }
    const applied = await kubectl(["apply", "-f", "-"], stringify(offer))
    expect(applied.code, applied.stderr).toBe(0)
    const waited = await kubectl([
      "wait",
      "--for=condition=Ready",
      `--namespace=${namespace()}`,
      "serviceoffer/pos",
      "--timeout=120s"
    ])
    expect(waited.code, waited.stderr).toBe(0)
    const route = await request("GET", `/apis/gateway.networking.k8s.io/v1/namespaces/${namespace()}/httproutes/so-pos`)
    expect(route.json.spec.rules[0].backendRefs[0]).toMatchObject({ name: "x402-verifier" })
    const middleware = await request("GET", `/apis/traefik.io/v1alpha1/namespaces/${namespace()}/middlewares/x402-pos`)
    expect(middleware.status).toBe(404)
  }, 180_000)

  it("charges a 2xx once and returns the receipt to the buyer; the upstream never sees the payment", async () => {
    const before = await balance(stack().chain.seller)
    const payer = await balance(stack().chain.payer.address)
    const paid = await get("/services/pos/today?x=1", await pay("/services/pos/today?x=1"))
    expect(paid.status).toBe(200)
    const receipt = buyer().getPaymentSettleResponse((name) => paid.headers.get(name))
    expect(receipt.success).toBe(true)
    expect(receipt.transaction).toMatch(/^0x[0-9a-f]{64}$/u)
    const echoed = (await paid.json()) as { path: string; headers: Record<string, string> }
    expect(echoed.path).toBe("/today?x=1")
    expect(echoed.headers["payment-signature"]).toBeUndefined()
    expect((await balance(stack().chain.seller)) - before).toBe(1000n)
    expect(payer - (await balance(stack().chain.payer.address))).toBe(1000n)
  }, 120_000)

  it.each([404, 500])(
    "passes a paid request's upstream %s through and charges nothing",
    async (status) => {
      const path = `/services/pos/status/${status}`
      const seller = await balance(stack().chain.seller)
      const payer = await balance(stack().chain.payer.address)
      const answer = await get(path, await pay(path))
      expect(answer.status).toBe(status)
      expect(answer.headers.get("PAYMENT-RESPONSE")).toBeNull()
      expect(await balance(stack().chain.seller)).toBe(seller)
      expect(await balance(stack().chain.payer.address)).toBe(payer)
    },
    120_000
  )

  it("streams server-sent events as they come, and charges them once", async () => {
    const path = "/services/pos/events?count=5&interval=400"
    const before = await balance(stack().chain.seller)
    const answer = await get(path, await pay(path))
    expect(answer.status).toBe(200)
    expect(answer.headers.get("PAYMENT-RESPONSE")).not.toBeNull()
    const reader = answer.body!.getReader()
    const decoder = new TextDecoder()
    const received: Array<{ readonly event: number; readonly sentAt: number; readonly receivedAt: number }> = []
    let buffer = ""
    for (;;) {
      const chunk = await reader.read()
      if (chunk.done) break
      buffer += decoder.decode(chunk.value, { stream: true })
      for (const match of buffer.matchAll(/data: (\{[^\n]*\})\n\n/gu)) {
        const data = JSON.parse(match[1]!) as { event: number; at: number }
        received.push({ event: data.event, sentAt: data.at, receivedAt: Date.now() })
      }
      buffer = buffer.replace(/[\s\S]*\n\n/u, "")
    }
    expect(received.map((r) => r.event)).toEqual([1, 2, 3, 4, 5])
    // The first event reached the buyer before the upstream had even sent the last one.
    expect(received[0]!.receivedAt).toBeLessThan(received[4]!.sentAt)
    expect((await balance(stack().chain.seller)) - before).toBe(1000n)
  }, 120_000)
})
