/**
 * Benchmark: pay on success (the verifier as the offer's backend, docs/adr/0010-pay-on-success.md)
 * against upfront (Traefik ForwardAuth, then Traefik straight to the upstream), on one whole Stack
 * (its own control plane; the real controller, verifier and registrar processes; Traefik; anvil and
 * the local facilitator; the demo echo upstream). Two offers on the same echo upstream, `upfront`
 * and `onSuccess`, and an HTTPRoute to the same upstream without any gate; in the same run:
 *
 * 1. the unpaid path: `BENCH_REQUESTS` requests (default 2,000) at concurrency `BENCH_CONCURRENCY`
 *    (default 16) per target and round, `BENCH_ROUNDS` rounds (default 3) with the targets taken in
 *    turn: the echo upstream directly (the floor), Traefik → echo without a gate, and the 402 of
 *    each mode through Traefik; latencies pooled over the rounds, requests/s the median round;
 * 2. the paid path: `BENCH_PAID` payments (default 30) sequentially, then as many at concurrency 4,
 *    for each mode through Traefik with the official x402 client, every payment signed before
 *    timing starts (a signed payment settles once); baseline: the same number of payments posted
 *    straight to the local facilitator's `/verify` and `/settle`;
 * 3. streaming: `/events?count=5&interval=200` (five server-sent events 200 ms apart), `BENCH_STREAMS`
 *    times (default 10) each: the echo upstream directly, Traefik → echo without a gate, paid upfront
 *    and paid onSuccess; time to the first event and to the end of the stream.
 *
 * Run: `npm run bench:pay-on-success -w @obol/test-envs`. This is a measurement, not a test: it
 * asserts nothing, but counts and prints every answer that was not the expected one.
 */
import { x402Client, x402HTTPClient } from "@x402/core/client"
import type { PaymentPayload, PaymentRequired } from "@x402/core/types"
import { toClientEvmSigner } from "@x402/evm"
import { registerExactEvmScheme } from "@x402/evm/exact/client"
import { Effect, Exit, Scope } from "effect"
import { privateKeyToAccount } from "viem/accounts"
import * as Fixtures from "../src/Fixtures.ts"
import * as Stack from "../src/Stack.ts"

const REQUESTS = Number(process.env["BENCH_REQUESTS"] ?? 2000)
const CONCURRENCY = Number(process.env["BENCH_CONCURRENCY"] ?? 16)
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3)
const PAID = Number(process.env["BENCH_PAID"] ?? 30)
const PAID_CONCURRENCY = 4
const STREAMS = Number(process.env["BENCH_STREAMS"] ?? 10)
const EVENTS = "/events?count=5&interval=200"

const benchStarted = performance.now()
const scope = Effect.runSync(Scope.make())
const stack = await Effect.runPromise(
  Stack.start({ progress: (line) => console.error(`stack: ${line}`) }).pipe(Scope.provide(scope))
)
const api = (method: string, path: string, body?: unknown, contentType?: string) =>
  Effect.runPromise(stack.http.request(method, path, body, contentType))
const ns = stack.upstream.namespace
const upstreamUrl = `http://${stack.upstream.address}:${stack.upstream.port}`

