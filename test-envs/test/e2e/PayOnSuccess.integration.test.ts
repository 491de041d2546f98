/**
 * Pay on success through the whole stack (issue 16, docs/adr/0010-pay-on-success.md): an offer
 * with `settlement: onSuccess` is published with the verifier's Service as its HTTPRoute backend;
 * through real Traefik and with the official x402 client, a paid 200 carries a PAYMENT-RESPONSE
 * the client decodes and moves exactly the price; a paid request the upstream answers 404 or 500
 * moves nothing; a streamed answer (server-sent events) arrives as it is sent and is charged once;
 * a LiteLLM-like upstream gets the seller's key from a Secret that names the offer (and nothing
 * else does); an offer that chooses upfront is still charged through ForwardAuth.
 */
import type { PaymentRequired } from "@x402/core/types"
import type { Address } from "viem"
import { readFileSync } from "node:fs"
import { stringify } from "yaml"
import { describe, expect, it } from "vitest"
import * as Chain from "../../src/chain/Chain.ts"
import * as Buyers from "../../src/vitest/Buyers.ts"
import { useStack } from "../../src/vitest/Stacks.ts"
import { eventually, kubectl, request, useNamespace } from "../../src/vitest/TestCluster.ts"

const namespace = useNamespace("pos")
const stack = useStack(namespace)

const buyer = () => Buyers.officialClient(stack())

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

/** An offer on the demo echo at 0.001 per request; `authorization` names the LiteLLM-like key. */
const echoOffer = (
  name: string,
  options: { readonly settlement?: "onSuccess" | "upfront"; readonly authorization?: boolean } = {}
) => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "ServiceOffer",
  metadata: { name, namespace: namespace() },
  spec: {
    upstream: {
      service: "echo",
      port: stack().upstream.port,
      healthPath: "/health",
      ...(options.authorization === true
        ? { authorization: { secretKeyRef: { name: "litellm-secrets", key: "LITELLM_MASTER_KEY" } } }
        : {})
    },
    payment: {
      network: "base-sepolia",
      payTo: stack().chain.seller,
      price: { perRequest: "0.001" },
      ...(options.settlement === undefined ? {} : { settlement: options.settlement })
    }
  }
})

/** `kubectl apply` of the manifests, which must succeed. */
const apply = async (...manifests: ReadonlyArray<unknown>) => {
  const applied = await kubectl(["apply", "-f", "-"], manifests.map((m) => stringify(m)).join("---\n"))
  expect(applied.code, applied.stderr).toBe(0)
}

/** `kubectl wait` until the offer is Ready, which must succeed. */
const waitReady = async (name: string) => {
  const waited = await kubectl([
    "wait",
    "--for=condition=Ready",
    `--namespace=${namespace()}`,
    `serviceoffer/${name}`,
    "--timeout=120s"
  ])
  expect(waited.code, waited.stderr).toBe(0)
}

