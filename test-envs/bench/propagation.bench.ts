/**
 * Benchmark: an offer applied → its first 402 through the real Gateway, on the whole Stack (real
 * controller, verifier and registrar processes, Traefik with a 100 ms provider throttle, its own
 * control plane). For `BENCH_OFFERS` offers (default 100), one at a time (each after the previous
 * one answered 402) and then all at once: the time from the server-side apply returning (what
 * `kubectl apply` sends) to the first 402 on the offer's path, polled every 5 ms. Baselines in the
 * same run: the API server's own create → watch-event round trip for a ConfigMap, as in the
 * controller-only benchmark (`packages/serviceoffer-controller/bench`), and Traefik's own: a bare
 * HTTPRoute to the demo upstream (no controller, no gate) applied → its first 200 through Traefik,
 * one at a time with the same pause.
 *
 * Run: `npm run bench -w @obol/test-envs`. This is a measurement, not a test: it asserts nothing.
 */
import { copyFileSync, existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { Effect, Exit, Fiber, Layer, Scope, Stream } from "effect"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import * as Watcher from "@obol/controller/Watcher"
import { ConfigMap } from "@obol/kube/builtin/ConfigMap"
import { HTTPRoute } from "@obol/kube/builtin/HTTPRoute"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeConfig from "@obol/kube/KubeConfig"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import * as Fixtures from "../src/Fixtures.ts"
import * as Stack from "../src/Stack.ts"

const N = Number(process.env["BENCH_OFFERS"] ?? 100)
/** BENCH_TRAEFIK_THROTTLE: Traefik's provider throttle (the Stack's default is 100ms; Traefik's own is 2s). */
const throttle = process.env["BENCH_TRAEFIK_THROTTLE"]
/**
 * BENCH_PAUSE_MS: a pause before each offer of the one-at-a-time series (default 0: each right
 * after the previous one answered 402). A user applying one offer does not apply the next one
 * ~400 ms later; a pause of a few seconds measures an apply on a quiet system (Traefik's API client
 * has its rate-limit tokens back).
 */
const pauseMs = Number(process.env["BENCH_PAUSE_MS"] ?? 0)
/**
 * BENCH_KEEP_LOGS: a directory to copy every stack process's log into when the bench ends (the
 * stack's own directory goes with it), e.g. to find out why an offer never answered 402.
 */
const keepLogs = process.env["BENCH_KEEP_LOGS"]
const scope = Effect.runSync(Scope.make())
const stack = await Effect.runPromise(
  Stack.start({
    progress: (line) => console.error(`stack: ${line}`),
    ...(throttle === undefined ? {} : { traefikThrottle: throttle })
  }).pipe(Scope.provide(scope))
)
const api = (method: string, path: string, body?: unknown, contentType?: string) =>
  Effect.runPromise(stack.http.request(method, path, body, contentType))
const ns = stack.upstream.namespace

const quantile = (values: ReadonlyArray<number>, q: number) => {
  const sorted = values.toSorted((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
}

const apply = async (name: string) => {
  const res = await api(
    "PATCH",
    `/apis/obol.org/v1alpha1/namespaces/${ns}/serviceoffers/${name}?fieldManager=bench&force=true`,
    {
      apiVersion: "obol.org/v1alpha1",
      kind: "ServiceOffer",
      metadata: { name, namespace: ns },
      spec: {
        upstream: { service: stack.upstream.service, port: stack.upstream.port, healthPath: "/health" },
        payment: { network: "base-sepolia", payTo: stack.chain.seller, price: { perRequest: "0.001" } }
      }
    },
    "application/apply-patch+yaml"
  )
  if (res.status !== 201 && res.status !== 200) throw new Error(`apply ${name}: ${res.status} ${res.body}`)
}

/** Milliseconds from `since` until `path` answers `status` through the Gateway, polled every 5 ms. */
const firstAnswer = async (path: string, status: number, since: number) => {
  for (;;) {
    const res = await fetch(`${stack.gatewayUrl}${path}`).catch(() => undefined)
    if (res !== undefined) await res.arrayBuffer()
    if (res?.status === status) return performance.now() - since
    if (performance.now() - since > 120_000) throw new Error(`${path}: no ${status} within 120 s (last ${res?.status})`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Milliseconds from `since` until the offer's path answers 402 through the Gateway. */
const first402 = (name: string, since: number) => firstAnswer(`/services/${name}/x`, 402, since)

/** Traefik's own share: a bare HTTPRoute to the demo upstream applied → its first 200 through Traefik. */
const bareRoute = async (name: string) => {
  const started = performance.now()
  const res = await api(
    "PATCH",
    `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes/${name}?fieldManager=bench&force=true`,
    Fixtures.plainHttpRoute(ns, name, {
      gateway: { namespace: stack.namespaces.gateway, name: stack.gateway.name },
      prefix: `/${name}`,
      service: stack.upstream.service,
      port: stack.upstream.port
    }),
    "application/apply-patch+yaml"
  )
  if (res.status !== 201 && res.status !== 200) throw new Error(`apply ${name}: ${res.status} ${res.body}`)
  return firstAnswer(`/${name}/health`, 200, started)
}

/** The API server's own round trip: a ConfigMap created → its watch event, up to 50 times. */
const baseline = () =>
  Effect.gen(function* () {
    const client = yield* KubeClient.KubeClient
    const seen = new Map<string, number>()
    const watch = yield* Watcher.watch(client, ConfigMap, { namespace: ns }).pipe(
      Stream.runForEach((event) =>
        Effect.sync(() => event._tag === "Applied" && seen.set(event.object.metadata.name ?? "", performance.now()))
      ),
      Effect.forkChild
    )
    yield* Effect.sleep("1 second")
    const times: Array<number> = []
    for (let i = 0; i < Math.min(N, 50); i++) {
      const name = `baseline-${i}`
      yield* client.create(ConfigMap, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns } })
      const created = performance.now()
      while (!seen.has(name)) yield* Effect.sleep("1 millis")
      times.push(Math.max(0, seen.get(name)! - created))
    }
    yield* Fiber.interrupt(watch)
    return times
  }).pipe(
    Effect.provide(NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layerFromFile(stack.kubeconfig)))),
    Effect.runPromise
  )

/** When each offer's stages were first seen in a watch: PaymentRoute, admitted, HTTPRoute, accepted. */
const stages = new Map<string, { route?: number; admitted?: number; httpRoute?: number; accepted?: number }>()
const stageOf = (offer: string) => {
  let s = stages.get(offer)
  if (s === undefined) stages.set(offer, (s = {}))
  return s
}
const ownerOf = (object: {
  readonly metadata: { readonly ownerReferences?: ReadonlyArray<{ readonly name: string }> }
}) => object.metadata.ownerReferences?.[0]?.name
const observe = Effect.gen(function* () {
  const client = yield* KubeClient.KubeClient
  const routes = Watcher.watch(client, PaymentRoute, { namespace: ns }).pipe(
    Stream.runForEach((event) =>
      Effect.sync(() => {
        const objects = event._tag === "Restarted" ? event.objects : event._tag === "Applied" ? [event.object] : []
        const now = performance.now()
        for (const route of objects) {
          const s = stageOf(route.spec.offer.name)
          s.route ??= now
          if (route.status?.admitted === true) s.admitted ??= now
        }
      })
    )
  )
  const httpRoutes = Watcher.watch(client, HTTPRoute, { namespace: ns }).pipe(
    Stream.runForEach((event) =>
      Effect.sync(() => {
        const objects = event._tag === "Restarted" ? event.objects : event._tag === "Applied" ? [event.object] : []
        const now = performance.now()
        for (const route of objects) {
          const offer = ownerOf(route)
          if (offer === undefined) continue
          const s = stageOf(offer)
          s.httpRoute ??= now
          const accepted = (route.status?.parents ?? []).some((p) =>
            (p.conditions ?? []).some((c) => c.type === "Accepted" && c.status === "True")
          )
          if (accepted) s.accepted ??= now
        }
      })
    )
  )
  yield* Effect.all([routes, httpRoutes], { concurrency: "unbounded", discard: true })
}).pipe(
  Effect.provide(NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layerFromFile(stack.kubeconfig)))),
  Effect.runFork
)

