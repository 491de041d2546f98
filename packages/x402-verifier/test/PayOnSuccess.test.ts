/**
 * The pay-on-success table, row by row, against a real upstream on a loopback port (node:http,
 * scripted per test) and the facilitator in memory, counting settles: charged once or not at all,
 * never twice. Time goes through the test clock (the upstream timeout); the upstream's own pauses
 * are released by the test, not by sleeping.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Fiber, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Facilitator from "@obol/x402/Facilitator"
import * as Decision from "@obol/x402-verifier/Decision"
import * as PayOnSuccess from "@obol/x402-verifier/PayOnSuccess"
import * as Payments from "./utils/Payments.ts"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage["headers"]
  aborted: boolean
}

/** An upstream on a loopback port answering with `handler`; what it saw. */
const upstream = (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.callback<{ url: URL; seen: Array<Seen>; close: () => void }>((resume) => {
      const seen: Array<Seen> = []
      const server = createServer((req, res) => {
        const entry: Seen = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, aborted: false }
        seen.push(entry)
        res.on("close", () => {
          if (!res.writableFinished) entry.aborted = true
        })
        handler(req, res)
      })
      server.listen(0, "127.0.0.1", () =>
        resume(
          Effect.succeed({
            url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
            seen,
            close: () => {
              server.closeAllConnections()
              server.close()
            }
          })
        )
      )
    }),
    (u) => Effect.sync(() => u.close())
  )

const facilitator = Payments.countingFacilitator

/** Checks the payment locally as the verifier does, then forwards it to `to`. */
const forward = (
  to: URL,
  headers: Record<string, string> = {},
  init: RequestInit = {},
  extra: Partial<PayOnSuccess.Target> = {}
) =>
  Effect.gen(function* () {
    const all = { "PAYMENT-SIGNATURE": Payments.signature(), "X-Forwarded-Proto": "https", ...headers }
    const local = Decision.local({
      route: Option.some(Payments.route),
      headers: lower(all),
      resource: { url: "https://seller.example/services/weather/today" }
    })
    if (local._tag !== "Settle") throw new Error("the test payment should pass the local checks")
    const request = HttpServerRequest.fromWeb(
      new Request("http://verifier.local/services/weather/today?x=1", { headers: all, ...init })
    )
    return yield* PayOnSuccess.forward(request, {
      checked: local,
      upstream: to,
      path: "/today?x=1",
      timeout: "300 seconds" as never,
      ...extra
    })
  })

const lower = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]))

const body = (response: HttpServerResponse.HttpServerResponse) =>
  Effect.promise(() => HttpServerResponse.toWeb(response).text())

const world = (f: ReturnType<typeof facilitator>) =>
  Layer.mergeAll(f.layer, NodeHttpClient.layerUndici, PayOnSuccess.InFlight.layer)

