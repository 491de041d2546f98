/**
 * The verifier against the real API server: admission written, price edits re-admitted, deleted
 * routes answered 503, and 1,000 PaymentRoutes (each owned by its ServiceOffer) loaded. The facilitator is a memory double here;
 * paying for real (anvil, token, local facilitator) is the chain tier's job.
 */
import { Context, Effect, Exit, Layer, Option, Scope } from "effect"
import { HttpRouter } from "effect/http"
import { decodePaymentRequiredHeader } from "@x402/core/http"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import * as KubeConfig from "@obol/kube/KubeConfig"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import * as Sellers from "@obol/test-envs/vitest/Sellers"
import { eventually, request, useNamespace } from "@obol/test-envs/vitest/TestCluster"
import * as Facilitator from "@obol/x402/Facilitator"
import * as Verifier from "@obol/x402-verifier/Verifier"

const namespace = useNamespace("verifier")
const scope = Effect.runSync(Scope.make())
let table: Context.Service.Shape<typeof Verifier.Table>
let handler: (request: Request) => Promise<Response>

const facilitator = Facilitator.layerMemory({
  supported: Effect.succeed({ kinds: [{ x402Version: 2, scheme: "exact", network: "eip155:84532" }] }),
  verify: () => Effect.succeed({ isValid: true }),
  settle: () => Effect.succeed({ success: true, transaction: "0xtx" })
})

const routes = () => `/apis/obol.org/v1alpha1/namespaces/${namespace()}/paymentroutes`

beforeAll(async () => {
  const settings = {
    namespaces: [namespace()],
    facilitatorUrl: "http://127.0.0.1:4021",
    fieldManager: "x402-verifier",
    allowUnknownPaths: false
  }
  const kube = NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layerFromFile(inject("kubeconfig"))), Layer.orDie)
  const context = await Effect.runPromise(
    Layer.buildWithScope(Verifier.informer(settings).pipe(Layer.provide(Layer.mergeAll(kube, facilitator))), scope)
  )
  table = Context.get(context, Verifier.Table)
  const web = HttpRouter.toWebHandler(
    Verifier.routes(settings).pipe(Layer.provide(Layer.mergeAll(Layer.succeed(Verifier.Table, table), facilitator))),
    { disableLogger: true }
  )
  handler = web.handler
})
afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const call = (name: string) =>
  handler(
    new Request(`http://verifier/verify/${namespace()}/${name}`, {
      headers: {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "seller.example",
        "X-Forwarded-Uri": `/services/${name}/x`
      }
    })
  )

describe("the verifier on the real API server", () => {
  it("admits a new PaymentRoute and answers 402 for it; re-admits a price edit and requires the new amount; 503 once deleted", async () => {
    await Sellers.sell(namespace(), "weather")
    await eventually("admission", async () => {
      const r = await request("GET", `${routes()}/weather-payment`)
      return r.json?.status?.admitted === true && r.json.status.lastAdmittedGeneration === 1 ? true : undefined
    })
    const first = await call("weather")
    expect(first.status).toBe(402)
    expect(decodePaymentRequiredHeader(first.headers.get("PAYMENT-REQUIRED")!).accepts[0]?.amount).toBe("1000")

    await request("PATCH", `${routes()}/weather-payment`, { spec: { price: "2500" } }, "application/merge-patch+json")
    await eventually("re-admission at generation 2", async () => {
      const r = await request("GET", `${routes()}/weather-payment`)
      return r.json?.status?.lastAdmittedGeneration === 2 ? true : undefined
    })
    const second = await call("weather")
    expect(decodePaymentRequiredHeader(second.headers.get("PAYMENT-REQUIRED")!).accepts[0]?.amount).toBe("2500")

    expect((await request("DELETE", `${routes()}/weather-payment`)).status).toBe(200)
    await eventually("the route to leave the table", async () =>
      Option.isNone(table.get().byOffer(`${namespace()}/weather`)) ? true : undefined
    )
    expect((await call("weather")).status).toBe(503)
  })

  it("loads 1,000 PaymentRoutes, admitting each", async () => {
    await Effect.runPromise(
      Effect.forEach(
        Array.from({ length: 1000 }, (_, i) => i),
        (i) => Effect.promise(() => Sellers.sell(namespace(), `bulk-${i}`)),
        { concurrency: 16, discard: true }
      )
    )
    await eventually("1,000 routes in the table", async () => (table.get().size >= 1000 ? true : undefined), 120_000)
    await eventually(
      "every route admitted",
      async () => {
        const list = await request("GET", routes())
        const admitted = (list.json?.items ?? []).filter(
          (r: { status?: { admitted?: boolean } }) => r.status?.admitted === true
        ).length
        return admitted >= 1000 ? admitted : undefined
      },
      120_000
    )
    expect((await call("bulk-999")).status).toBe(402)
  }, 240_000)
})
