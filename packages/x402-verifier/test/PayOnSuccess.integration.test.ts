/**
 * Pay on success with the real API server and real money: a PaymentRoute with settlement
 * onSuccess, whose upstream Service and EndpointSlice (on the machine's non-loopback address, which
 * the API server accepts; `DemoUpstream.hostAddress`) the verifier's informers resolve; the
 * verifier's PORT router in-process (as PaidPath does); anvil with our EIP-3009 token, the local
 * facilitator, and the official `@x402` client paying. Charged for a 200, never for a 404.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { x402Client, x402HTTPClient } from "@x402/core/client"
import { toClientEvmSigner } from "@x402/evm"
import { registerExactEvmScheme } from "@x402/evm/exact/client"
import { Effect, Exit, Layer, Scope } from "effect"
import { HttpRouter } from "effect/http"
import { privateKeyToAccount } from "viem/accounts"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import * as KubeConfig from "@obol/kube/KubeConfig"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import * as Chain from "@obol/test-envs/chain/Chain"
import * as LocalFacilitator from "@obol/test-envs/chain/Facilitator"
import * as DemoUpstream from "@obol/test-envs/DemoUpstream"
import * as Sellers from "@obol/test-envs/vitest/Sellers"
import { eventually, request, useNamespace } from "@obol/test-envs/vitest/TestCluster"
import * as Facilitator from "@obol/x402/Facilitator"
import * as Backend from "@obol/x402-verifier/Backend"
import * as PayOnSuccess from "@obol/x402-verifier/PayOnSuccess"
import * as Upstreams from "@obol/x402-verifier/Upstreams"
import * as Verifier from "@obol/x402-verifier/Verifier"
import * as Upstream from "./utils/Upstream.ts"

const namespace = useNamespace("pay-on-success")
const scope = Effect.runSync(Scope.make())
const price = 10_000n

let chain: Chain.Chain
let upstream: Upstream.Upstream
let handler: (request: Request) => Promise<Response>

const call = (path: string, headers: Record<string, string> = {}) =>
  handler(
    new Request(`http://verifier${path}`, {
      headers: { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "seller.example", ...headers }
    })
  )

beforeAll(async () => {
  const address = DemoUpstream.hostAddress()
  if (address === undefined) {
    throw new Error(
      "this machine has no IPv4 address besides loopback and link-local, which the API server refuses in an EndpointSlice"
    )
  }
  const started = await Effect.runPromise(
    Effect.gen(function* () {
      const parts = { upstream: yield* Upstream.start(address), chain: yield* Chain.start() }
      return { ...parts, facilitator: yield* LocalFacilitator.start(parts.chain) }
    }).pipe(Effect.provideService(Scope.Scope, scope))
  ).catch(async (error: unknown) => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw error
  })
  ;({ upstream, chain } = started)
  const ns = namespace()

  // The seller's Service, and its EndpointSlice as a cluster's endpoint controller would write it.
  const service = await request("POST", `/api/v1/namespaces/${ns}/services`, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "weather", namespace: ns },
    spec: { ports: [{ name: "http", port: 80, targetPort: upstream.port }] }
  })
  if (service.status !== 201) throw new Error(`creating the Service failed: ${service.status} ${service.body}`)
  const slice = await request("POST", `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "weather-1", namespace: ns, labels: { "kubernetes.io/service-name": "weather" } },
    addressType: "IPv4",
    endpoints: [{ addresses: [upstream.host], conditions: { ready: true } }],
    ports: [{ name: "http", port: upstream.port, protocol: "TCP" }]
  })
  if (slice.status !== 201) throw new Error(`creating the EndpointSlice failed: ${slice.status} ${slice.body}`)
  await Sellers.sell(ns, "weather", {
    settlement: "onSuccess",
    upstream: { service: "weather", namespace: ns, port: 80 },
    price: String(price),
    payTo: chain.seller,
    network: chain.network,
    asset: Chain.token(chain)
  })

  const settings = {
    namespaces: [ns],
    facilitatorUrl: started.facilitator.url,
    fieldManager: "x402-verifier",
    allowUnknownPaths: false
  }
  const kube = NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layerFromFile(inject("kubeconfig"))), Layer.orDie)
  const facilitator = Facilitator.layer({ url: started.facilitator.url, timeout: "10 seconds" })
  const context = await Effect.runPromise(
    Layer.buildWithScope(
      Layer.mergeAll(Verifier.informer(settings), Upstreams.layer(settings), PayOnSuccess.InFlight.layer).pipe(
        Layer.provideMerge(Layer.mergeAll(kube, facilitator)),
        Layer.provideMerge(NodeHttpClient.layerUndici)
      ),
      scope
    )
  )
  const web = HttpRouter.toWebHandler(
    Layer.mergeAll(Verifier.routes(settings), Backend.routes).pipe(Layer.provide(Layer.succeedContext(context))),
    { disableLogger: true }
  )
  handler = web.handler
  await Effect.runPromise(Scope.addFinalizer(scope, Effect.promise(web.dispose)))

  await eventually("the route admitted", async () =>
    (await Sellers.routeStatus(ns, "weather-payment"))?.admitted === true ? true : undefined
  )
  await eventually("the upstream resolved (a 402, not 503)", async () =>
    (await call("/services/weather/today")).status === 402 ? true : undefined
  )
}, 120_000)

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const payer = () => {
  const client = new x402Client().setSpendControls(false)
  registerExactEvmScheme(client, {
    signer: toClientEvmSigner(privateKeyToAccount(chain.payer.privateKey), chain.client as never)
  })
  return new x402HTTPClient(client)
}

/** Asks, reads the 402 the way the official client does, and signs a payment for it. */
const sign = async (http: x402HTTPClient, path: string) => {
  const unpaid = await call(path)
  expect(unpaid.status).toBe(402)
  const required = http.getPaymentRequiredResponse((name) => unpaid.headers.get(name), await unpaid.json())
  return http.encodePaymentSignatureHeader(await http.createPaymentPayload(required))
}

const balances = async () => ({
  seller: await Chain.balanceOf(chain, chain.seller),
  payer: await Chain.balanceOf(chain, chain.payer.address)
})

describe("pay on success (real API server, anvil, local facilitator, official client)", () => {
  it("proxies a paid request to the Service's ready endpoint and charges exactly the price once it answers 200", async () => {
    const http = payer()
    const before = await balances()
    const headers = await sign(http, "/services/weather/today?city=lisbon")
    const paid = await call("/services/weather/today?city=lisbon", headers)
    expect(paid.status).toBe(200)
    expect(await paid.text()).toBe('{"forecast":"sun"}')
    const receipt = http.getPaymentSettleResponse((name) => paid.headers.get(name))
    expect(receipt).toMatchObject({ success: true, network: chain.network })
    expect(upstream.seen.at(-1)?.url).toBe("/today?city=lisbon")
    expect(await balances()).toEqual({ seller: before.seller + price, payer: before.payer - price })
  })

  it("passes an upstream 404 through and moves nothing", async () => {
    upstream.answer((_req, res) => {
      res.writeHead(404, { "content-type": "text/plain" })
      res.end("no forecast for mars")
    })
    const http = payer()
    const before = await balances()
    const headers = await sign(http, "/services/weather/mars")
    const answer = await call("/services/weather/mars", headers)
    expect(answer.status).toBe(404)
    expect(await answer.text()).toBe("no forecast for mars")
    expect(answer.headers.get("PAYMENT-RESPONSE")).toBeNull()
    expect(await balances()).toEqual(before)
  })
})
