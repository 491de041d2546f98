/**
 * Benchmark of one informer event's decision work: `Admission` (what an event touches) against
 * `Routes.build` (every route decided and the table built whole, what each event cost before), in
 * the same run, at 1,000 and 10,000 routes. The events: a route added (a new offer's), a route
 * changed (a new generation), a route deleted, and an offer's identity changed (recreated with a
 * new uid, so its route is refused, then back). Every route has its own prefix, as the controller
 * writes them; the last row adds one `/*` route from the oldest offer, which overlaps every route,
 * so a change there re-claims all of them (the worst case).
 *
 * Times are per event (the put/remove and the commit, table update included), mean and p99 over
 * the iterations (a tenth of them in the worst case); the full build's mean is over fewer
 * iterations. Nothing is written anywhere.
 *
 * Run: `npm run bench:admission -w @obol/x402-verifier` (BENCH_EVENTS sets the iterations per row,
 * default 400).
 */
import { Schema } from "effect"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import * as Fixtures from "@obol/test-envs/Fixtures"
import * as Admission from "../src/Admission.ts"
import * as Routes from "../src/Routes.ts"

const EVENTS = Number(process.env["BENCH_EVENTS"] ?? 400)
const FULL = 15

const created = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString()
const route = (i: number, pattern = `/services/r${i}/*`, generation = 1): PaymentRoute =>
  Schema.decodeUnknownSync(PaymentRoute.schema)(
    Fixtures.paymentRoute(`tenant-${i % 100}`, `r${i}`, {
      pattern,
      owner: { name: `r${i}`, uid: `offer-${i}` },
      metadata: { uid: `route-${i}`, generation, creationTimestamp: created(i) }
    })
  )
const withGeneration = (r: PaymentRoute, generation: number): PaymentRoute => ({
  ...r,
  metadata: { ...r.metadata, generation }
})

const stats = (samples: Array<number>) => {
  const sorted = samples.toSorted((a, b) => a - b)
  return {
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
    p99: sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))]!
  }
}
const time = (iterations: number, f: (i: number) => void, between: (i: number) => void = () => {}) => {
  const samples: Array<number> = []
  for (let i = 0; i < iterations; i++) {
    const started = performance.now()
    f(i)
    samples.push(performance.now() - started)
    between(i)
  }
  return stats(samples)
}

const scenario = (size: number, root: boolean) => {
  // Every event of the worst case costs about a rebuild: fewer of them.
  const events = root ? Math.max(20, Math.floor(EVENTS / 10)) : EVENTS
  const routes = Array.from({ length: size }, (_, i) => route(i))
  // The `/*` route belongs to the oldest offer (index -1 sorts first by creation time).
  const all = root ? [...routes, route(-1, "/*")] : routes
  const uids = new Map<string, string>()
  const options: Routes.Options = {
    facilitatorUrl: "http://127.0.0.1:4021",
    owner: (key) => {
      const i = Number(key.slice(key.lastIndexOf("/r") + 2))
      return { _tag: "Present", uid: uids.get(key) ?? `offer-${i}`, creationTimestamp: created(i) }
    }
  }
  const admission = Admission.make(options)
  for (const r of all) admission.put(r)
  admission.commit()
  const current = new Map(all.map((r) => [Routes.keyOf(r), r]))
  const full = () => Routes.build([...current.values()], options)
  const pick = (i: number) => routes[(i * 7919) % size]!
  const fresh = Array.from({ length: EVENTS }, (_, i) => route(size + i))

  const rows = {
    "add one route": time(
      events,
      (i) => {
        admission.put(fresh[i]!)
        admission.commit()
      },
      (i) => {
        admission.remove(Routes.keyOf(fresh[i]!))
        admission.commit()
      }
    ),
    "change one route": time(events, (i) => {
      const r = pick(i)
      admission.put(withGeneration(r, 2 + i))
      admission.commit()
    }),
    "delete one route": time(
      events,
      (i) => {
        admission.remove(Routes.keyOf(pick(i)))
        admission.commit()
      },
      (i) => {
        admission.put(pick(i))
        admission.commit()
      }
    ),
    "change one offer's identity": time(
      events,
      (i) => {
        const offer = Routes.offerOf(pick(i))
        uids.set(offer, `recreated-${i}`)
        admission.offerChanged(offer)
        admission.commit()
      },
      (i) => {
        const offer = Routes.offerOf(pick(i))
        uids.delete(offer)
        admission.offerChanged(offer)
        admission.commit()
      }
    )
  }
  full()
  const rebuild = time(FULL, () => full())
  return { rows, rebuild }
}

const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(1)} ms`)
console.log(`one informer event, ${EVENTS} events per row, full rebuild over ${FULL}, same run`)
console.log("| routes | event | Admission mean | Admission p99 | full rebuild mean | rebuild / Admission |")
console.log("|---:|---|---:|---:|---:|---:|")
for (const [size, root] of [
  [1_000, false],
  [10_000, false],
  [10_000, true]
] as const) {
  const { rows, rebuild } = scenario(size, root)
  for (const [event, s] of Object.entries(rows)) {
    console.log(
      `| ${size.toLocaleString("en")}${root ? " + one `/*`" : ""} | ${event} | ${fmt(s.mean)} | ${fmt(s.p99)} | ${fmt(rebuild.mean)} | ${(rebuild.mean / s.mean).toFixed(0)}x |`
    )
  }
}
