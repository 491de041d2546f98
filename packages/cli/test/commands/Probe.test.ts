import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { encodePaymentRequiredHeader } from "@x402/core/http"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import * as KubeClient from "@obol/kube/KubeClient"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import * as Probe from "@obol/cli/commands/Probe"
import { admittedRoute, obol, output, payTo, layer, writeStatus } from "../utils/Harness.ts"

const usdc = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"

/** A gateway on a loopback port answering every request with `handler`; the requests it saw. */
const gateway = (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ url: string; seen: Array<string> }>((resolve) => {
          const seen: Array<string> = []
          const server = createServer((req, res) => {
            seen.push(`${req.method} ${req.url}`)
            handler(req, res)
          })
          server.listen(0, "127.0.0.1", () =>
            resolve(
              Object.assign({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }, { server })
            )
          )
        })
    ),
    (g) =>
      Effect.promise(
        () =>
          new Promise<void>((resolve) =>
            (g as unknown as { server: { close: (f: () => void) => void } }).server.close(() => resolve())
          )
      )
  )

const paymentRequired = (amount: string) =>
  encodePaymentRequiredHeader({
    x402Version: 2,
    error: "Payment required",
    resource: { url: "http://gateway/services/weather/health", description: "", mimeType: "" },
    accepts: [
      {
        scheme: "exact",
        network: "eip155:84532",
        amount,
        asset: usdc,
        payTo,
        maxTimeoutSeconds: 300,
        extra: { name: "USDC", version: "2" }
      }
    ]
  } as never)

/** anvil's first public development key: a test value, never a real one. */
const buyerKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

/** Runs with exactly these environment variables visible to Config. */
const withEnv = (env: Record<string, string>) =>
  Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))

const sellWithRoute = Effect.gen(function* () {
  yield* obol("sell", "http", "weather", "-w", payTo, "--upstream", "weather", "--price", "0.001")
  yield* admittedRoute("weather")
  yield* writeStatus("weather", [{ type: "Ready", status: "True", reason: "Ready" }], {
    endpoint: "http://obol.stack:8080/services/weather"
  })
})

