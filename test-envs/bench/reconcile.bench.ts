/**
 * Benchmark: no-op reconciles per second over 10,000 objects (1 and 4 workers), and memory per
 * cached object, against the real kube-apiserver from test-envs. Baselines in the same run: the
 * bare Scheduler running 10,000 no-op keys (the queue's own ceiling), and controller-runtime's
 * published figures (about 230 reconciles/s per worker; about 14-16 KiB per cached object).
 *
 * Run: `npm run bench:reconcile -w @obol/test-envs` (BENCH_OBJECTS sets the count; node runs with
 * --expose-gc). It lives in test-envs because `@obol/controller` must not depend on test-envs.
 *
 * `BENCH_MODE=scheduler` times the bare Scheduler alone, with no control plane: for each count in
 * `BENCH_KEYS` (comma-separated, default `10000,100000`) it schedules that many keys an hour ahead,
 * schedules each again for now (the earlier time wins, so every key moves forward), then dequeues
 * all of them through one no-op worker. The dequeue phase stops after `BENCH_DEADLINE` seconds
 * (default 30) and reports the rate over the keys it got through.
 */
import { Context, Duration, Effect, Exit, Fiber, Layer, Schema, Scope } from "effect"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeConfig from "@obol/kube/KubeConfig"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import * as ResourceKind from "@obol/kube/ResourceKind"
import * as Action from "@obol/controller/Action"
import * as Controller from "@obol/controller/Controller"
import * as Scheduler from "@obol/controller/Scheduler"
import * as Store from "@obol/controller/Store"
import { ControlPlane } from "../src/ControlPlane.ts"
import { LooseServiceOffer } from "@obol/kube/testing/LooseServiceOffer"

const N = Number(process.env["BENCH_OBJECTS"] ?? 10_000)
const MODE = process.env["BENCH_MODE"] ?? "reconcile"
const KEYS = (process.env["BENCH_KEYS"] ?? "10000,100000").split(",").map(Number)
const DEADLINE_MS = Number(process.env["BENCH_DEADLINE"] ?? 30) * 1000
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})

/** ServiceOffer with `spec` and `status` as open records: the bench needs nothing from `@obol/api`. */
const Offer = LooseServiceOffer

const offer = (i: number) => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "ServiceOffer",
  metadata: {
    name: `offer-${i}`,
    namespace: "bench",
    labels: { "app.kubernetes.io/name": `offer-${i}`, tier: "bench" }
  },
  spec: {
    type: "inference",
    model: { name: "qwen3.5:35b", runtime: "ollama" },
    upstream: { service: "ollama", namespace: "llm", port: 11434, healthPath: "/api/tags" },
    payment: {
      network: "base-sepolia",
      payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      price: { perMTok: "1.25" }
    },
    registration: {
      enabled: true,
      name: `Offer ${i}`,
      description: "A benchmark offer with a realistic amount of text in it."
    }
  }
})

const heap = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

interface Phase {
  readonly keys: number
  readonly seconds: number
}

const perSecond = (phase: Phase) => phase.keys / phase.seconds

/**
 * Schedules `n` keys on a bare Scheduler, moves each forward, then dequeues them all. The runner
 * starts only after both schedule phases, so they time `schedule` alone; the dequeue phase stops
 * at the deadline.
 */
const schedulerPhases = (n: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const scheduler = yield* Scheduler.make({ name: "bare", concurrency: 1 })
      const scheduleAll = (delay: Duration.Input) =>
        Effect.gen(function* () {
          const started = performance.now()
          for (let i = 0; i < n; i++) yield* scheduler.schedule(`k${i}`, delay)
          return { keys: n, seconds: (performance.now() - started) / 1000 }
        })
      const schedule = yield* scheduleAll("1 hour")
      const moveForward = yield* scheduleAll("0 millis")
      let done = 0
      const started = performance.now()
      const fiber = yield* scheduler
        .run(() => Effect.sync(() => void done++).pipe(Effect.as({ _tag: "Succeeded" } as const)))
        .pipe(Effect.forkChild)
      const stop = () => done >= n || performance.now() - started >= DEADLINE_MS
      while (!stop()) yield* Effect.sleep("1 millis")
      const dequeue = { keys: done, seconds: (performance.now() - started) / 1000 }
      yield* Fiber.interrupt(fiber)
      return { n, schedule, moveForward, dequeue }
    })
  )

const schedulerOnly = Effect.gen(function* () {
  const results = []
  for (const n of KEYS) results.push(yield* schedulerPhases(n))
  console.log(`bare Scheduler, 1 no-op worker (deadline ${DEADLINE_MS / 1000} s per phase)`)
  console.log("| keys | schedule (keys/s) | schedule earlier (keys/s) | dequeue (keys/s) | dequeued | total s |")
  console.log("|---:|---:|---:|---:|---:|---:|")
  for (const { n, schedule, moveForward, dequeue } of results) {
    const total = schedule.seconds + moveForward.seconds + dequeue.seconds
    console.log(
      `| ${n} | ${perSecond(schedule).toFixed(0)} | ${perSecond(moveForward).toFixed(0)} | ${perSecond(dequeue).toFixed(0)} | ${dequeue.keys}${dequeue.keys < n ? " (deadline)" : ""} | ${total.toFixed(2)} |`
    )
  }
})

