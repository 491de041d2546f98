import { describe, expect, it } from "@effect/vitest"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as Traffic from "../src/Traffic.ts"

describe("Traffic", () => {
  it("counts an answer cut off mid-body and keeps going, never failing its loops", async () => {
    // Answers 200 with half a body, then drops the connection: a server killed mid-answer.
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-length": "100" })
      res.write("partial")
      setImmediate(() => res.socket?.destroy())
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const { port } = server.address() as AddressInfo
    const traffic = Traffic.start({
      gatewayUrl: `http://127.0.0.1:${port}`,
      targets: () => [{ path: "/services/a/x", steady: true }],
      payer: {} as never,
      pauseMs: 1
    })
    const deadline = Date.now() + 10_000
    while (traffic.counts.requests < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    await traffic.stop()
    server.close()
    expect(traffic.counts.requests).toBeGreaterThanOrEqual(6)
    expect(traffic.counts.cut).toBe(traffic.counts.requests)
    // Served without a payment, even if cut: still an unpaid 200.
    expect(traffic.counts.unpaid200).toBe(traffic.counts.requests)
    expect(traffic.counts.paid200).toBe(0)
  })

  it("keeps every paid request not answered with a whole 200, with its payment's nonce and time in flight", async () => {
    // 402 without a payment; with one: a whole 200 for the first paid request, a 502 for the second
    // (a proxy whose backend died), then half a 200 (cut) for the rest.
    const served = { paid: 0 }
    const server = createServer((req, res) => {
      if (req.headers["payment-signature"] === undefined) {
        res.writeHead(402, { "content-type": "application/json" })
        res.end("{}")
        return
      }
      served.paid++
      if (served.paid === 1) res.end("whole")
      else if (served.paid === 2) {
        res.writeHead(502)
        res.end()
      } else {
        res.writeHead(200, { "content-length": "100" })
        res.write("partial")
        setImmediate(() => res.socket?.destroy())
      }
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const { port } = server.address() as AddressInfo
    let signed = 0
    const payer = {
      getPaymentRequiredResponse: () => ({ accepts: [{ amount: "1000" }] }),
      createPaymentPayload: async () => ({ payload: { authorization: { from: "0xpayer", nonce: `0x${++signed}` } } }),
      encodePaymentSignatureHeader: () => ({ "payment-signature": "signed" })
    }
    const traffic = Traffic.start({
      gatewayUrl: `http://127.0.0.1:${port}`,
      targets: () => [{ path: "/services/a/x", steady: true }],
      payer: payer as never,
      pauseMs: 1
    })
    const deadline = Date.now() + 10_000
    while (served.paid < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    await traffic.stop()
    server.close()
    expect(traffic.counts.paid200).toBe(1)
    expect(traffic.counts.paidAmount).toBe(1000n)
    expect(
      traffic.unanswered
        .slice(0, 2)
        .map(({ nonce, outcome, authorizer, amount }) => ({ nonce, outcome, authorizer, amount }))
    ).toEqual([
      { nonce: "0x2", outcome: 502, authorizer: "0xpayer", amount: 1000n },
      { nonce: "0x3", outcome: "cut", authorizer: "0xpayer", amount: 1000n }
    ])
    for (const attempt of traffic.unanswered) expect(attempt.endedAt).toBeGreaterThanOrEqual(attempt.sentAt)
  })
})