describe("obol sell probe", () => {
  it.effect("reports what a buyer is asked, in human and atomic units, from the gateway's 402", () =>
    Effect.gen(function* () {
      const g = yield* gateway((_req, res) => {
        res.writeHead(402, { "PAYMENT-REQUIRED": paymentRequired("1000"), "content-type": "application/json" })
        res.end("{}")
      })
      yield* sellWithRoute
      const before = (yield* output).stdout.length
      expect(yield* obol("sell", "probe", "weather", "--gateway-url", g.url)).toBe(0)
      expect(g.seen).toEqual(["GET /services/weather/health"])
      expect((yield* output).stdout.slice(before)).toEqual([
        `${g.url}/services/weather/health is live and payment-gated (402). A buyer is asked:`,
        "  0.001 USDC (1000 atomic units)",
        `    asset     ${usdc}`,
        `    pay to    ${payTo}`,
        "    network   eip155:84532 (scheme exact)",
        "    timeout   300s to complete the payment"
      ])
    }).pipe(Effect.scoped, Effect.provide(layer()))
  )

  it.effect("warns when the gateway asks another amount than the PaymentRoute's", () =>
    Effect.gen(function* () {
      const g = yield* gateway((_req, res) => {
        res.writeHead(402, { "PAYMENT-REQUIRED": paymentRequired("5000") })
        res.end()
      })
      yield* sellWithRoute
      expect(yield* obol("sell", "test", "weather", "--gateway-url", g.url, "--path", "/v1/x")).toBe(0)
      expect(g.seen).toEqual(["GET /services/weather/v1/x"])
      expect((yield* output).stderr).toContain(
        "warning: amount 5000 differs from the PaymentRoute's 1000 (a verifier replica may still be loading the new price)"
      )
    }).pipe(Effect.scoped, Effect.provide(layer()))
  )

  it.effect("a 200 without payment is an error: the offer is not gated", () =>
    Effect.gen(function* () {
      const g = yield* gateway((_req, res) => {
        res.writeHead(200)
        res.end("free weather")
      })
      yield* sellWithRoute
      expect(yield* obol("sell", "probe", "weather", "--gateway-url", g.url)).toBe(1)
      expect((yield* output).stderr.at(-2)).toBe(
        `error: ${g.url}/services/weather/health answered 200 without payment: the offer is NOT payment-gated`
      )
    }).pipe(Effect.scoped, Effect.provide(layer()))
  )

  it.effect("--pay without a key says where the key comes from, and never takes it as a flag value", () =>
    Effect.gen(function* () {
      yield* sellWithRoute
      const code = yield* obol("sell", "probe", "weather", "--gateway-url", "http://127.0.0.1:1", "--pay").pipe(
        withEnv({})
      )
      expect(code).toBe(2)
      expect((yield* output).stderr.at(-1)).toBe(
        "error: --pay needs the buyer's key: --buyer-key-file <file> or X402_BUYER_PRIVATE_KEY (never a flag value)"
      )
    }).pipe(Effect.provide(layer()))
  )

  it.effect("a private key passed where the key file belongs is never echoed", () =>
    Effect.gen(function* () {
      yield* sellWithRoute
      const code = yield* obol(
        "sell",
        "probe",
        "weather",
        "--gateway-url",
        "http://127.0.0.1:1",
        "--pay",
        "--buyer-key-file",
        buyerKey
      ).pipe(withEnv({}))
      expect(code).toBe(2)
      const { stdout, stderr } = yield* output
      expect([...stdout, ...stderr].join("\n")).not.toContain(buyerKey.slice(2))
      expect(stderr.at(-1)).toBe("error: --buyer-key-file <a private key, not a file name>: no such file")
    }).pipe(Effect.provide(layer()))
  )

  it.effect("--pay refuses an offer without an admitted PaymentRoute: there is no price to stay within", () =>
    Effect.gen(function* () {
      yield* sellWithRoute
      yield* KubeClient.KubeClient.use((c) =>
        c.delete(PaymentRoute, { name: "weather-payment", namespace: "default" })
      ).pipe(Effect.orDie)
      const code = yield* obol("sell", "probe", "weather", "--gateway-url", "http://127.0.0.1:1", "--pay").pipe(
        withEnv({ X402_BUYER_PRIVATE_KEY: buyerKey, RPC_URL: "http://127.0.0.1:1" })
      )
      expect(code).toBe(1)
      expect((yield* output).stderr.at(-2)).toMatch(
        /has no admitted PaymentRoute, so there is no price to pay within; nothing was paid/u
      )
    }).pipe(Effect.provide(layer()))
  )

  it.effect("--pay against a gateway that answers 200 without asking is an error, and nothing is paid", () =>
    Effect.gen(function* () {
      const g = yield* gateway((_req, res) => {
        res.writeHead(200)
        res.end("free weather")
      })
      yield* sellWithRoute
      const code = yield* obol("sell", "probe", "weather", "--gateway-url", g.url, "--pay").pipe(
        withEnv({ X402_BUYER_PRIVATE_KEY: buyerKey, RPC_URL: "http://127.0.0.1:1" })
      )
      expect(code).toBe(1)
      expect(g.seen).toEqual(["GET /services/weather/health"])
      expect((yield* output).stderr.at(-2)).toMatch(
        /answered 200 without asking for payment: the offer is NOT payment-gated; nothing was paid$/u
      )
    }).pipe(Effect.scoped, Effect.provide(layer()))
  )

  it.effect("a body is sent with POST by default, and refused with -X GET", () =>
    Effect.gen(function* () {
      const g = yield* gateway((_req, res) => {
        res.writeHead(402, { "PAYMENT-REQUIRED": paymentRequired("1000") })
        res.end()
      })
      yield* sellWithRoute
      expect(yield* obol("sell", "probe", "weather", "--gateway-url", g.url, "-d", "{}")).toBe(0)
      expect(g.seen).toEqual(["POST /services/weather/health"])
      expect(yield* obol("sell", "probe", "weather", "--gateway-url", g.url, "-d", "{}", "-X", "GET")).toBe(2)
      expect((yield* output).stderr.at(-1)).toBe(
        "error: --data cannot be sent with -X GET; use -X POST (the default with --data)"
      )
    }).pipe(Effect.scoped, Effect.provide(layer()))
  )
})

describe("Probe.target", () => {
  it("joins the gateway's origin, the endpoint's path and the probe path", () => {
    expect(Probe.target("http://obol.stack:8080/services/x", "http://127.0.0.1:9000", "/health")).toMatchObject({
      success: new URL("http://127.0.0.1:9000/services/x/health")
    })
    expect(Probe.target("http://obol.stack:8080/services/x/", undefined, "/")).toMatchObject({
      success: new URL("http://obol.stack:8080/services/x")
    })
    expect(Probe.target("/services/x", undefined, "/health")).toMatchObject({ _tag: "Failure" })
  })
})
