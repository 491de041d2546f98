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
})