try {
  const base = await baseline()
  const bare: Array<number> = []
  for (let i = 0; i < Math.min(N, 20); i++) {
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
    bare.push(await bareRoute(`bare-${i}`))
  }
  const oneAtATime: Array<number> = []
  const breakdown: Record<"route" | "admitted" | "httpRoute" | "accepted" | "served", Array<number>> = {
    route: [],
    admitted: [],
    httpRoute: [],
    accepted: [],
    served: []
  }
  for (let i = 0; i < N; i++) {
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
    const started = performance.now()
    await apply(`seq-${i}`)
    const took = await first402(`seq-${i}`, started)
    oneAtATime.push(took)
    const s = stageOf(`seq-${i}`)
    // Each stage's own share: from the previous stage's time to this one's.
    let previous = started
    for (const stage of ["route", "admitted", "httpRoute", "accepted"] as const) {
      const at = s[stage] ?? Number.NaN
      breakdown[stage].push(at - previous)
      previous = at
    }
    breakdown.served.push(started + took - previous)
  }
  const burstStarted = performance.now()
  await Promise.all(Array.from({ length: N }, (_, i) => apply(`burst-${i}`)))
  const burst = await Promise.all(Array.from({ length: N }, (_, i) => first402(`burst-${i}`, burstStarted)))
  const row = (what: string, values: ReadonlyArray<number>) =>
    `| ${what} | ${quantile(values, 0.5).toFixed(0)} | ${quantile(values, 0.99).toFixed(0)} |`
  console.log(
    `\noffer applied → first 402 through Traefik (${throttle ?? "100ms"} provider throttle), ${N} offers, same run` +
      (pauseMs > 0 ? `; ${pauseMs} ms pause before each offer of the one-at-a-time series` : "")
  )
  console.log("| what | p50 ms | p99 ms |")
  console.log("|---|---:|---:|")
  console.log(row("ConfigMap created → its watch event (API server baseline)", base))
  console.log(
    row(`bare HTTPRoute applied → first 200 through Traefik (Traefik's baseline, ${bare.length} routes)`, bare)
  )
  console.log(row("one offer at a time: applied → 402 through Traefik", oneAtATime))
  console.log(row(`${N} offers at once: applied → 402 through Traefik`, burst))
  console.log("\none offer at a time, where the time goes (each stage from the previous one, first seen in a watch)")
  console.log("| stage | p50 ms | p99 ms |")
  console.log("|---|---:|---:|")
  console.log(row("applied → PaymentRoute exists (controller)", breakdown.route))
  console.log(row("→ PaymentRoute admitted (verifier)", breakdown.admitted))
  console.log(row("→ HTTPRoute exists (controller)", breakdown.httpRoute))
  console.log(row("→ HTTPRoute Accepted (Traefik's status write)", breakdown.accepted))
  console.log(row("→ first 402 through Traefik (Traefik's reload)", breakdown.served))
  console.log(`all ${N} of the burst answered 402 within ${Math.max(...burst).toFixed(0)} ms`)
} finally {
  if (keepLogs !== undefined) {
    mkdirSync(keepLogs, { recursive: true })
    for (const [name, file] of Object.entries(stack.logs)) {
      if (existsSync(file)) copyFileSync(file, join(keepLogs, `${name}.log`))
    }
    console.error(`logs kept in ${keepLogs}`)
  }
  await Effect.runPromise(Fiber.interrupt(observe))
  await Effect.runPromise(Scope.close(scope, Exit.void))
}