const quantile = (values: ReadonlyArray<number>, q: number) => {
  const sorted = values.toSorted((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
}
const median = (values: ReadonlyArray<number>) => quantile(values, 0.5)

const applied = async (path: string, body: unknown) => {
  const res = await api("PATCH", `${path}?fieldManager=bench&force=true`, body, "application/apply-patch+yaml")
  if (res.status !== 201 && res.status !== 200) throw new Error(`apply ${path}: ${res.status} ${res.body}`)
}

const offer = (name: string, settlement: "upfront" | "onSuccess") =>
  applied(`/apis/obol.org/v1alpha1/namespaces/${ns}/serviceoffers/${name}`, {
    apiVersion: "obol.org/v1alpha1",
    kind: "ServiceOffer",
    metadata: { name, namespace: ns },
    spec: {
      upstream: { service: stack.upstream.service, port: stack.upstream.port, healthPath: "/health" },
      payment: { network: "base-sepolia", payTo: stack.chain.seller, price: { perRequest: "0.001" }, settlement }
    }
  })

/** Traefik → echo with no gate: the HTTPRoute the controller writes for an offer, minus the Middleware. */
const plainRoute = () =>
  applied(
    `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes/bench-plain`,
    Fixtures.plainHttpRoute(ns, "bench-plain", {
      gateway: { namespace: stack.namespaces.gateway, name: stack.gateway.name },
      prefix: "/plain",
      service: stack.upstream.service,
      port: stack.upstream.port
    })
  )

const untilStatus = async (url: string, status: number) => {
  const since = performance.now()
  for (;;) {
    const res = await fetch(url).catch(() => undefined)
    if (res !== undefined) await res.arrayBuffer()
    if (res?.status === status) return
    if (performance.now() - since > 120_000) throw new Error(`${url}: no ${status} within 120 s (last ${res?.status})`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

interface Stats {
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly unexpected: number
  /** Why the unexpected answers were unexpected, with counts. */
  readonly reasons?: string
}

/** `count` GETs of `url` with `concurrency` in flight; latencies and the wall time. */
const load = async (url: string, expected: number, count: number, concurrency: number) => {
  const latencies: Array<number> = []
  let unexpected = 0
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++
        const t0 = performance.now()
        const res = await fetch(url).catch(() => undefined)
        if (res !== undefined) await res.arrayBuffer()
        latencies.push(performance.now() - t0)
        if (res?.status !== expected) unexpected++
      }
    })
  )
  return { latencies, wall: performance.now() - started, unexpected }
}

const buyer = () => {
  const client = new x402Client().setSpendControls(false)
  registerExactEvmScheme(client, {
    signer: toClientEvmSigner(privateKeyToAccount(stack.chain.payer.privateKey), stack.chain.client as never)
  })
  return new x402HTTPClient(client)
}
const http402 = buyer()

/** The 402 for `path` through Traefik, parsed by the official client. */
const required = async (path: string): Promise<PaymentRequired> => {
  const res = await fetch(`${stack.gatewayUrl}${path}`)
  if (res.status !== 402) throw new Error(`${path}: expected 402, got ${res.status}`)
  return http402.getPaymentRequiredResponse((name) => res.headers.get(name), await res.json())
}

/** `count` payments for `path`, each signed by the official client (each settles once). */
const signed = async (path: string, count: number) => {
  const requirements = await required(path)
  const payloads: Array<PaymentPayload> = []
  for (let i = 0; i < count; i++) payloads.push(await http402.createPaymentPayload(requirements))
  return { requirements, payloads }
}

/** Runs `f` over `items` with `concurrency` in flight; per-item latency and the wall time. */
const timed = async <A>(items: ReadonlyArray<A>, concurrency: number, f: (a: A) => Promise<true | string>) => {
  const latencies: Array<number> = []
  let unexpected = 0
  const reasons = new Map<string, number>()
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++]!
        const t0 = performance.now()
        const outcome = await f(item).catch((e: unknown) => String(e))
        if (outcome !== true) {
          unexpected++
          reasons.set(outcome, (reasons.get(outcome) ?? 0) + 1)
        }
        latencies.push(performance.now() - t0)
      }
    })
  )
  const wall = performance.now() - started
  return {
    rps: (items.length / wall) * 1000,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    unexpected,
    reasons: [...reasons].map(([reason, n]) => `${n} × ${reason}`).join("; ")
  } satisfies Stats
}

