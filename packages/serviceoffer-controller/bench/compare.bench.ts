/**
 * Benchmark: a burst of ServiceOffers through our controller, through a controller-runtime
 * controller doing the same work, and against the API server's write floor, on one real
 * kube-apiserver (test-envs' control plane), one row after another, each in a fresh namespace:
 *
 * - floor: no controller; `BENCH_WRITERS` (4) concurrent writers server-side apply the PaymentRoutes
 *   our controller would write for the offers (without the ownerReference: there is no offer);
 *   per route, from the write being issued to the harness's watch seeing it;
 * - obol: `ServiceOfferController.run` in a process of its own (`controller.process.ts`);
 * - controller-runtime: the Go peer (`controller-runtime/`, built by its `build.sh`) as a child process;
 *
 * both controllers with `BENCH_WORKERS` workers (default: the controller's default `CONCURRENCY`).
 * For them the harness creates `BENCH_OFFERS` (100) pay-on-success offers with the same 4 writers,
 * plays the x402 verifier (admits each PaymentRoute's generation) and the Gateway (accepts each
 * HTTPRoute), and measures, from the burst's first create, the time until every PaymentRoute exists
 * and every offer is Ready, and per offer from its create returning to its PaymentRoute's watch
 * event and to its Ready condition.
 *
 * Requests: each controller counts the requests its own clients send, at the client (ours through
 * `RequestCount`, the peer in its HTTP transport), by verb, resource and outcome, from just before
 * the burst until its request count has been still for a second after the last offer was Ready;
 * cross-checked with the API server's `apiserver_request_total` (non-watch requests over the same
 * span, less those the harness sent, which it counts the same way). CPU: user+system seconds of
 * the controller process, kube-apiserver, etcd and this process over the same span (/proc), and
 * their sum over the span ("cores busy": near 2 on the 2-core machine means the row was CPU-bound).
 * Runtime: each controller's own reconcile and work-queue metrics (the same controller-runtime
 * names in both): reconciles per offer, mean reconcile time, how busy the workers were.
 *
 * It does not measure one offer at a time (propagation.bench.ts), the steady state, deletion, or
 * anything through Traefik (test-envs/bench).
 *
 * Run: `npm run bench:compare -w @obol/serviceoffer-controller` (`BENCH_OFFERS=1000` for the large
 * burst; `BENCH_ROWS=floor,obol,controller-runtime` picks rows).
 */
import { Context, Deferred, Effect, Exit, Layer, Result, Scope, Stream } from "effect"
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import * as CustomResource from "@obol/api/CustomResource"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import * as Watcher from "@obol/controller/Watcher"
import { HTTPRoute } from "@obol/kube/builtin/HTTPRoute"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeConfig from "@obol/kube/KubeConfig"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import { ControlPlane, type Info } from "@obol/test-envs/ControlPlane"
import * as ManagedProcess from "@obol/test-envs/ManagedProcess"
import * as Children from "../src/Children.ts"
import * as Settings from "../src/Settings.ts"
import * as RequestCount from "./RequestCount.ts"
import * as StandIns from "./StandIns.ts"

const N = Number(process.env["BENCH_OFFERS"] ?? 100)
const defaultConcurrency = Number(Settings.settings.concurrency.fallback)
const workers = Number(process.env["BENCH_WORKERS"] ?? defaultConcurrency)
const writers = Number(process.env["BENCH_WRITERS"] ?? 4)
const rows = (process.env["BENCH_ROWS"] ?? "floor,obol,controller-runtime").split(",")
const fieldManager = "serviceoffer-controller"
const here = import.meta.dirname
const repoRoot = join(here, "..", "..", "..")
const loadAtStart = loadavg()
const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100

