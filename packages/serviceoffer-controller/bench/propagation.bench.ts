/**
 * Benchmark: how fast an offer becomes real. For 100 offers, each created after the previous one is
 * Ready, on the real
 * kube-apiserver, the time from the create call returning to (a) its PaymentRoute existing and
 * (b) the offer being Ready, with the benchmark playing the x402 verifier (admitting every
 * PaymentRoute as soon as it appears) and the Gateway (accepting every HTTPRoute). The baseline in
 * the same run is the API server's own round trip: create-to-watch-event of a bare ConfigMap.
 *
 * Run: `npm run bench -w @obol/serviceoffer-controller` (BENCH_OFFERS sets the count; BENCH_MODE=burst
 * creates them all at once).
 */
import { Context, Effect, Exit, Fiber, Layer, Scope, Stream } from "effect"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import * as EventRecorder from "@obol/controller/EventRecorder"
import * as Watcher from "@obol/controller/Watcher"
import { ConfigMap } from "@obol/kube/builtin/ConfigMap"
import { HTTPRoute } from "@obol/kube/builtin/HTTPRoute"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeConfig from "@obol/kube/KubeConfig"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import { ControlPlane } from "@obol/test-envs/ControlPlane"
import * as ServiceOfferController from "../src/ServiceOfferController.ts"
import * as ServiceOfferReconciler from "../src/ServiceOfferReconciler.ts"
import * as UpstreamProbe from "../src/UpstreamProbe.ts"
import * as StandIns from "./StandIns.ts"

const N = Number(process.env["BENCH_OFFERS"] ?? 100)
/** BENCH_MODE=burst creates all offers at once instead of one after another. */
const burst = process.env["BENCH_MODE"] === "burst"
const ns = "bench"

const quantile = (values: ReadonlyArray<number>, q: number) => {
  const sorted = values.toSorted((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
}

const offer = (i: number) => StandIns.offer(ns, i)

const main = Effect.gen(function* () {
  const client = yield* KubeClient.KubeClient
  const created = new Map<string, number>()
  const routeSeen = new Map<string, number>()
  const readySeen = new Map<string, number>()

  // The test verifier and gateway, and the observers.
  const verifier = Watcher.watch(client, PaymentRoute, { namespace: ns }).pipe(
    Stream.runForEach((event) =>
      Effect.gen(function* () {
        const routes = event._tag === "Restarted" ? event.objects : event._tag === "Applied" ? [event.object] : []
        for (const route of routes) {
          const offerName = route.spec.offer.name
          if (!routeSeen.has(offerName)) routeSeen.set(offerName, performance.now())
          if (route.status?.lastAdmittedGeneration === route.metadata.generation) continue
          yield* StandIns.admit(client, ns, route)
        }
      })
    )
  )
  const gateway = Watcher.watch(client, HTTPRoute, { namespace: ns }).pipe(
    Stream.runForEach((event) =>
      Effect.gen(function* () {
        if (event._tag !== "Applied" || (event.object.status?.parents ?? []).length > 0) return
        yield* StandIns.accept(client, ns, event.object.metadata.name ?? "")
      })
    )
  )
  const observer = Watcher.watch(client, ServiceOffer, { namespace: ns }).pipe(
    Stream.runForEach((event) =>
      Effect.sync(() => {
        if (event._tag !== "Applied") return
        const ready = (event.object.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")
        const name = event.object.metadata.name ?? ""
        if (ready && !readySeen.has(name)) readySeen.set(name, performance.now())
      })
    )
  )
  const fibers = yield* Effect.forEach(
    [verifier, gateway, observer, ServiceOfferController.run({ namespace: ns })],
    (f) => Effect.forkChild(f as Effect.Effect<unknown, never, never>)
  )
  yield* Effect.sleep("2 seconds")

  // Baseline: create-to-watch-event of a ConfigMap.
  const cmSeen = new Map<string, number>()
  const cmWatch = yield* Watcher.watch(client, ConfigMap, { namespace: ns }).pipe(
    Stream.runForEach((event) =>
      Effect.sync(() => event._tag === "Applied" && cmSeen.set(event.object.metadata.name ?? "", performance.now()))
    ),
    Effect.forkChild
  )
  yield* Effect.sleep("1 second")
  const cmCreated = new Map<string, number>()
  for (let i = 0; i < N; i++) {
    yield* client.create(ConfigMap, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `cm-${i}`, namespace: ns }
    })
    cmCreated.set(`cm-${i}`, performance.now())
  }

  if (burst) {
    // All at once: latency includes waiting behind the other offers in the work queue.
    for (let i = 0; i < N; i++) {
      yield* client.create(ServiceOffer, offer(i))
      created.set(`offer-${i}`, performance.now())
    }
    const allReady = () => readySeen.size >= N
    const deadline = performance.now() + 120_000
    while (!allReady() && performance.now() < deadline) yield* Effect.sleep("20 millis")
  } else {
    // One offer at a time: each is measured alone, not behind a queue of others.
    for (let i = 0; i < N; i++) {
      yield* client.create(ServiceOffer, offer(i))
      created.set(`offer-${i}`, performance.now())
      const isReady = () => readySeen.has(`offer-${i}`)
      const deadline = performance.now() + 30_000
      while (!isReady() && performance.now() < deadline) yield* Effect.sleep("2 millis")
    }
  }
  yield* Effect.forEach([...fibers, cmWatch], Fiber.interrupt)

  const lag = (seen: Map<string, number>, start: Map<string, number>) =>
    [...start].flatMap(([name, t]) => (seen.has(name) ? [Math.max(0, seen.get(name)! - t)] : []))
  const base = lag(cmSeen, cmCreated)
  const toRoute = lag(routeSeen, created)
  const toReady = lag(readySeen, created)
  const row = (what: string, values: ReadonlyArray<number>) =>
    `| ${what} | ${values.length}/${N} | ${quantile(values, 0.5).toFixed(0)} | ${quantile(values, 0.99).toFixed(0)} |`
  console.log(
    `\npropagation over ${N} offers, ${burst ? "created all at once" : "each created after the previous one was Ready"} (ms, same run)`
  )
  console.log("| from create returned to | seen | p50 ms | p99 ms |")
  console.log("|---|---:|---:|---:|")
  console.log(row("ConfigMap watch event (baseline: API server round trip)", base))
  console.log(row("PaymentRoute applied", toRoute))
  console.log(row("offer Ready (test verifier and gateway)", toReady))
})

const scope = Effect.runSync(Scope.make())
try {
  const context = await Effect.runPromise(Layer.buildWithScope(ControlPlane.layer(), scope))
  const control = Context.get(context, ControlPlane)
  await Effect.runPromise(
    control.http.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } })
  )
  const layer = Layer.mergeAll(
    NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layerFromFile(control.kubeconfig))),
    // The verifier's Service in the offers' namespace, as with one namespace per seller and verifier:
    // no ReferenceGrant (a default install's x402 namespace does not exist here).
    ServiceOfferReconciler.ReconcilerSettings.layer({
      verifierService: { namespace: ns, name: "x402-verifier", port: 8080 }
    }),
    UpstreamProbe.layerMemory(new Map()),
    EventRecorder.layerNoop
  )
  await Effect.runPromise(main.pipe(Effect.provide(layer)) as Effect.Effect<void, unknown, never>)
} finally {
  await Effect.runPromise(Scope.close(scope, Exit.void))
}