describe("PayOnSuccess", () => {
  it.effect(
    "a 2xx is settled once, on the status line, and arrives with its receipt; the upstream never sees the payment",
    () => {
      const f = facilitator()
      return Effect.gen(function* () {
        const u = yield* upstream((_req, res) => {
          res.writeHead(200, { "content-type": "application/json", connection: "close", "x-upstream": "1" })
          res.end('{"forecast":"sun"}')
        })
        const { outcome, response } = yield* forward(u.url, { "X-Custom": "kept" })
        expect(outcome).toBe("Settled")
        expect(response.status).toBe(200)
        const web = HttpServerResponse.toWeb(response)
        expect(web.headers.get("PAYMENT-RESPONSE")).not.toBeNull()
        expect(web.headers.get("x-upstream")).toBe("1")
        expect(web.headers.get("connection")).toBeNull()
        expect(yield* Effect.promise(() => web.text())).toBe('{"forecast":"sun"}')
        expect(f.calls).toEqual({ verify: 1, settle: 1 })
        expect(u.seen[0]).toMatchObject({ method: "GET", url: "/today?x=1" })
        expect(u.seen[0]!.headers["payment-signature"]).toBeUndefined()
        expect(u.seen[0]!.headers["x-custom"]).toBe("kept")
        expect(u.seen[0]!.headers["x-forwarded-proto"]).toBe("https")
      }).pipe(Effect.scoped, Effect.provide(world(f)))
    }
  )

  it.effect.each([404, 500, 401])("an upstream %s passes through and is never settled", (status) => {
    const f = facilitator()
    return Effect.gen(function* () {
      const u = yield* upstream((_req, res) => {
        res.writeHead(status, { "content-type": "text/plain" })
        res.end(`upstream says ${status}`)
      })
      const { outcome, response } = yield* forward(u.url)
      expect([outcome, response.status]).toEqual(["NotCharged", status])
      expect(yield* body(response)).toBe(`upstream says ${status}`)
      expect(f.calls.settle).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(world(f)))
  })

  it.effect("a declined settle answers 402 with the reason and withholds the body", () => {
    const f = facilitator(() => Effect.succeed({ success: false, errorReason: "insufficient_funds" }))
    return Effect.gen(function* () {
      const u = yield* upstream((_req, res) => {
        res.writeHead(200)
        res.end("the paid answer")
      })
      const { outcome, response } = yield* forward(u.url)
      expect([outcome, response.status]).toEqual(["SettleFailed", 402])
      const text = yield* body(response)
      expect(text).not.toContain("the paid answer")
      expect(text).toContain("insufficient_funds")
      expect(f.calls.settle).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(world(f)))
  })

  it.effect("a facilitator that cannot settle gives 503 (check your wallet) and withholds the body", () => {
    const f = facilitator(() =>
      Effect.fail(
        new Facilitator.FacilitatorError({ reason: "Timeout", message: "POST http://f.internal/settle: slow" })
      )
    )
    return Effect.gen(function* () {
      const u = yield* upstream((_req, res) => {
        res.writeHead(200)
        res.end("the paid answer")
      })
      const { outcome, response } = yield* forward(u.url)
      expect([outcome, response.status]).toEqual(["SettleUnavailable", 503])
      const text = yield* body(response)
      expect(text).not.toContain("the paid answer")
      expect(text).not.toContain("f.internal")
      expect(text).toContain("check your wallet")
    }).pipe(Effect.scoped, Effect.provide(world(f)))
  })

  it.effect("an upstream that cannot be reached is a 502, never settled", () => {
    const f = facilitator()
    return Effect.gen(function* () {
      const { outcome, response } = yield* forward(new URL("http://127.0.0.1:1"))
      expect([outcome, response.status]).toEqual(["Unreachable", 502])
      expect(f.calls.settle).toBe(0)
    }).pipe(Effect.provide(world(f)))
  })

  it.effect("an upstream without a status line within the offer's timeout is a 504, never settled", () => {
    const f = facilitator()
    return Effect.gen(function* () {
      const arrived = yield* Deferred.make<void>()
      const u = yield* upstream(() => Deferred.doneUnsafe(arrived, Effect.void))
      const run = yield* Effect.forkChild(forward(u.url))
      yield* Deferred.await(arrived)
      yield* TestClock.adjust("300 seconds")
      const { outcome, response } = yield* Fiber.join(run)
      expect([outcome, response.status]).toEqual(["Timeout", 504])
      expect(yield* body(response)).toContain("did not answer within 300 s; nothing was charged")
      expect(f.calls.settle).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(world(f)))
  })

  it.effect(
    "an answer still running at the request deadline is cut off there, visibly; charged once for what began",
    () => {
      const f = facilitator()
      return Effect.gen(function* () {
        const u = yield* upstream((_req, res) => {
          res.writeHead(200, { "content-type": "text/event-stream" })
          res.write("data: 1\n\n") // and never ends
        })
        const arrived = yield* Clock.currentTimeMillis
        const { outcome, response } = yield* forward(u.url, {}, {}, { deadline: arrived + 420_000 })
        expect(outcome).toBe("Settled")
        const reader = HttpServerResponse.toWeb(response, { context: yield* Effect.context<never>() }).body!.getReader()
        const first = yield* Effect.promise(() => reader.read())
        expect(new TextDecoder().decode(first.value)).toBe("data: 1\n\n")
        const rest = yield* Effect.forkChild(
          Effect.promise(() =>
            reader.read().then(
              () => "ended cleanly",
              (error: unknown) => `cut: ${String(error)}`
            )
          )
        )
        yield* TestClock.adjust("420 seconds")
        expect(yield* Fiber.join(rest)).toMatch(/^cut: /u)
        expect(f.calls).toEqual({ verify: 1, settle: 1 })
      }).pipe(Effect.scoped, Effect.provide(world(f)))
    }
  )

  it.effect("a buyer who goes away before the status line aborts the upstream request and is never charged", () => {
    const f = facilitator()
    return Effect.gen(function* () {
      const arrived = yield* Deferred.make<void>()
      const u = yield* upstream(() => Deferred.doneUnsafe(arrived, Effect.void))
      const run = yield* Effect.forkChild(forward(u.url))
      yield* Deferred.await(arrived)
      yield* Fiber.interrupt(run)
      for (let i = 0; i < 200 && !u.seen[0]!.aborted; i++)
        yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
      expect(u.seen[0]!.aborted).toBe(true)
      expect(f.calls.settle).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(world(f)))
  })

  it.effect("a concurrent duplicate of a payment in flight is refused locally, and the payment is settled once", () => {
    const f = facilitator()
    return Effect.gen(function* () {
      const arrived = yield* Deferred.make<void>()
      let answer: (() => void) | undefined
      const u = yield* upstream((_req, res) => {
        answer = () => {
          res.writeHead(200)
          res.end("once")
        }
        Deferred.doneUnsafe(arrived, Effect.void)
      })
      const first = yield* Effect.forkChild(forward(u.url))
      yield* Deferred.await(arrived)
      const second = yield* forward(u.url)
      expect([second.outcome, second.response.status]).toEqual(["Duplicate", 402])
      answer!()
      const done = yield* Fiber.join(first)
      expect(done.outcome).toBe("Settled")
      expect(yield* body(done.response)).toBe("once")
      expect(u.seen).toHaveLength(1)
      expect(f.calls.settle).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(world(f)))
  })

  it.effect(
    "a streamed answer reaches the buyer as it comes: the first event before the upstream sends the last",
    () => {
      const f = facilitator()
      return Effect.gen(function* () {
        let finish: (() => void) | undefined
        const u = yield* upstream((_req, res) => {
          res.writeHead(200, { "content-type": "text/event-stream" })
          res.write("data: first\n\n")
          finish = () => res.end("data: last\n\n")
        })
        const { outcome, response } = yield* forward(u.url)
        expect(outcome).toBe("Settled")
        const reader = HttpServerResponse.toWeb(response).body!.getReader()
        const first = yield* Effect.promise(() => reader.read())
        expect(new TextDecoder().decode(first.value)).toBe("data: first\n\n")
        expect(finish).toBeDefined()
        finish!()
        let rest = ""
        for (;;) {
          const next = yield* Effect.promise(() => reader.read())
          if (next.done) break
          rest += new TextDecoder().decode(next.value)
        }
        expect(rest).toBe("data: last\n\n")
        expect(f.calls.settle).toBe(1)
      }).pipe(Effect.scoped, Effect.provide(world(f)))
    }
  )

  it("sends the upstream no hop-by-hop or payment headers, and says who asked", () => {
    expect(
      PayOnSuccess.upstreamHeaders(
        {
          connection: "keep-alive, x-secret-hop",
          "x-secret-hop": "1",
          "keep-alive": "timeout=5",
          "payment-signature": "sig",
          "x-payment": "v1",
          "transfer-encoding": "chunked",
          host: "seller.example",
          authorization: "Bearer buyer",
          "x-forwarded-for": "198.51.100.7"
        },
        { address: "10.0.0.9", proto: "https" }
      )
    ).toEqual({
      authorization: "Bearer buyer",
      "x-forwarded-for": "198.51.100.7, 10.0.0.9",
      "x-forwarded-host": "seller.example",
      "x-forwarded-proto": "https"
    })
  })
})
