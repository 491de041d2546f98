/**
 * Benchmark of the verifier's 402 path and route lookups, in one run:
 * - requests/s and p99 of unpaid requests answered 402 by the verifier (10,000 routes loaded),
 *   against a bare Node `http` server returning the same 402 bytes (the baseline), all loaded by the same
 *   child-process generator with 32 keep-alive connections;
 * - route lookup time with 10,000 routes, by identity and by path; the time to decide and build the
 *   table from 10,000 PaymentRoutes in full (a relist; one event's cost is `admission.bench.ts`);
 * - paid requests/s through the verifier (verify + settle on anvil through the local facilitator),
 *   against the same number of payments sent straight to the facilitator's /verify and /settle
 *   (the baseline: what the chain and facilitator cost without us). Payments are signed by the
 *   official client before timing starts; requests are sequential (one facilitator account).
 *
 * Run: `npm run bench -w @obol/x402-verifier` (BENCH_REQUESTS sets the 402 request count,
 * BENCH_PAID the paid request count).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { x402Client, x402HTTPClient } from "@x402/core/client"
import { toClientEvmSigner } from "@x402/evm"
import { registerExactEvmScheme } from "@x402/evm/exact/client"
import { privateKeyToAccount } from "viem/accounts"
import * as Chain from "@obol/test-envs/chain/Chain"
import * as Fixtures from "@obol/test-envs/Fixtures"
import * as Ports from "@obol/test-envs/Ports"
import * as LocalFacilitator from "@obol/test-envs/chain/Facilitator"
import { Effect, Exit, Layer, Option, Schema, Scope } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { execFile } from "node:child_process"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { promisify } from "node:util"
import * as Facilitator from "@obol/x402/Facilitator"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import * as Requirements from "@obol/x402/Requirements"
import * as PathMatch from "../src/PathMatch.ts"
import * as RouteTable from "../src/RouteTable.ts"
import * as Routes from "../src/Routes.ts"
import * as Verifier from "../src/Verifier.ts"

const run = promisify(execFile)
const PAID = Number(process.env["BENCH_PAID"] ?? 200)

const stats = (latencies: Array<number>, elapsedMs: number) => {
  const sorted = latencies.toSorted((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
  return { rps: (latencies.length * 1000) / elapsedMs, p50: at(0.5), p99: at(0.99) }
}

/** Paid path: anvil, token and local facilitator; payments signed ahead by the official client. */
const paidPath = async (scope: Scope.Scope) => {
  const chain = await Effect.runPromise(Scope.provide(Chain.start(), scope))
  const local = await Effect.runPromise(Scope.provide(LocalFacilitator.start(chain), scope))
  const paidRoute = Routes.entry(
    Schema.decodeUnknownSync(PaymentRoute.schema)(
      Fixtures.paymentRoute("sellers", "paid", {
        price: "1000",
        payTo: chain.seller,
        network: chain.network,
        asset: Chain.token(chain),
        metadata: { uid: "paid-uid", generation: 1 }
      })
    )
  )
  const port = await Effect.runPromise(Ports.free)
  const server = HttpRouter.serve(Verifier.routes({ allowUnknownPaths: false }), {
    disableLogger: true,
    disableListenLog: true
  }).pipe(
    Layer.provide(
      Layer.mergeAll(
        Layer.succeed(Verifier.Table, RouteTable.holder(RouteTable.make([paidRoute]))),
        Facilitator.layer({ url: local.url }).pipe(Layer.provide(NodeHttpClient.layerUndici))
      )
    ),
    Layer.provide(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
  )
  await Effect.runPromise(Layer.buildWithScope(server, scope))
  const url = `http://127.0.0.1:${port}/verify/sellers/paid`
  const forwarded = {
    "X-Forwarded-Proto": "http",
    "X-Forwarded-Host": "localhost",
    "X-Forwarded-Uri": "/services/paid/x"
  }

  const client = new x402Client().setSpendControls(false)
  registerExactEvmScheme(client, {
    signer: toClientEvmSigner(privateKeyToAccount(chain.payer.privateKey), chain.client as never)
  })
  const http = new x402HTTPClient(client)
  const unpaid = await fetch(url, { headers: forwarded })
  const required = http.getPaymentRequiredResponse((name) => unpaid.headers.get(name), await unpaid.json())
  const sign = async () => http.createPaymentPayload(required)
  const direct = await Promise.all(Array.from({ length: PAID }, sign))
  const viaVerifier = await Promise.all(Array.from({ length: PAID }, sign))

  let failures = 0
  const post = async (path: string, payload: unknown) => {
    const res = await fetch(`${local.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ x402Version: 2, paymentPayload: payload, paymentRequirements: required.accepts[0] })
    })
    return (await res.json()) as { isValid?: boolean; success?: boolean }
  }
  const time = async <A>(items: ReadonlyArray<A>, f: (a: A) => Promise<boolean>) => {
    const latencies: Array<number> = []
    const started = performance.now()
    for (const item of items) {
      const t0 = performance.now()
      if (!(await f(item))) failures++
      latencies.push(performance.now() - t0)
    }
    return stats(latencies, performance.now() - started)
  }
  const directStats = await time(direct, async (payload) => {
    const verified = await post("/verify", payload)
    return verified.isValid === true && (await post("/settle", payload)).success === true
  })
  const verifierStats = await time(viaVerifier, async (payload) => {
    const res = await fetch(url, { headers: { ...forwarded, ...http.encodePaymentSignatureHeader(payload) } })
    await res.arrayBuffer()
    return res.status === 200
  })
  return { direct: directStats, verifier: verifierStats, failures }
}
const REQUESTS = Number(process.env["BENCH_REQUESTS"] ?? 20_000)
const ROUTES = 10_000

const load = async (url: string) => {
  const { stdout } = await run(process.execPath, [join(import.meta.dirname, "load.mjs"), url, "32", String(REQUESTS)])
  return JSON.parse(stdout) as { rps: number; p50: number; p99: number; done: number }
}

const routes = Array.from({ length: ROUTES }, (_, i): RouteTable.Route<Routes.Loaded> => ({
  key: `sellers/r${i}-payment`,
  offer: `sellers/r${i}`,
  pattern: PathMatch.compile(`/services/r${i}/*`),
  value: {
    uid: `r${i}-uid`,
    generation: 1,
    settlement: "upfront",
    upstream: undefined,
    authorization: undefined,
    prefix: `/services/r${i}`,
    requirement: {
      scheme: "exact",
      amount: "1000",
      network: "eip155:84532",
      asset: { address: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", eip712Name: "USDC", eip712Version: "2" },
      payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      maxTimeoutSeconds: 300,
      description: `route ${i}`
    }
  }
}))

const buildStarted = performance.now()
const table = RouteTable.make(routes)
const buildMs = performance.now() - buildStarted

/** The whole rebuild an informer event costs: every route decided (owner, one per offer, paths) and the table built. */
const paymentRoutes = Array.from({ length: ROUTES }, (_, i) =>
  Schema.decodeUnknownSync(PaymentRoute.schema)(
    Fixtures.paymentRoute(`tenant-${i % 100}`, `r${i}`, {
      owner: { name: `r${i}`, uid: `offer-${i}` },
      metadata: { uid: `route-${i}`, generation: 1, creationTimestamp: "2026-12-01T00:00:00Z" }
    })
  )
)
const decideOptions: Routes.Options = {
  facilitatorUrl: "http://127.0.0.1:4021",
  owner: (key) => ({ _tag: "Present", uid: `offer-${key.slice(key.lastIndexOf("/r") + 2)}`, creationTimestamp: "t" })
}
Routes.build(paymentRoutes, decideOptions)
const decideStarted = performance.now()
const decided = Routes.build(paymentRoutes, decideOptions)
const decideMs = performance.now() - decideStarted
if (decided.table.size !== ROUTES) throw new Error(`expected ${ROUTES} admitted routes, got ${decided.table.size}`)

const time = (label: string, iterations: number, f: (i: number) => unknown) => {
  for (let i = 0; i < 10_000; i++) f(i)
  const started = performance.now()
  for (let i = 0; i < iterations; i++) f(i)
  return { label, nsPerOp: ((performance.now() - started) * 1e6) / iterations }
}
const lookups = [
  time("byOffer (identity)", 1_000_000, (i) => table.byOffer(`sellers/r${i % ROUTES}`)),
  time("match (path, prefix at depth 4)", 1_000_000, (i) => table.match(`/services/r${i % ROUTES}/v1/chat`)),
  time("normalize + match (raw URI with query)", 200_000, (i) => {
    const path = PathMatch.normalize(`/services/r${i % ROUTES}//v1/./chat?x=1`)
    return path._tag === "Success" ? table.match(path.success) : Option.none()
  })
]

const scope = Effect.runSync(Scope.make())
try {
  // Baseline: a bare Node server answering the very bytes the verifier answers for this route
  // (the PAYMENT-REQUIRED header and the v1 body are ~1.5 KiB, so a tiny fixed 402 would flatter it).
  const sample = Requirements.paymentRequired(routes[4242]!.value.requirement, {
    url: "http://localhost/"
  })
  const sampleBody = JSON.stringify(sample.body)
  const bare = createServer((_req, res) => {
    res.writeHead(402, sample.headers)
    res.end(sampleBody)
  })
  await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve))
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/verify/sellers/r4242`

  // The verifier's HTTP stack, with the table above.
  const holder = RouteTable.holder(table)
  const facilitator = Facilitator.layerMemory({
    supported: Effect.succeed({ kinds: [] }),
    verify: () => Effect.succeed({ isValid: true }),
    settle: () => Effect.succeed({ success: true })
  })
  const port = await Effect.runPromise(Ports.free)
  const server = HttpRouter.serve(Verifier.routes({ allowUnknownPaths: false }), {
    disableLogger: true,
    disableListenLog: true
  }).pipe(
    Layer.provide(Layer.mergeAll(Layer.succeed(Verifier.Table, holder), facilitator)),
    Layer.provide(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
  )
  await Effect.runPromise(Layer.buildWithScope(server, scope))
  const verifierUrl = `http://127.0.0.1:${port}/verify/sellers/r4242`

  // The same Effect HTTP stack answering a fixed 402: how much is the framework, how much is us.
  const port2 = await Effect.runPromise(Ports.free)
  const fixed = HttpRouter.serve(
    HttpRouter.add(
      "*",
      "/verify/:namespace/:name",
      HttpServerResponse.text(sampleBody, { status: 402, headers: sample.headers })
    ),
    { disableLogger: true, disableListenLog: true }
  ).pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: port2, host: "127.0.0.1" })))
  await Effect.runPromise(Layer.buildWithScope(fixed, scope))
  const fixedUrl = `http://127.0.0.1:${port2}/verify/sellers/r4242`

  const baseline = await load(bareUrl)
  const effectFixed = await load(fixedUrl)
  const ours = await load(verifierUrl)
  bare.close()

  console.log(`\nunpaid requests answered 402, ${REQUESTS} requests, 32 keep-alive connections, same run`)
  console.log("| server | requests/s | p50 ms | p99 ms | vs bare |")
  console.log("|---|---:|---:|---:|---:|")
  console.log(
    `| bare Node http, the same 402 bytes (baseline) | ${baseline.rps.toFixed(0)} | ${baseline.p50.toFixed(2)} | ${baseline.p99.toFixed(2)} | 1.00x |`
  )
  console.log(
    `| Effect HttpRouter, the same 402 bytes | ${effectFixed.rps.toFixed(0)} | ${effectFixed.p50.toFixed(2)} | ${effectFixed.p99.toFixed(2)} | ${(effectFixed.rps / baseline.rps).toFixed(2)}x |`
  )
  console.log(
    `| x402-verifier, 10,000 routes | ${ours.rps.toFixed(0)} | ${ours.p50.toFixed(2)} | ${ours.p99.toFixed(2)} | ${(ours.rps / baseline.rps).toFixed(2)}x |`
  )
  console.log(`\nroute table with ${ROUTES} routes: built in ${buildMs.toFixed(1)} ms`)
  console.log(
    `every route decided (owner, one per offer, path claims) and the table built (Routes.build; an informer event now costs what it touches, see admission.bench.ts): ${decideMs.toFixed(1)} ms`
  )
  console.log("| lookup | ns/op |")
  console.log("|---|---:|")
  for (const l of lookups) console.log(`| ${l.label} | ${l.nsPerOp.toFixed(0)} |`)

  const paid = await paidPath(scope)
  console.log(`\npaid requests, ${PAID} sequential, anvil + local facilitator, same run`)
  console.log("| path | requests/s | p50 ms | p99 ms | vs facilitator |")
  console.log("|---|---:|---:|---:|---:|")
  console.log(
    `| straight to the facilitator (/verify + /settle, baseline) | ${paid.direct.rps.toFixed(0)} | ${paid.direct.p50.toFixed(1)} | ${paid.direct.p99.toFixed(1)} | 1.00x |`
  )
  console.log(
    `| through x402-verifier (ForwardAuth, 200 after settle) | ${paid.verifier.rps.toFixed(0)} | ${paid.verifier.p50.toFixed(1)} | ${paid.verifier.p99.toFixed(1)} | ${(paid.verifier.rps / paid.direct.rps).toFixed(2)}x |`
  )
  console.log(`failures: ${paid.failures} (non-200 through the verifier, or not settled straight)`)
} finally {
  await Effect.runPromise(Scope.close(scope, Exit.void))
}