const main = Effect.gen(function* () {
  const control = yield* ControlPlane
  const client = yield* KubeClient.KubeClient
  yield* client.create(
    ResourceKind.make({
      group: "",
      version: "v1",
      kind: "Namespace",
      plural: "namespaces",
      namespaced: false,
      schema: Schema.Unknown
    }),
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "bench" }
    }
  )
  const createStart = performance.now()
  yield* Effect.forEach(
    Array.from({ length: N }, (_, i) => i),
    (i) => client.create(Offer, offer(i)),
    { concurrency: 32, discard: true }
  )
  const createSeconds = (performance.now() - createStart) / 1000
  console.log(
    `created ${N} ServiceOffers in ${createSeconds.toFixed(1)} s (${(N / createSeconds).toFixed(0)}/s, 32 concurrent creates) at ${control.server}`
  )

  // Memory per cached object: heap growth from before the list to a store holding every object
  // (the list response itself is garbage by then).
  const before = heap()
  const writer = yield* Store.make<typeof Offer.schema.Type>()
  let rawBytes = 0
  {
    const listed = yield* KubeClient.listAll(client, Offer, { namespace: "bench", limit: 500 })
    rawBytes = JSON.stringify(listed.items).length / N
    writer.reset(listed.items)
  }
  const after = heap()
  const perObject = (after - before) / N
  console.log(
    `store holds ${writer.store.size()} objects: ${(perObject / 1024).toFixed(2)} KiB/object on the heap (JSON size ${(rawBytes / 1024).toFixed(2)} KiB/object as listed, managedFields included)`
  )

  // Baseline: the bare scheduler, no Kubernetes at all.
  const bare = yield* Effect.scoped(
    Effect.gen(function* () {
      const scheduler = yield* Scheduler.make({ name: "bare", concurrency: 1 })
      let done = 0
      const started = performance.now()
      const fiber = yield* scheduler
        .run(() => Effect.sync(() => void done++).pipe(Effect.as({ _tag: "Succeeded" } as const)))
        .pipe(Effect.forkChild)
      for (let i = 0; i < N; i++) yield* scheduler.schedule(`k${i}`)
      const finished = () => done >= N
      while (!finished()) yield* Effect.sleep("1 millis")
      yield* Fiber.interrupt(fiber)
      return N / ((performance.now() - started) / 1000)
    })
  )

  const rates: Array<[number, number]> = []
  for (const workers of [1, 4]) {
    let done = 0
    let first = 0
    const fiber = yield* Controller.run({
      name: `bench-${workers}`,
      for: Offer,
      namespace: "bench",
      concurrency: workers,
      reconcile: () =>
        Effect.sync(() => {
          if (done === 0) first = performance.now()
          done++
          return Action.awaitChange
        })
    }).pipe(Effect.forkChild)
    const finished = () => done >= N
    while (!finished()) yield* Effect.sleep("5 millis")
    const rate = N / ((performance.now() - first) / 1000)
    yield* Fiber.interrupt(fiber)
    rates.push([workers, rate])
  }

  console.log(`\nno-op reconciles over ${N} objects (same run)`)
  console.log("| what | reconciles/s | per worker | vs controller-runtime's ~230/s per worker |")
  console.log("|---|---:|---:|---:|")
  console.log(
    `| bare Scheduler, 1 worker (baseline: queue only) | ${bare.toFixed(0)} | ${bare.toFixed(0)} | ${(bare / 230).toFixed(1)}x |`
  )
  for (const [workers, rate] of rates) {
    console.log(
      `| Controller, ${workers} worker${workers === 1 ? "" : "s"} | ${rate.toFixed(0)} | ${(rate / workers).toFixed(0)} | ${(rate / workers / 230).toFixed(1)}x |`
    )
  }
  console.log(
    `\nmemory: ${(perObject / 1024).toFixed(2)} KiB per cached object vs controller-runtime's ~14-16 KiB: ${(perObject / 1024 / 15).toFixed(2)}x`
  )
})

if (MODE === "scheduler") {
  await Effect.runPromise(schedulerOnly)
} else {
  const scope = Effect.runSync(Scope.make())
  try {
    const context = await Effect.runPromise(Layer.buildWithScope(ControlPlane.layer(), scope))
    const control = Context.get(context, ControlPlane)
    const clientLayer = NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layerFromFile(control.kubeconfig)))
    await Effect.runPromise(main.pipe(Effect.provide(Layer.merge(clientLayer, Layer.succeedContext(context)))))
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
