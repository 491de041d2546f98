import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { decodePaymentRequiredHeader } from "@x402/core/http"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import * as Fixtures from "@obol/test-envs/Fixtures"
import * as Facilitator from "@obol/x402/Facilitator"
import * as Paywall from "@obol/x402-verifier/Paywall"
import * as RouteTable from "@obol/x402-verifier/RouteTable"
import * as Routes from "@obol/x402-verifier/Routes"
import * as Verifier from "@obol/x402-verifier/Verifier"

const table = RouteTable.make([
  Routes.entry(
    Schema.decodeUnknownSync(PaymentRoute.schema)(
      Fixtures.paymentRoute("shop", "weather", { price: "1500", metadata: { uid: "u", generation: 1 } })
    )
  )
])

const ask = (accept: string | undefined) =>
  Verifier.handle(
    table,
    {
      identity: "shop/weather",
      headers: {
        "x-forwarded-proto": "https",
        "x-forwarded-host": "seller.example",
        "x-forwarded-uri": "/services/weather/today",
        ...(accept === undefined ? {} : { accept })
      }
    },
    { allowUnknownPaths: false }
  ).pipe(
    Effect.provide(
      Facilitator.layerMemory({
        supported: Effect.succeed({ kinds: [] }),
        verify: () => Effect.die("not called"),
        settle: () => Effect.die("not called")
      })
    )
  )

describe("Paywall", () => {
  it.effect("a browser's 402 is a page with the price in the token's units, and the same PAYMENT-REQUIRED header", () =>
    Effect.gen(function* () {
      const browser = yield* ask("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
      const client = yield* ask("application/json")
      if (browser.answer === "Pass" || client.answer === "Pass") throw new Error("expected 402s")
      expect([browser.answer.status, client.answer.status]).toEqual([402, 402])
      expect(browser.answer.headers["Content-Type"]).toBe("text/html; charset=utf-8")
      expect(browser.answer.bodyHtml).toContain("<dd>0.0015 USDC per request</dd>")
      expect(browser.answer.bodyHtml).toContain("Base Sepolia (eip155:84532)")
      expect(client.answer.bodyHtml).toBeUndefined()
      const required = (headers: Readonly<Record<string, string>>) =>
        decodePaymentRequiredHeader(headers["PAYMENT-REQUIRED"]!).accepts
      expect(required(browser.answer.headers)).toEqual(required(client.answer.headers))
    })
  )

  it("prefers HTML only when the request ranks it at least as high as JSON", () => {
    expect(Paywall.wantsHtml("text/html,*/*;q=0.8")).toBe(true)
    expect(Paywall.wantsHtml("application/json")).toBe(false)
    expect(Paywall.wantsHtml("application/json, text/html;q=0.5")).toBe(false)
    expect(Paywall.wantsHtml("*/*")).toBe(false)
    expect(Paywall.wantsHtml(undefined)).toBe(false)
    expect(Paywall.wantsHtml("text/html;q=0")).toBe(false)
  })

  it("escapes every value it shows", () => {
    const page = Paywall.render({
      route: {
        scheme: "exact",
        amount: "1",
        network: "eip155:1",
        asset: { address: "0xabc", eip712Name: "<b>USD</b>", eip712Version: "2", decimals: 6 },
        payTo: "0xdef",
        maxTimeoutSeconds: 60,
        description: '<script>alert("x")</script>'
      },
      resource: { url: "https://seller.example/x" },
      error: "<img src=x onerror=alert(1)>"
    })
    expect(page).not.toContain("<script>alert")
    expect(page).not.toContain("<img src=x")
    expect(page).toContain("&lt;script&gt;")
    expect(page).toContain("0.000001 &lt;b&gt;USD&lt;/b&gt; per request")
  })
})
