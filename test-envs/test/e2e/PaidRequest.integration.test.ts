/**
 * End to end, the way a seller and a buyer meet it: the whole Stack (real controller, verifier
 * and registrar processes, Traefik as the Gateway, anvil with the local facilitator, the demo
 * upstream), confined to this file's namespace of the shared control plane.
 *
 * `kubectl apply` of an offer → the verifier admits its price → the controller publishes the
 * HTTPRoute → Traefik's own status makes RoutePublished True and `kubectl wait` returns → an unpaid
 * request through Traefik is 402 with requirements the official client accepts → the official
 * client pays → 200 with the upstream's answer and the receipt, the seller's balance up by exactly
 * the price → the upstream (behind the verifier: the offer takes the default pay-on-success) saw
 * the verifier's payment headers and none the buyer forged, nor the raw payment → a
 * replayed payment is refused → a price edit is charged at the new price only once re-admitted,
 * never free → pause stops the 200s → the registration is Confirmed, and tombstoned on delete,
 * which leaves no children.
 */
import type { PaymentRequired } from "@x402/core/types"
import { parseAbi, type Address } from "viem"
import { stringify } from "yaml"
import { describe, expect, it } from "vitest"
import * as Chain from "../../src/chain/Chain.ts"
import * as Buyers from "../../src/vitest/Buyers.ts"
import { useStack } from "../../src/vitest/Stacks.ts"
import { eventually, kubectl, request, useNamespace } from "../../src/vitest/TestCluster.ts"

const namespace = useNamespace("e2e")
const stack = useStack(namespace)

const offer = (name: string, price: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "ServiceOffer",
  metadata: { name, namespace: namespace() },
  spec: {
    upstream: { service: "echo", port: stack().upstream.port, healthPath: "/health" },
    payment: { network: "base-sepolia", payTo: stack().chain.seller, price: { perRequest: price } },
    ...extra
  }
})

const kubectlApply = async (manifest: unknown) => {
  const res = await kubectl(["apply", "-f", "-"], stringify(manifest))
  expect(res.code, res.stderr).toBe(0)
}

const balance = (address: Address) => Chain.balanceOf(stack().chain, address)

const buyer = () => Buyers.officialClient(stack())

const obol = (plural: string, name: string) => `/apis/obol.org/v1alpha1/namespaces/${namespace()}/${plural}/${name}`

const conditionsOf = async (name: string): Promise<Record<string, string>> =>
  Object.fromEntries(
    ((await request("GET", obol("serviceoffers", name))).json?.status?.conditions ?? []).map(
      (c: { type: string; status: string; reason: string }) => [c.type, `${c.status}/${c.reason}`]
    )
  )