/** The PaymentRoute our controller writes for `StandIns.offer(namespace, i)`, without the ownerReference. */
const floorRoute = (namespace: string, i: number): KubeClient.Manifest => {
  const decoded = CustomResource.decodeResult(ServiceOffer, StandIns.offer(namespace, i))
  if (Result.isFailure(decoded)) throw new Error(decoded.failure.message)
  const settings = { ...Children.defaultSettings, verifierService: { namespace, name: "x402-verifier", port: 8080 } }
  const route = Children.paymentRoute(decoded.success, settings)
  if (Result.isFailure(route)) throw new Error(route.failure.message)
  const { ownerReferences: _, ...metadata } = route.success.metadata
  return { ...route.success, metadata }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

const quantile = (values: ReadonlyArray<number>, q: number) => {
  const sorted = values.toSorted((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
}

/** user + system CPU seconds of a process so far. */
const cpuSeconds = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) / clockTicks
}

/** The sum of a metric's samples in Prometheus text whose labels pass `keep`. */
const metricSum = (text: string, name: string, keep: (labels: string) => boolean = () => true) => {
  let sum = 0
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || !line.startsWith(name)) continue
    const brace = line.indexOf("{")
    const metric = brace === -1 ? line.slice(0, line.indexOf(" ")) : line.slice(0, brace)
    if (metric !== name) continue
    const labels = brace === -1 ? "" : line.slice(brace, line.lastIndexOf("}") + 1)
    if (keep(labels)) sum += Number(line.slice(line.lastIndexOf(" ") + 1))
  }
  return sum
}

/** The API server's non-watch resource requests so far (`apiserver_request_total`). */
const apiserverRequests = (control: Info) =>
  control.http.request("GET", "/metrics").pipe(
    Effect.map((response) =>
      metricSum(response.body, "apiserver_request_total", (labels) => {
        const verb = /verb="([^"]*)"/u.exec(labels)?.[1]
        const resource = /resource="([^"]*)"/u.exec(labels)?.[1] ?? ""
        return verb !== "WATCH" && verb !== "CONNECT" && resource !== ""
      })
    )
  )

const getText = (url: string) =>
  Effect.tryPromise(async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) })
    if (!response.ok) throw new Error(`${url}: ${response.status}`)
    return await response.text()
  })

const getCounts = (url: string) => Effect.map(getText(url), (text) => JSON.parse(text) as RequestCount.Counts)

const isReady = (stats: string) =>
  Effect.tryPromise(() => fetch(`${stats}/readyz`, { signal: AbortSignal.timeout(2000) })).pipe(
    Effect.map((response) => response.ok)
  )

/** The `stats http://…` line a controller process prints. */
const statsUrl = (running: ManagedProcess.ManagedProcess) =>
  Effect.gen(function* () {
    let url: string | undefined
    yield* ManagedProcess.waitUntil(
      running,
      "announced its stats address",
      Effect.sync(() => {
        url = /^stats (http:\/\/\S+)$/mu.exec(readFileSync(running.logFile, "utf8"))?.[1]
        return url !== undefined
      }),
      "60 seconds"
    )
    return url ?? ""
  })

const waitUntil = (done: () => boolean, timeoutMs: number) =>
  Effect.gen(function* () {
    const deadline = performance.now() + timeoutMs
    while (!done() && performance.now() < deadline) yield* Effect.sleep("10 millis")
  })

/** What a row measured. */
interface Row {
  readonly name: string
  /** From the first write of the burst to the last PaymentRoute's watch event, ms. */
  readonly allRoutes: number
  /** Per offer: create returned (floor: write issued) → its PaymentRoute's watch event, ms. */
  readonly routes: ReadonlyArray<number>
  readonly allReady?: number
  readonly ready?: ReadonlyArray<number>
  /** The controller's requests (floor: the writers'), at the client. */
  readonly requests: RequestCount.Counts
  /** The API server's non-watch requests over the row, less the harness's. */
  readonly apiserver: number
  readonly cpu?: number
  /** CPU seconds of kube-apiserver, etcd and this bench process over the row. */
  readonly others: Cpu
  /** The span the requests and CPU times cover, ms. */
  readonly span: number
  /** From the controller's own metrics (controller-runtime's names in both), over the same span. */
  readonly runtime?: {
    readonly passes: number
    readonly errors: number
    /** Mean reconcile time, ms. */
    readonly reconcileMs: number
    /** Reconcile time over workers × the span. */
    readonly busy: number
    /** Mean `workqueue_queue_duration_seconds`, ms, as each runtime defines it. */
    readonly queueMs: number
  }
}

interface Cpu {
  readonly apiserver: number
  readonly etcd: number
  readonly bench: number
}

const minus = (a: Cpu, b: Cpu): Cpu => ({
  apiserver: a.apiserver - b.apiserver,
  etcd: a.etcd - b.etcd,
  bench: a.bench - b.bench
})

