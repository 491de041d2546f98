/**
 * Benchmark of the verifier's 402 path and route lookups, in one run:
 * - requests/s and p99 of unpaid requests answered 402 by the verifier (10,000 routes loaded),
 *   against a bare Node `http` server returning the same 402 bytes (the baseline), all loaded by the same
 *   child-process generator with 32 keep-alive connections;
 * - route lookup time with 10,000 routes, by identity and by path.
 * The paid path needs the chain tier (anvil, token, local facilitator) and is not measured here.
 *
 * Run: `npm run bench -w @obol/x402-verifier` (BENCH_REQUESTS sets the request count).
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Exit, Layer, Option, Scope } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { execFile } from "node:child_process"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { promisify } from "node:util"
import * as Facilitator from "@obol/x402/Facilitator"
import * as Requirements from "@obol/x402/Requirements"
import * as PathMatch from "../src/PathMatch.ts"
import * as RouteTable from "../src/RouteTable.ts"
import type * as Routes from "../src/Routes.ts"
import * as Verifier from "../src/Verifier.ts"

const run = promisify(execFile)
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
    generation: 1,
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
  const port = await new Promise<number>((resolve) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const p = (probe.address() as AddressInfo).port
      probe.close(() => resolve(p))
    })
  })
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
  const port2 = await new Promise<number>((resolve) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const p = (probe.address() as AddressInfo).port
      probe.close(() => resolve(p))
    })
  })
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
  console.log("| lookup | ns/op |")
  console.log("|---|---:|")
  for (const l of lookups) console.log(`| ${l.label} | ${l.nsPerOp.toFixed(0)} |`)
} finally {
  await Effect.runPromise(Scope.close(scope, Exit.void))
}
