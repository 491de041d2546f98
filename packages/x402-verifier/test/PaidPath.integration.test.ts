/**
 * The money path with no mocks: anvil with our EIP-3009 token, the local facilitator on
 * `@x402/evm`, the verifier's HTTP endpoint called with Traefik's X-Forwarded-* headers, and the
 * official `@x402` client paying.
 */
import { describe, expect, it } from "@effect/vitest"
import { NodeHttpClient } from "@effect/platform-node"
import { x402Client, x402HTTPClient } from "@x402/core/client"
import { decodePaymentResponseHeader } from "@x402/core/http"
import { toClientEvmSigner } from "@x402/evm"
import { registerExactEvmScheme } from "@x402/evm/exact/client"
import { Effect, Layer, Schema, Scope } from "effect"
import { HttpRouter } from "effect/http"
import type { Hex } from "viem"
import { privateKeyToAccount } from "viem/accounts"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import * as Chain from "@obol/test-envs/chain/Chain"
import * as LocalFacilitator from "@obol/test-envs/chain/Facilitator"
import * as Fixtures from "@obol/test-envs/Fixtures"
import * as Facilitator from "@obol/x402/Facilitator"
import * as RouteTable from "@obol/x402-verifier/RouteTable"
import * as Routes from "@obol/x402-verifier/Routes"
import * as Verifier from "@obol/x402-verifier/Verifier"

const forwarded = {
  "X-Forwarded-Proto": "https",
  "X-Forwarded-Host": "seller.example",
  "X-Forwarded-Uri": "/services/weather/today",
  "X-Forwarded-Method": "GET"
}

interface World {
  readonly chain: Chain.Chain
  readonly facilitator: LocalFacilitator.Service
  readonly call: (headers?: Record<string, string>) => Promise<Response>
  readonly balance: (address: Hex) => Promise<bigint>
}

/** Anvil + token + facilitator + the verifier's HTTP handler over a one-route table. */
const world = (amount = "10000"): Effect.Effect<World, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const chain = yield* Chain.start()
    const facilitator = yield* LocalFacilitator.start(chain)
    const route = Routes.entry(
      Schema.decodeUnknownSync(PaymentRoute.schema)(
        Fixtures.paymentRoute("sellers", "weather", {
          price: amount,
          payTo: chain.seller,
          network: chain.network,
          asset: Chain.token(chain),
          metadata: { uid: "route-uid", generation: 1 }
        })
      )
    )
    const routes = Verifier.routes({ allowUnknownPaths: false }).pipe(
      Layer.provide(
        Layer.mergeAll(
          Layer.succeed(Verifier.Table, RouteTable.holder(RouteTable.make([route]))),
          Facilitator.layer({ url: facilitator.url, timeout: "5 seconds" }).pipe(
            Layer.provide(NodeHttpClient.layerUndici)
          )
        )
      )
    )
    const { handler, dispose } = HttpRouter.toWebHandler(routes, { disableLogger: true })
    yield* Effect.addFinalizer(() => Effect.promise(dispose))
    return {
      chain,
      facilitator,
      call: (headers = {}) =>
        handler(new Request("http://verifier/verify/sellers/weather", { headers: { ...forwarded, ...headers } })),
      balance: (address) => Chain.balanceOf(chain, address)
    }
  })

const payer = (w: World, key: Hex = w.chain.payer.privateKey) => {
  const client = new x402Client().setSpendControls(false)
  registerExactEvmScheme(client, { signer: toClientEvmSigner(privateKeyToAccount(key), w.chain.client as never) })
  return new x402HTTPClient(client)
}

/** Asks, reads the 402 the way the official client does, and signs a payment for it. */
const pay = async (w: World, http: x402HTTPClient, version: 1 | 2 = 2) => {
  const unpaid = await w.call()
  const body: unknown = await unpaid.json()
  const required = http.getPaymentRequiredResponse((name) => (version === 2 ? unpaid.headers.get(name) : null), body)
  const payload = await http.createPaymentPayload(required)
  return { unpaid, required, headers: http.encodePaymentSignatureHeader(payload) }
}

describe("paid path (anvil, local facilitator, official client)", () => {
  it.live(
    "answers an unpaid request 402 with requirements the official client accepts",
    () =>
      Effect.gen(function* () {
        const w = yield* world()
        const { unpaid, required, headers } = yield* Effect.promise(() => pay(w, payer(w)))
        expect(unpaid.status).toBe(402)
        expect(required.accepts[0]).toMatchObject({ amount: "10000", asset: w.chain.usdc, payTo: w.chain.seller })
        expect(required.resource?.url).toBe("https://seller.example/services/weather/today")
        expect(Object.keys(headers)).toEqual(["PAYMENT-SIGNATURE"])
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "lets a paid request through with the receipt, moves the tokens on chain, and refuses its replay",
    () =>
      Effect.gen(function* () {
        const w = yield* world()
        const { headers } = yield* Effect.promise(() => pay(w, payer(w)))
        const paid = yield* Effect.promise(() => w.call(headers))
        expect(paid.status).toBe(200)
        const receipt = decodePaymentResponseHeader(paid.headers.get("PAYMENT-RESPONSE") ?? "")
        expect(receipt).toMatchObject({ success: true, network: w.chain.network })
        expect(paid.headers.get("X-Payment-Tx")).toBe(receipt.transaction)
        expect(yield* Effect.promise(() => w.balance(w.chain.seller))).toBe(10_000n)
        expect(yield* Effect.promise(() => w.balance(w.chain.payer.address))).toBe(Chain.payerBalance - 10_000n)

        const replay = yield* Effect.promise(() => w.call(headers))
        expect(replay.status).toBe(402)
        const reason = ((yield* Effect.promise(() => replay.json())) as { error: string }).error
        expect(reason).toMatch(/nonce|used/i)
        expect(yield* Effect.promise(() => w.balance(w.chain.seller))).toBe(10_000n)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "refuses an underfunded payer with 402 and moves nothing",
    () =>
      Effect.gen(function* () {
        const w = yield* world()
        const broke = Chain.devKeys.seller
        const { headers } = yield* Effect.promise(() => pay(w, payer(w, broke)))
        const answer = yield* Effect.promise(() => w.call(headers))
        expect(answer.status).toBe(402)
        const reason = ((yield* Effect.promise(() => answer.json())) as { error: string }).error
        expect(reason).toMatch(/balance|funds/i)
        expect(yield* Effect.promise(() => w.balance(w.chain.payer.address))).toBe(Chain.payerBalance)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "answers 503, never 200, when the facilitator is stopped",
    () =>
      Effect.gen(function* () {
        const w = yield* world()
        const { headers } = yield* Effect.promise(() => pay(w, payer(w)))
        yield* w.facilitator.stop
        const answer = yield* Effect.promise(() => w.call(headers))
        expect(answer.status).toBe(503)
        expect(yield* Effect.promise(() => w.balance(w.chain.seller))).toBe(0n)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "lets a v1 client pay with X-PAYMENT from the 402 body",
    () =>
      Effect.gen(function* () {
        const w = yield* world()
        const { required, headers } = yield* Effect.promise(() => pay(w, payer(w), 1))
        expect(required.x402Version).toBe(1)
        expect(Object.keys(headers)).toEqual(["X-PAYMENT"])
        const paid = yield* Effect.promise(() => w.call(headers))
        expect(paid.status).toBe(200)
        expect(paid.headers.get("X-PAYMENT-RESPONSE")).not.toBeNull()
        expect(yield* Effect.promise(() => w.balance(w.chain.seller))).toBe(10_000n)
      }).pipe(Effect.scoped),
    60_000
  )
})