/** The bench's own client and what it sent. */
interface Harness {
  readonly control: Info
  readonly client: KubeClient.Shape
  readonly tally: RequestCount.Tally
  /** Uncounted: the floor's writers count their own requests. */
  readonly raw: KubeClient.Shape
  /** CPU seconds so far of kube-apiserver, etcd and this process. */
  readonly cpu: () => Cpu
  /** The controller processes' logs (kept after the run). */
  readonly logDir: string
}

/**
 * Watches PaymentRoutes, HTTPRoutes and ServiceOffers of `namespace`, recording when each offer's
 * PaymentRoute and Ready condition are first seen; with `play`, admits every PaymentRoute (the
 * verifier) and accepts every HTTPRoute (the Gateway), 16 writes at a time. Completes once all
 * three watches have listed.
 */
const observe = (harness: Harness, namespace: string, play: boolean) =>
  Effect.gen(function* () {
    const { client } = harness
    const routeSeen = new Map<string, number>()
    const readySeen = new Map<string, number>()
    const listed = yield* Effect.forEach(range(3), () => Deferred.make<void>())
    const onList = (i: number, event: { readonly _tag: string }) =>
      event._tag === "Restarted" ? Deferred.succeed(listed[i]!, undefined) : Effect.void
    const admit = (route: typeof PaymentRoute.schema.Type) => StandIns.admit(client, namespace, route)
    const accept = (route: typeof HTTPRoute.schema.Type) =>
      StandIns.accept(client, namespace, route.metadata.name ?? "")

    yield* Watcher.watch(client, PaymentRoute, { namespace }).pipe(
      Stream.tap((event) => onList(0, event)),
      Stream.mapEffect(
        (event) => {
          const routes = event._tag === "Restarted" ? event.objects : event._tag === "Applied" ? [event.object] : []
          const now = performance.now()
          for (const route of routes) {
            if (!routeSeen.has(route.spec.offer.name)) routeSeen.set(route.spec.offer.name, now)
          }
          return play
            ? Effect.forEach(
                routes.filter((route) => route.status?.lastAdmittedGeneration !== route.metadata.generation),
                admit,
                { discard: true }
              )
            : Effect.void
        },
        { concurrency: 16, unordered: true }
      ),
      Stream.runDrain,
      Effect.forkScoped
    )
    yield* Watcher.watch(client, HTTPRoute, { namespace }).pipe(
      Stream.tap((event) => onList(1, event)),
      Stream.mapEffect(
        (event) =>
          play && event._tag === "Applied" && (event.object.status?.parents ?? []).length === 0
            ? accept(event.object)
            : Effect.void,
        { concurrency: 16, unordered: true }
      ),
      Stream.runDrain,
      Effect.forkScoped
    )
    yield* Watcher.watch(client, ServiceOffer, { namespace }).pipe(
      Stream.runForEach((event) =>
        Effect.andThen(
          onList(2, event),
          Effect.sync(() => {
            if (event._tag !== "Applied") return
            const name = event.object.metadata.name ?? ""
            const ready = (event.object.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")
            if (ready && !readySeen.has(name)) readySeen.set(name, performance.now())
          })
        )
      ),
      Effect.forkScoped
    )
    yield* Effect.forEach(listed, Deferred.await, { discard: true })
    return { routeSeen, readySeen }
  })

const createNamespace = (harness: Harness, name: string) =>
  harness.control.http.request("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name }
  })

const lags = (seen: ReadonlyMap<string, number>, start: ReadonlyMap<string, number>) =>
  [...start].flatMap(([name, t]) => {
    const at = seen.get(name)
    return at === undefined ? [] : [Math.max(0, at - t)]
  })

const lastOf = (seen: ReadonlyMap<string, number>, t0: number) =>
  seen.size < N ? Number.NaN : Math.max(...seen.values()) - t0