/** Paid GETs of `path` through Traefik: 200 with a settled receipt (onSuccess) or the upstream's 200 (upfront). */
const paidThroughTraefik = (path: string, receipt: boolean) => async (payload: PaymentPayload) => {
  const res = await fetch(`${stack.gatewayUrl}${path}`, { headers: http402.encodePaymentSignatureHeader(payload) })
  const body = await res.text()
  if (res.status !== 200) return `${res.status} ${body.slice(0, 160)}`
  return !receipt || http402.getPaymentSettleResponse((name) => res.headers.get(name)).success || "no receipt"
}

/** verify + settle straight at the local facilitator: what the chain and facilitator cost without us. */
const straightToFacilitator = (requirements: PaymentRequired) => async (payload: PaymentPayload) => {
  const post = async (path: string) => {
    const res = await fetch(`${stack.facilitatorUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ x402Version: 2, paymentPayload: payload, paymentRequirements: requirements.accepts[0] })
    })
    return (await res.json()) as { isValid?: boolean; success?: boolean; errorReason?: string }
  }
  const verified = await post("/verify")
  if (verified.isValid !== true) return `verify: ${verified.errorReason}`
  const settled = await post("/settle")
  return settled.success === true || `settle: ${settled.errorReason}`
}

/** One stream of `EVENTS`: ms to the first event, ms to the end, events received. */
const stream = async (url: string, headers: Record<string, string> = {}) => {
  const t0 = performance.now()
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) })
  let first = Number.NaN
  let events = 0
  let text = ""
  const decoder = new TextDecoder()
  for await (const chunk of res.body!) {
    text += decoder.decode(chunk, { stream: true })
    const seen = text.split("\n\n").filter((block) => block.includes("data: ")).length
    if (seen > 0 && Number.isNaN(first)) first = performance.now() - t0
    events = seen
  }
  return { status: res.status, first, total: performance.now() - t0, events }
}

try {
  console.error("bench: applying the offers and the ungated route")
  await offer("upf", "upfront")
  await offer("pos", "onSuccess")
  await plainRoute()
  const targets = [
    { name: "echo upstream directly (floor)", url: `${upstreamUrl}/x`, status: 200 },
    { name: "Traefik → echo, no gate", url: `${stack.gatewayUrl}/plain/x`, status: 200 },
    { name: "upfront: 402 (Traefik → ForwardAuth → verifier)", url: `${stack.gatewayUrl}/services/upf/x`, status: 402 },
    { name: "onSuccess: 402 (Traefik → verifier as backend)", url: `${stack.gatewayUrl}/services/pos/x`, status: 402 }
  ]
  for (const target of targets) await untilStatus(target.url, target.status)
  const readyAt = performance.now()
  console.error(`bench: stack and routes ready after ${((readyAt - benchStarted) / 1000).toFixed(1)} s`)

  // 1. Unpaid path.
  for (const target of targets) await load(target.url, target.status, 200, CONCURRENCY)
  const pooled = targets.map(() => ({ latencies: [] as Array<number>, rps: [] as Array<number>, unexpected: 0 }))
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, target] of targets.entries()) {
      const run = await load(target.url, target.status, REQUESTS, CONCURRENCY)
      pooled[i]!.latencies.push(...run.latencies)
      pooled[i]!.rps.push((REQUESTS / run.wall) * 1000)
      pooled[i]!.unexpected += run.unexpected
    }
  }
  const unpaid = pooled.map((p): Stats & { readonly rpsRange: string } => ({
    rps: median(p.rps),
    rpsRange: `${Math.min(...p.rps).toFixed(0)}–${Math.max(...p.rps).toFixed(0)}`,
    p50: quantile(p.latencies, 0.5),
    p99: quantile(p.latencies, 0.99),
    unexpected: p.unexpected
  }))
  const unpaidDone = performance.now()
  console.error(`bench: unpaid path done in ${((unpaidDone - readyAt) / 1000).toFixed(1)} s`)

  // 2. Paid path: all payments signed before timing starts.
  const upfPaid = await signed("/services/upf/x", 2 * PAID)
  const posPaid = await signed("/services/pos/x", 2 * PAID)
  const facPaid = await signed("/services/upf/x", 2 * PAID)
  const sequential = new Map<string, Stats>()
  const concurrent = new Map<string, Stats>()
  const paidRows = [
    ["straight to the facilitator: /verify + /settle (baseline)", facPaid, straightToFacilitator(facPaid.requirements)],
    ["upfront: ForwardAuth settles, then Traefik → echo", upfPaid, paidThroughTraefik("/services/upf/x", false)],
    ["onSuccess: verifier → echo, settles on its 200", posPaid, paidThroughTraefik("/services/pos/x", true)]
  ] as const
  for (const [name, batch, f] of paidRows) sequential.set(name, await timed(batch.payloads.slice(0, PAID), 1, f))
  for (const [name, batch, f] of paidRows) {
    concurrent.set(name, await timed(batch.payloads.slice(PAID), PAID_CONCURRENCY, f))
  }
  const paid = (name: string) => ({ seq: sequential.get(name)!, conc: concurrent.get(name)! })
  const paidDone = performance.now()
  console.error(`bench: paid path done in ${((paidDone - unpaidDone) / 1000).toFixed(1)} s`)

  // 3. Streaming.
  const upfStream = await signed(`/services/upf${EVENTS}`, STREAMS)
  const posStream = await signed(`/services/pos${EVENTS}`, STREAMS)
  const streamRows = [
    { name: "echo upstream directly (floor)", url: `${upstreamUrl}${EVENTS}`, payloads: undefined },
    { name: "Traefik → echo, no gate", url: `${stack.gatewayUrl}/plain${EVENTS}`, payloads: undefined },
    { name: "upfront, paid", url: `${stack.gatewayUrl}/services/upf${EVENTS}`, payloads: upfStream.payloads },
    { name: "onSuccess, paid", url: `${stack.gatewayUrl}/services/pos${EVENTS}`, payloads: posStream.payloads }
  ]
  const streams = streamRows.map(() => ({ first: [] as Array<number>, total: [] as Array<number>, unexpected: 0 }))
  for (let i = 0; i < STREAMS; i++) {
    for (const [j, row] of streamRows.entries()) {
      const headers = row.payloads === undefined ? {} : http402.encodePaymentSignatureHeader(row.payloads[i]!)
      const result = await stream(row.url, headers).catch(() => undefined)
      if (result === undefined || result.status !== 200 || result.events !== 5) streams[j]!.unexpected++
      else {
        streams[j]!.first.push(result.first)
        streams[j]!.total.push(result.total)
      }
    }
  }
  const streamDone = performance.now()
  console.error(`bench: streaming done in ${((streamDone - paidDone) / 1000).toFixed(1)} s`)

  // Report.
  const f0 = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 0 })
  const f1 = (n: number) => n.toFixed(1)
  const x = (n: number) => `${n.toFixed(2)}x`
  const [direct, plain, upf, pos] = [unpaid[0]!, unpaid[1]!, unpaid[2]!, unpaid[3]!]
  console.log(
    `\n1. unpaid path: ${f0(REQUESTS)} requests × ${ROUNDS} rounds at concurrency ${CONCURRENCY} per target (keep-alive, load generator on the same cores)`
  )
  console.log("| target | requests/s (median round; min–max) | p50 ms | p99 ms | p50 vs echo directly | unexpected |")
  console.log("|---|---:|---:|---:|---:|---:|")
  for (const [i, target] of targets.entries()) {
    const s = unpaid[i]!
    console.log(
      `| ${target.name} | ${f0(s.rps)} (${s.rpsRange}) | ${f1(s.p50)} | ${f1(s.p99)} | ${x(s.p50 / direct.p50)} | ${s.unexpected} |`
    )
  }
  console.log(
    `onSuccess / upfront: requests/s ${x(pos.rps / upf.rps)}, p50 ${x(pos.p50 / upf.p50)}, p99 ${x(pos.p99 / upf.p99)}; ` +
      `onSuccess / Traefik→echo: requests/s ${x(pos.rps / plain.rps)}, p50 ${x(pos.p50 / plain.p50)}; ` +
      `onSuccess / echo directly: requests/s ${x(pos.rps / direct.rps)}, p50 ${x(pos.p50 / direct.p50)}`
  )

  console.log(`\n2. paid path: ${PAID} payments sequentially, then ${PAID} at concurrency ${PAID_CONCURRENCY}, per row`)
  console.log(
    "| path | sequential requests/s | p50 ms | p99 ms | concurrency 4 requests/s | p50 ms | p99 ms | unexpected |"
  )
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|")
  for (const [name] of paidRows) {
    const { seq, conc } = paid(name)
    console.log(
      `| ${name} | ${f0(seq.rps)} | ${f1(seq.p50)} | ${f1(seq.p99)} | ${f0(conc.rps)} | ${f1(conc.p50)} | ${f1(conc.p99)} | ${seq.unexpected + conc.unexpected} |`
    )
    for (const reasons of [seq.reasons, conc.reasons]) if (reasons) console.error(`bench: ${name}: ${reasons}`)
  }
  const [fac, upfP, posP] = [paid(paidRows[0][0]), paid(paidRows[1][0]), paid(paidRows[2][0])]
  console.log(
    `onSuccess / upfront: sequential p50 ${x(posP.seq.p50 / upfP.seq.p50)}, requests/s ${x(posP.seq.rps / upfP.seq.rps)}; ` +
      `concurrency 4 p50 ${x(posP.conc.p50 / upfP.conc.p50)}, requests/s ${x(posP.conc.rps / upfP.conc.rps)}. ` +
      `Facilitator alone is ${((fac.seq.p50 / posP.seq.p50) * 100).toFixed(0)} % of onSuccess's sequential p50 ` +
      `and ${((fac.seq.p50 / upfP.seq.p50) * 100).toFixed(0)} % of upfront's`
  )

  console.log(`\n3. streaming ${EVENTS}: ${STREAMS} streams per row, sequential, rows in turn`)
  console.log(
    "| path | first event p50 ms | max ms | whole stream p50 ms | max ms | first event vs echo directly | unexpected |"
  )
  console.log("|---|---:|---:|---:|---:|---:|---:|")
  const directFirst = median(streams[0]!.first)
  for (const [j, row] of streamRows.entries()) {
    const s = streams[j]!
    console.log(
      `| ${row.name} | ${f1(median(s.first))} | ${f1(Math.max(...s.first))} | ${f1(median(s.total))} | ${f1(Math.max(...s.total))} | ${x(median(s.first) / directFirst)} | ${s.unexpected} |`
    )
  }
  const upfS = streams[2]!
  const posS = streams[3]!
  console.log(
    `onSuccess / upfront: first event ${x(median(posS.first) / median(upfS.first))}, whole stream ${x(median(posS.total) / median(upfS.total))}; ` +
      `onSuccess / echo directly: first event ${x(median(posS.first) / directFirst)} (+${f1(median(posS.first) - directFirst)} ms), ` +
      `whole stream ${x(median(posS.total) / median(streams[0]!.total))} (+${f1(median(posS.total) - median(streams[0]!.total))} ms)`
  )
  console.log(
    `\ntimes: stack and routes ${((readyAt - benchStarted) / 1000).toFixed(1)} s, unpaid ${((unpaidDone - readyAt) / 1000).toFixed(1)} s, paid ${((paidDone - unpaidDone) / 1000).toFixed(1)} s, streaming ${((streamDone - paidDone) / 1000).toFixed(1)} s`
  )
} finally {
  await Effect.runPromise(Scope.close(scope, Exit.void))
}