const tokenURI = (agentId: bigint) =>
  stack().chain.client.readContract({
    address: stack().chain.registry,
    abi: parseAbi(["function tokenURI(uint256 tokenId) view returns (string)"]),
    functionName: "tokenURI",
    args: [agentId]
  })

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${stack().gatewayUrl}${path}`, { headers, signal: AbortSignal.timeout(30_000) })

/** The 402's requirements, parsed by the official client. */
const required = async (path: string): Promise<PaymentRequired> => {
  const res = await get(path)
  expect(res.status).toBe(402)
  return buyer().getPaymentRequiredResponse((name) => res.headers.get(name), await res.json())
}

describe("a paid request through the whole stack", () => {
  it("publishes an offer applied with kubectl and reports Ready through kubectl wait", async () => {
    await kubectlApply(offer("weather", "0.01"))
    const waited = await kubectl([
      "wait",
      "--for=condition=Ready",
      `--namespace=${namespace()}`,
      "serviceoffer/weather",
      "--timeout=120s"
    ])
    expect(waited.code, waited.stderr).toBe(0)
    expect(await conditionsOf("weather")).toMatchObject({
      UpstreamHealthy: "True/Healthy",
      PaymentGateReady: "True/Admitted",
      RoutePublished: "True/Accepted",
      Ready: "True/Ready"
    })
  }, 180_000)

  it("shows a browser a paywall page through Traefik, with the same PAYMENT-REQUIRED header", async () => {
    // Traefik serves the route a moment after the offer is Ready (its reload throttle).
    const res = await eventually("the paywall through Traefik", async () => {
      const answer = await fetch(`${stack().gatewayUrl}/services/weather/today`, {
        headers: { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" },
        signal: AbortSignal.timeout(30_000)
      })
      return answer.status === 402 ? answer : undefined
    })
    expect(res.headers.get("content-type")).toMatch(/^text\/html/u)
    expect(res.headers.get("PAYMENT-REQUIRED")).not.toBeNull()
    const page = await res.text()
    expect(page).toContain("<h1>Payment required</h1>")
    expect(page).toContain("0.01 USDC per request")
    expect(page).not.toMatch(/https?:\/\/127\.0\.0\.1:\d+\/(verify|settle)/u)
  }, 60_000)

  it("answers an unpaid request with 402 that the official client accepts, and a paid one with the upstream's answer", async () => {
    const requirements = await eventually("the 402 through Traefik", async () => {
      const res = await get("/services/weather/today")
      return res.status === 402 ? res : undefined
    })
    const http402 = buyer()
    const paymentRequired = http402.getPaymentRequiredResponse(
      (name) => requirements.headers.get(name),
      await requirements.json()
    )
    expect(paymentRequired.accepts[0]).toMatchObject({
      scheme: "exact",
      network: stack().chain.network,
      amount: "10000",
      payTo: stack().chain.seller,
      asset: stack().chain.usdc
    })
    const before = await balance(stack().chain.seller)
    const signature = http402.encodePaymentSignatureHeader(await http402.createPaymentPayload(paymentRequired))
    const forged = { "X-Payment-Status": "settled", "X-Payment-Tx": "0xforged", "PAYMENT-RESPONSE": "forged" }
    const paid = await get("/services/weather/today", { ...signature, ...forged })
    expect(paid.status).toBe(200)
    const echoed = (await paid.json()) as { service: string; path: string; headers: Record<string, string> }
    expect(echoed.service).toBe("echo")
    expect(echoed.path).toBe("/today")
    expect((await balance(stack().chain.seller)) - before).toBe(10_000n)
    // The buyer has the receipt; the upstream saw what the verifier set (verified, by whom; not
    // settled yet when it was asked), never the buyer's forgeries or payment.
    const receipt = http402.getPaymentSettleResponse((name) => paid.headers.get(name))
    expect([receipt.success, receipt.transaction]).toEqual([true, expect.stringMatching(/^0x[0-9a-f]{64}$/u)])
    expect(echoed.headers["x-payment-status"]).toBe("verified")
    expect(echoed.headers["x-payment-payer"]?.toLowerCase()).toBe(stack().chain.payer.address.toLowerCase())
    expect(echoed.headers["x-payment-tx"]).toBeUndefined()
    expect(echoed.headers["payment-response"]).toBeUndefined()
    expect(echoed.headers["payment-signature"]).toBeUndefined()
    expect(echoed.headers["x-payment"]).toBeUndefined()

    const replay = await get("/services/weather/today", signature)
    expect(replay.status).toBe(402)
    expect((await balance(stack().chain.seller)) - before).toBe(10_000n)
  }, 120_000)

  it("charges a price edit at the new price only once re-admitted, never free", async () => {
    await kubectlApply(offer("weather", "0.02"))
    const seen = new Set<string>()
    await eventually("the new price through Traefik", async () => {
      const res = await get("/services/weather/today")
      seen.add(
        res.status === 402
          ? `402 ${(await required("/services/weather/today")).accepts[0]?.amount}`
          : String(res.status)
      )
      return seen.has("402 20000") ? true : undefined
    })
    expect([...seen].filter((s) => s !== "402 10000" && s !== "402 20000")).toEqual([])
  }, 120_000)

  it("stops the 200s while paused: a payment made for the last price reaches nothing and costs nothing", async () => {
    const http402 = buyer()
    const last = await required("/services/weather/today")
    await kubectlApply(offer("weather", "0.02", { paused: true }))
    await eventually("the route withdrawn", async () =>
      (await get("/services/weather/today")).status === 404 ? true : undefined
    )
    const before = await balance(stack().chain.seller)
    const signature = http402.encodePaymentSignatureHeader(await http402.createPaymentPayload(last))
    expect((await get("/services/weather/today", signature)).status).toBe(404)
    expect(await balance(stack().chain.seller)).toBe(before)
  }, 120_000)

  it("registers an offer on chain once it serves, and on delete tombstones it and leaves no children", async () => {
    await kubectlApply(
      offer("agent", "0.001", { registration: { enabled: true, name: "Weather agent", description: "Forecasts" } })
    )
    const registration = await eventually(
      "the registration Confirmed",
      async () => {
        const status = (await request("GET", obol("registrationrequests", "agent-registration"))).json?.status
        return status?.phase === "Confirmed" ? status : undefined
      },
      120_000
    )
    const agentId = BigInt(registration.agentId)
    expect(await tokenURI(agentId)).toBe(
      `${stack().gatewayUrl}/.well-known/agent-registration.json?offer=${namespace()}/agent`
    )
    await eventually("Registered on the offer", async () =>
      (await conditionsOf("agent"))["Registered"] === "True/Confirmed" ? true : undefined
    )
    expect(await conditionsOf("agent")).toMatchObject({ Registered: "True/Confirmed", Ready: "True/Ready" })

    const deleted = await kubectl(["delete", `--namespace=${namespace()}`, "serviceoffer/agent", "--timeout=120s"])
    expect(deleted.code, deleted.stderr).toBe(0)
    const tomb = await tokenURI(agentId)
    expect(tomb).toMatch(/^data:application\/json;base64,/u)
    expect(JSON.parse(Buffer.from(tomb.split(",")[1]!, "base64").toString("utf8"))).toMatchObject({ active: false })
    const children = [
      obol("paymentroutes", "agent-payment"),
      obol("registrationrequests", "agent-registration"),
      `/apis/gateway.networking.k8s.io/v1/namespaces/${namespace()}/httproutes/so-agent`,
      `/apis/traefik.io/v1alpha1/namespaces/${namespace()}/middlewares/x402-agent`
    ]
    await eventually("every child gone", async () => {
      const left = []
      for (const path of children) if ((await request("GET", path)).status !== 404) left.push(path)
      return left.length === 0 ? true : undefined
    })
  }, 240_000)
})