/** (a) The write floor. */
const floorRow = (harness: Harness) =>
  Effect.scoped(
    Effect.gen(function* () {
      const namespace = "compare-floor"
      yield* createNamespace(harness, namespace)
      const tally = RequestCount.makeTally()
      const writer = RequestCount.counting(harness.raw, tally)
      const manifests = range(N).map((i) => floorRoute(namespace, i))
      const observed = yield* observe(harness, namespace, false)
      yield* Effect.sleep("1 second")
      const before = {
        harness: harness.tally.snapshot(),
        apiserver: yield* apiserverRequests(harness.control),
        others: harness.cpu(),
        at: performance.now()
      }
      const issued = new Map<string, number>()
      const t0 = performance.now()
      yield* Effect.forEach(
        range(N),
        (i) =>
          Effect.suspend(() => {
            issued.set(`offer-${i}`, performance.now())
            return writer.apply(PaymentRoute, manifests[i]!, { fieldManager, force: true })
          }),
        { concurrency: writers, discard: true }
      )
      yield* waitUntil(() => observed.routeSeen.size >= N, 120_000)
      const allRoutes = lastOf(observed.routeSeen, t0)
      const others = minus(harness.cpu(), before.others)
      const span = performance.now() - before.at
      // The API server's counters a moment later (the writes are all done).
      yield* Effect.sleep("1 second")
      const harnessSent = RequestCount.total(
        RequestCount.diff(harness.tally.snapshot(), before.harness),
        RequestCount.isNotWatch
      )
      return {
        name: "floor",
        allRoutes,
        routes: lags(observed.routeSeen, issued),
        requests: tally.snapshot(),
        apiserver: (yield* apiserverRequests(harness.control)) - before.apiserver - harnessSent,
        others,
        span
      } satisfies Row
    })
  )

/** (b) and (c): a controller process, started by `launch` for a namespace with a log file. */
const controllerRow = (
  harness: Harness,
  name: string,
  launch: (
    namespace: string,
    logFile: string
  ) => Effect.Effect<ManagedProcess.ManagedProcess, ManagedProcess.ProcessFailed, Scope.Scope>
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const namespace = `compare-${name}`
      yield* createNamespace(harness, namespace)
      const running = yield* launch(namespace, join(harness.logDir, `${name}.log`))
      const stats = yield* statsUrl(running)
      yield* ManagedProcess.waitUntil(running, "caches synced", isReady(stats), "60 seconds")
      const observed = yield* observe(harness, namespace, true)
      yield* Effect.sleep("1 second")
      const snapshot = Effect.gen(function* () {
        return {
          at: performance.now(),
          requests: yield* getCounts(`${stats}/requests`),
          metrics: yield* getText(`${stats}/metrics`),
          harness: harness.tally.snapshot(),
          apiserver: yield* apiserverRequests(harness.control),
          cpu: cpuSeconds(running.pid),
          others: harness.cpu()
        }
      })
      const before = yield* snapshot
      const created = new Map<string, number>()
      const t0 = performance.now()
      yield* Effect.forEach(
        range(N),
        (i) =>
          harness.client
            .create(ServiceOffer, StandIns.offer(namespace, i))
            .pipe(Effect.tap(() => Effect.sync(() => created.set(`offer-${i}`, performance.now())))),
        { concurrency: writers, discard: true }
      )
      yield* waitUntil(() => observed.readySeen.size >= N, Math.max(120_000, N * 600))
      const allRoutes = lastOf(observed.routeSeen, t0)
      const allReady = lastOf(observed.readySeen, t0)
      // Until the controller has sent nothing for a second (at most 10 s): the burst's last passes.
      let last = -1
      let still = 0
      for (let polls = 0; polls < 40 && still < 4; polls++) {
        const now = RequestCount.total(yield* getCounts(`${stats}/requests`))
        still = now === last ? still + 1 : 0
        last = now
        yield* Effect.sleep("250 millis")
      }
      const after = yield* snapshot
      const harnessSent = RequestCount.total(RequestCount.diff(after.harness, before.harness), RequestCount.isNotWatch)
      const grew = (metric: string, keep?: (labels: string) => boolean) =>
        metricSum(after.metrics, metric, keep) - metricSum(before.metrics, metric, keep)
      const reconcileSeconds = grew("controller_runtime_reconcile_time_seconds_sum")
      const reconciles = grew("controller_runtime_reconcile_time_seconds_count")
      return {
        name,
        allRoutes,
        routes: lags(observed.routeSeen, created),
        allReady,
        ready: lags(observed.readySeen, created),
        requests: RequestCount.diff(after.requests, before.requests),
        apiserver: after.apiserver - before.apiserver - harnessSent,
        cpu: after.cpu - before.cpu,
        others: minus(after.others, before.others),
        span: after.at - before.at,
        runtime: {
          passes: grew("controller_runtime_reconcile_total"),
          errors: grew("controller_runtime_reconcile_total", (labels) => labels.includes('result="error"')),
          reconcileMs: (reconcileSeconds / reconciles) * 1000,
          busy: (reconcileSeconds * 1000) / (workers * (after.at - before.at)),
          queueMs:
            (grew("workqueue_queue_duration_seconds_sum") / grew("workqueue_queue_duration_seconds_count")) * 1000
        }
      } satisfies Row
    })
  )

