import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import * as Facilitator from "@obol/x402/Facilitator"

/** A facilitator double on loopback; `handle` decides each answer. */
const server = (handle: (req: IncomingMessage, body: string, res: ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ url: string; close: () => Promise<void> }>((resolve) => {
          const s = createServer((req, res) => {
            let body = ""
            req.on("data", (c: Buffer) => (body += c.toString()))
            req.on("end", () => handle(req, body, res))
          })
          s.listen(0, "127.0.0.1", () =>
            resolve({
              url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
              close: () => new Promise((r) => (s.closeAllConnections(), s.close(() => r())))
            })
          )
        })
    ),
    (s) => Effect.promise(s.close)
  )

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}

const request: Facilitator.Request = {
  x402Version: 2,
  paymentPayload: { x402Version: 2 },
  paymentRequirements: { scheme: "exact" }
}

const use = <A, E>(
  url: string,
  f: (facilitator: Facilitator.Shape) => Effect.Effect<A, E>,
  timeout: Duration.Input = "10 seconds"
) =>
  Facilitator.Facilitator.use(f).pipe(
    Effect.provide(Facilitator.layer({ url, timeout }).pipe(Layer.provide(FetchHttpClient.layer)))
  )

describe("Facilitator", () => {
  it.live("verifies and settles over HTTP, passing the request through", () =>
    Effect.gen(function* () {
      const seen: Array<string> = []
      const { url } = yield* server((req, body, res) => {
        seen.push(`${req.method} ${req.url} ${body}`)
        if (req.url === "/verify") json(res, 200, { isValid: true, payer: "0xabc" })
        else json(res, 200, { success: true, transaction: "0xtx", network: "eip155:84532", payer: "0xabc" })
      })
      expect(yield* use(url, (f) => f.verify(request))).toEqual({ isValid: true, payer: "0xabc" })
      expect((yield* use(url, (f) => f.settle(request))).transaction).toBe("0xtx")
      expect(seen[0]).toBe(`POST /verify ${JSON.stringify(request)}`)
    })
  )

  it.live("returns a refusal as a value, not an error", () =>
    Effect.gen(function* () {
      const { url } = yield* server((_req, _body, res) =>
        json(res, 200, { isValid: false, invalidReason: "invalid_exact_evm_nonce_already_used" })
      )
      expect((yield* use(url, (f) => f.verify(request))).invalidReason).toBe("invalid_exact_evm_nonce_already_used")
    })
  )

  it.live("reports a 5xx or an unreachable facilitator as Unavailable, and garbage as BadResponse", () =>
    Effect.gen(function* () {
      const { url } = yield* server((req, _body, res) =>
        req.url === "/verify" ? json(res, 502, {}) : res.end("not json")
      )
      expect((yield* Effect.flip(use(url, (f) => f.verify(request)))).reason).toBe("Unavailable")
      expect((yield* Effect.flip(use(url, (f) => f.settle(request)))).reason).toBe("BadResponse")
      expect((yield* Effect.flip(use("http://127.0.0.1:9", (f) => f.verify(request)))).reason).toBe("Unavailable")
    })
  )

  it.effect("gives up on a facilitator that does not answer, on the test clock", () =>
    Effect.gen(function* () {
      const { url } = yield* server(() => {})
      const fiber = yield* use(url, (f) => f.verify(request), "2 seconds").pipe(Effect.flip, Effect.forkChild)
      yield* TestClock.adjust("2 seconds")
      expect((yield* Fiber.join(fiber)).reason).toBe("Timeout")
    })
  )

  it.effect("caches /supported for its time to live", () =>
    Effect.gen(function* () {
      let hits = 0
      const { url } = yield* server((_req, _body, res) => {
        hits++
        json(res, 200, { kinds: [{ x402Version: 2, scheme: "exact", network: "eip155:84532" }] })
      })
      yield* Facilitator.Facilitator.use((f) =>
        Effect.gen(function* () {
          yield* f.supported
          yield* f.supported
          expect(hits).toBe(1)
          yield* TestClock.adjust("6 minutes")
          expect((yield* f.supported).kinds[0]?.network).toBe("eip155:84532")
          expect(hits).toBe(2)
        })
      ).pipe(Effect.provide(Facilitator.layer({ url }).pipe(Layer.provide(FetchHttpClient.layer))))
    })
  )

  it("allows plain http only on loopback", () => {
    expect(Facilitator.checkUrl("https://x402.example")).toBeUndefined()
    expect(Facilitator.checkUrl("http://127.0.0.1:4021")).toBeUndefined()
    expect(Facilitator.checkUrl("http://localhost:4021")).toBeUndefined()
    expect(Facilitator.checkUrl("http://facilitator.x402.svc:4021")).toBe(
      "facilitator URL http://facilitator.x402.svc:4021 must use https (plain http is allowed on loopback only)"
    )
  })
})