describe("pay on success through the whole stack", () => {
  it("publishes the offer with the verifier as its backend and reports it Ready", async () => {
    await apply(echoOffer("pos", { settlement: "onSuccess" }))
    await waitReady("pos")
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

  it("sells a LiteLLM-like upstream with the seller's key from a Secret: refused until the Secret exists, 200 with it, the key in no object or log", async () => {
    const masterKey = stack().upstream.masterKey
    // The key's Secret does not exist yet: the offer says so and serves nothing (never free, never charged).
    await apply(echoOffer("llm", { authorization: true }), echoOffer("nokey"))
    const missing = await eventually("UpstreamSecretMissing on the offer", async () => {
      const conditions: Array<{ type: string; reason: string; message: string }> =
        (await request("GET", `/apis/obol.org/v1alpha1/namespaces/${namespace()}/serviceoffers/llm`)).json?.status
          ?.conditions ?? []
      return conditions.find((c) => c.type === "PaymentGateReady" && c.reason === "UpstreamSecretMissing")
    })
    expect(missing.message).toContain(`Secret ${namespace()}/litellm-secrets does not exist`)
    expect((await get("/services/llm/v1/models")).status).not.toBe(200)

    // The Secret, not yet naming the offer: another offer cannot borrow a key, so neither can this one.
    const secret = await request("POST", `/api/v1/namespaces/${namespace()}/secrets`, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "litellm-secrets" },
      data: { LITELLM_MASTER_KEY: Buffer.from(masterKey).toString("base64") }
    })
    expect(secret.status, secret.body).toBe(201)
    await eventually("the offer to say the Secret does not allow it", async () => {
      const conditions: Array<{ type: string; message: string }> =
        (await request("GET", `/apis/obol.org/v1alpha1/namespaces/${namespace()}/serviceoffers/llm`)).json?.status
          ?.conditions ?? []
      return conditions.find((c) => c.type === "PaymentGateReady")?.message.includes("does not allow offer llm")
        ? true
        : undefined
    })
    const annotated = await kubectl([
      "annotate",
      "secret",
      "litellm-secrets",
      `--namespace=${namespace()}`,
      "obol.org/upstream-auth-offers=llm"
    ])
    expect(annotated.code, annotated.stderr).toBe(0)
    await waitReady("llm")

    const seller = await balance(stack().chain.seller)
    const models = await get("/services/llm/v1/models", {
      ...(await pay("/services/llm/v1/models")),
      Authorization: "Bearer a-buyers-guess"
    })
    expect(models.status).toBe(200)
    expect(await models.json()).toEqual({ object: "list", data: [{ id: "echo-1", object: "model", owned_by: "echo" }] })
    expect((await balance(stack().chain.seller)) - seller).toBe(1000n)

    // The same upstream without the key answers 401, as LiteLLM does: passed through, not charged.
    await waitReady("nokey")
    const refused = await get("/services/nokey/v1/models", await pay("/services/nokey/v1/models"))
    expect(refused.status).toBe(401)
    expect((await balance(stack().chain.seller)) - seller).toBe(1000n)

    // Nowhere the test can read holds the key but the Secret itself.
    const leaks: Array<string> = []
    for (const path of [
      `/apis/obol.org/v1alpha1/namespaces/${namespace()}/serviceoffers`,
      `/apis/obol.org/v1alpha1/namespaces/${namespace()}/paymentroutes`,
      `/apis/gateway.networking.k8s.io/v1/namespaces/${namespace()}/httproutes`,
      `/api/v1/namespaces/${namespace()}/configmaps`,
      `/api/v1/namespaces/${namespace()}/events`,
      `/apis/events.k8s.io/v1/namespaces/${namespace()}/events`
    ]) {
      if ((await request("GET", path)).body.includes(masterKey)) leaks.push(path)
    }
    for (const [name, file] of Object.entries(stack().logs)) {
      if (readFileSync(file, "utf8").includes(masterKey)) leaks.push(`${name} log`)
    }
    expect(leaks).toEqual([])
  }, 240_000)

  it("still charges upfront through Traefik ForwardAuth for an offer that asks for it, failed answers included", async () => {
    await apply(echoOffer("upfront", { settlement: "upfront" }))
    await waitReady("upfront")
    const middleware = await request(
      "GET",
      `/apis/traefik.io/v1alpha1/namespaces/${namespace()}/middlewares/x402-upfront`
    )
    expect(middleware.status).toBe(200)

    const before = await balance(stack().chain.seller)
    const paid = await get("/services/upfront/today", await pay("/services/upfront/today"))
    expect(paid.status).toBe(200)
    const echoed = (await paid.json()) as { headers: Record<string, string> }
    // ForwardAuth settled before the upstream ran: the upstream saw the receipt.
    expect(echoed.headers["x-payment-status"]).toBe("settled")
    expect((await balance(stack().chain.seller)) - before).toBe(1000n)
    // The trade-off the offer chose: a failed answer is charged too.
    const failed = await get("/services/upfront/status/500", await pay("/services/upfront/status/500"))
    expect(failed.status).toBe(500)
    expect((await balance(stack().chain.seller)) - before).toBe(2000n)
  }, 180_000)
})