/** Builds (or reuses) the Go peer with its build.sh, showing its progress; its binary's path. */
const buildPeer = Effect.callback<string, Error>((resume) => {
  const child = spawn("bash", [join(here, "controller-runtime", "build.sh")], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  let out = ""
  child.stdout.on("data", (chunk) => (out += String(chunk)))
  child.on("exit", (code) =>
    resume(
      code === 0
        ? Effect.succeed(out.trim().split("\n").at(-1) ?? "")
        : Effect.fail(new Error(`controller-runtime/build.sh exited with ${code}`))
    )
  )
})

const fmtS = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? "—" : (ms / 1000).toFixed(2))
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) || b === 0 ? "—" : `${(a / b).toFixed(2)}×`
const spread = (values: ReadonlyArray<number> | undefined) =>
  values === undefined
    ? "—"
    : `${quantile(values, 0.5).toFixed(0)} / ${quantile(values, 0.99).toFixed(0)} / ${Math.max(...values).toFixed(0)}${values.length < N ? ` (${values.length}/${N} seen)` : ""}`
const perOffer = (n: number) => (n / N).toFixed(2)

const report = (results: ReadonlyArray<Row>, peerPath: string) => {
  const floor = results.find((r) => r.name === "floor")
  const cr = results.find((r) => r.name === "controller-runtime")
  const git = (args: ReadonlyArray<string>) =>
    execFileSync("git", ["-C", repoRoot, ...args])
      .toString()
      .trim()
  const dirty = git([
    "status",
    "--porcelain",
    "--untracked-files=no",
    "--",
    "packages/controller/src",
    "packages/serviceoffer-controller/src"
  ])
  const crVersion = /sigs\.k8s\.io\/controller-runtime (\S+)/u.exec(
    readFileSync(join(here, "controller-runtime", "go.mod"), "utf8")
  )?.[1]
  const k8s = /^K8S_VERSION=(\S+)/mu.exec(readFileSync(join(repoRoot, "test-envs", "versions.env"), "utf8"))?.[1]
  console.log(`\n### A burst of ${N} ServiceOffers: our controller, controller-runtime and the write floor\n`)
  console.log(
    `Command: \`${N === 100 ? "" : `BENCH_OFFERS=${N} `}npm run bench:compare -w @obol/serviceoffer-controller\`; ` +
      `${new Date().toISOString().slice(0, 10)}, commit ${git(["rev-parse", "--short", "HEAD"])}${dirty === "" ? "" : " with uncommitted changes in packages/controller/src or serviceoffer-controller/src"}; ` +
      `${cpus().length} cores (1-minute load ${loadAtStart[0]?.toFixed(1)} at the start, ${loadavg()[0]?.toFixed(1)} at the end), Node ${process.version}, ${execFileSync("go", ["version"]).toString().split(" ")[2]}, ` +
      `kube-apiserver ${k8s}, controller-runtime ${crVersion} (${peerPath}); ` +
      `${workers} workers (our default CONCURRENCY is ${defaultConcurrency}), ${writers} writers.\n`
  )
  console.log(
    "| row | all PaymentRoutes s | × floor | × c-r | create → PaymentRoute p50 / p99 / max ms | all Ready s | × floor | × c-r | create → Ready p50 / p99 / max ms |"
  )
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
  for (const r of results) {
    console.log(
      `| ${r.name} | ${fmtS(r.allRoutes)} | ${ratio(r.allRoutes, floor?.allRoutes)} | ${ratio(r.allRoutes, cr?.allRoutes)} | ${spread(r.routes)} | ${fmtS(r.allReady)} | ${ratio(r.allReady, floor?.allRoutes)} | ${ratio(r.allReady, cr?.allReady)} | ${spread(r.ready)} |`
    )
  }
  console.log(
    "\n| row | requests / offer (client) | of which watch | × c-r | API server saw / offer (less harness) | CPU s: controller / kube-apiserver / etcd / bench | cores busy |"
  )
  console.log("|---|---:|---:|---:|---:|---:|---:|")
  for (const r of results) {
    const all = RequestCount.total(r.requests)
    const watches = RequestCount.total(r.requests, (key) => !RequestCount.isNotWatch(key))
    console.log(
      `| ${r.name} | ${perOffer(all)} | ${perOffer(watches)} | ${ratio(all, cr === undefined ? undefined : RequestCount.total(cr.requests))} | ${perOffer(r.apiserver)} | ${[r.cpu, r.others.apiserver, r.others.etcd, r.others.bench].map((c) => (c === undefined ? "—" : c.toFixed(1))).join(" / ")} | ${(((r.cpu ?? 0) + r.others.apiserver + r.others.etcd + r.others.bench) / (r.span / 1000)).toFixed(2)} |`
    )
  }
  console.log(
    "\n| row | reconciles / offer | of which errors | mean reconcile ms | workers busy | mean queue wait ms (each runtime's metric) |"
  )
  console.log("|---|---:|---:|---:|---:|---:|")
  for (const r of results) {
    if (r.runtime === undefined) continue
    const { busy, errors, passes, queueMs, reconcileMs } = r.runtime
    console.log(
      `| ${r.name} | ${perOffer(passes)} | ${perOffer(errors)} | ${reconcileMs.toFixed(1)} | ${(busy * 100).toFixed(0)} % | ${queueMs.toFixed(0)} |`
    )
  }
  const keys = [...new Set(results.flatMap((r) => Object.keys(r.requests)))].toSorted()
  console.log(`\n| request (per offer) | ${results.map((r) => r.name).join(" | ")} |`)
  console.log(`|---|${results.map(() => "---:").join("|")}|`)
  for (const key of keys) {
    console.log(`| ${key} | ${results.map((r) => perOffer(r.requests[key] ?? 0)).join(" | ")} |`)
  }
}

const main = (peerPath: string, control: Info) =>
  Effect.gen(function* () {
    const raw = yield* KubeClient.KubeClient
    const tally = RequestCount.makeTally()
    const harness: Harness = {
      control,
      client: RequestCount.counting(raw, tally),
      tally,
      raw,
      cpu: () => {
        const pid = (name: string) => control.pids.findLast((p) => p.name === name)?.pid ?? 0
        const own = process.cpuUsage()
        return {
          apiserver: cpuSeconds(pid("kube-apiserver")),
          etcd: cpuSeconds(pid("etcd")),
          bench: (own.user + own.system) / 1e6
        }
      },
      logDir: mkdtempSync(join(tmpdir(), "obol-compare-"))
    }
    const results: Array<Row> = []
    for (const row of rows) {
      console.error(`compare: ${row}, ${N} offers …`)
      if (row === "floor") results.push(yield* floorRow(harness))
      else if (row === "obol")
        results.push(
          yield* controllerRow(harness, "obol", (namespace, logFile) =>
            ManagedProcess.start({
              name: "serviceoffer-controller (bench/controller.process.ts)",
              command: process.execPath,
              args: [join(here, "controller.process.ts")],
              logFile,
              env: { KUBECONFIG: control.kubeconfig, WATCH_NAMESPACE: namespace, CONCURRENCY: String(workers) }
            })
          )
        )
      else if (row === "controller-runtime")
        results.push(
          yield* controllerRow(harness, "controller-runtime", (namespace, logFile) =>
            ManagedProcess.start({
              name: "controller-runtime peer",
              command: peerPath,
              args: [
                `--kubeconfig=${control.kubeconfig}`,
                `-namespace=${namespace}`,
                `-workers=${workers}`,
                "-stats-address=127.0.0.1:0"
              ],
              logFile
            })
          )
        )
      else return yield* Effect.die(new Error(`unknown row ${row} in BENCH_ROWS`))
    }
    report(results, peerPath)
    console.log(`\nController logs: ${harness.logDir}`)
  })

const peerPath = rows.includes("controller-runtime") ? await Effect.runPromise(buildPeer) : "(not run)"
const scope = Effect.runSync(Scope.make())
try {
  const context = await Effect.runPromise(Layer.buildWithScope(ControlPlane.layer(), scope))
  const control = Context.get(context, ControlPlane)
  const client = NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layerFromFile(control.kubeconfig)))
  await Effect.runPromise(main(peerPath, control).pipe(Effect.provide(client)) as Effect.Effect<void, unknown, never>)
} finally {
  await Effect.runPromise(Scope.close(scope, Exit.void))
}
