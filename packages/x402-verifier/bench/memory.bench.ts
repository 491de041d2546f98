/**
 * Resident memory of the x402-verifier process against `@x402/express` on the same work, in one
 * run (issue 18: the verifier's RSS no more than the reference middleware's):
 * - `@x402/express` 2.27 on Express 5 (`express-server.mjs`), one route priced like the verifier's;
 * - the verifier from the TypeScript sources (`bin/x402-verifier.mjs`, what `npx x402-verifier` runs);
 * - the verifier as the image runs it: the esbuild bundle `npm run image` ships (`@obol/image/Bundle`),
 *   built here into a scratch directory, run as `node x402-verifier.mjs`, with a kubeconfig file
 *   (`bundle`) and as in a pod (`in-cluster`, see {@link inCluster}): the path the image takes.
 * Each is started alone with `NODE_ENV=production` against a stub facilitator (its `/supported`),
 * the verifier against a real API server holding one ServiceOffer and the PaymentRoute it owns.
 * Figures, per process: resident memory (`VmRSS`) and V8 heap (`process.memoryUsage()`, read through
 * `memory-probe.mjs`) 2 s after its first 402; the peak (`VmHWM`), the heap after, and the CPU time
 * the server spent (user + system, from `/proc`) per 1,000 of BENCH_REQUESTS (default 20,000)
 * unpaid requests from `load.mjs` (32 keep-alive connections): CPU per request depends much less
 * than requests per second on what else the machine's cores are doing. Where the resident memory
 * is, at rest and right after the load: V8's spaces, the file-backed pages (`RssFile`: mostly the
 * node binary's code that has run) and the C allocator's main heap (`[heap]` in `/proc/<pid>/smaps`,
 * which keeps what it freed).
 *
 * Run: `node packages/x402-verifier/bench/memory.bench.ts`. Settings:
 * - BENCH_VERIFIER_NODE_ARGS: Node flags for the verifier processes only, e.g.
 *   `--max-semi-space-size=2`; several sets separated by `|` give a row each, measured in turn in
 *   every round (`|--max-semi-space-size=4`: without, then with);
 * - BENCH_ONLY: a comma-separated subset of `express,bundle,in-cluster,sources`, default all four
 *   (the ratios are against the first one run);
 * - BENCH_RUNS, default 1: rounds of every process in turn; each figure is the median over the
 *   rounds, with the range when they differ;
 * - BENCH_BEFORE: comma-separated directories each holding an `x402-verifier.mjs` (and its chunks)
 *   bundled earlier, e.g. from another commit, each measured in-cluster too as a row of its own, so
 *   a change is compared in one command.
 * With KUBECONFIG set it uses that cluster, otherwise it starts a control plane of its own. The
 * first run installs the pinned `@x402/express` and Express into `$TMPDIR/x402-express-bench`
 * (BENCH_EXPRESS_DIR) with npm.
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { execFile, execFileSync, spawn } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { promisify } from "node:util"
import { parseAllDocuments } from "yaml"
import * as Bundle from "@obol/image/Bundle"
import { ControlPlane } from "@obol/test-envs/ControlPlane"
import * as Fixtures from "@obol/test-envs/Fixtures"
import * as Ports from "@obol/test-envs/Ports"

const REQUESTS = Number(process.env["BENCH_REQUESTS"] ?? 20_000)
const RUNS = Number(process.env["BENCH_RUNS"] ?? 1)
const BEFORE = (process.env["BENCH_BEFORE"] ?? "").split(",").filter((dir) => dir !== "")
/** Sets of Node flags for the verifier processes only (not the reference), to try V8 settings: a row each. */
const VERIFIER_FLAGS = (process.env["BENCH_VERIFIER_NODE_ARGS"] ?? "")
  .split("|")
  .map((set) => set.split(" ").filter((a) => a !== ""))
const ONLY = new Set((process.env["BENCH_ONLY"] ?? "express,bundle,in-cluster,sources").split(",").map((p) => p.trim()))
const root = join(import.meta.dirname, "..", "..", "..")
const probe = join(import.meta.dirname, "memory-probe.mjs")
const run = promisify(execFile)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const mib = (bytes: number, digits = 0) => (bytes / 2 ** 20).toFixed(digits)
const forwarded = {
  "X-Forwarded-Proto": "https",
  "X-Forwarded-Host": "seller.example",
  "X-Forwarded-Uri": "/services/r4242/chat"
}

/** The pinned reference, installed once into a directory of its own (not a workspace dependency). */
const expressDir = () => {
  const dir = process.env["BENCH_EXPRESS_DIR"] ?? join(tmpdir(), "x402-express-bench")
  if (!existsSync(join(dir, "node_modules", "@x402", "express", "package.json"))) {
    mkdirSync(dir, { recursive: true })
    const dependencies = { "@x402/core": "2.27.0", "@x402/evm": "2.27.0", "@x402/express": "2.27.0", express: "5.3.0" }
    writeFileSync(join(dir, "package.json"), JSON.stringify({ private: true, type: "module", dependencies }))
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts"], {
      cwd: dir,
      stdio: ["ignore", "ignore", "inherit"]
    })
  }
  copyFileSync(join(import.meta.dirname, "express-server.mjs"), join(dir, "express-server.mjs"))
  return dir
}

/** A facilitator that only answers `/supported` (all a 402 needs, for both servers). */
const stubFacilitator = async () => {
  const server = createServer((req, res) => {
    res.writeHead(req.url === "/supported" ? 200 : 404, { "content-type": "application/json" })
    res.end(JSON.stringify({ kinds: [{ x402Version: 2, scheme: "exact", network: "eip155:84532" }], extensions: [] }))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() }
}

const kubectl = (kubeconfig: string, args: ReadonlyArray<string>, input?: unknown) =>
  execFileSync("kubectl", ["--kubeconfig", kubeconfig, ...args], {
    encoding: "utf8",
    ...(input === undefined ? {} : { input: typeof input === "string" ? input : JSON.stringify(input) })
  })

/** A namespace with one ServiceOffer and the PaymentRoute it owns, as the controller writes it. */
const seed = (kubeconfig: string) => {
  const namespace = `bench-memory-${Date.now().toString(36)}`
  kubectl(kubeconfig, ["create", "namespace", namespace])
  const offer = JSON.parse(
    kubectl(kubeconfig, ["create", "-o", "json", "-f", "-"], Fixtures.serviceOffer(namespace, "r4242"))
  )
  kubectl(
    kubeconfig,
    ["create", "-f", "-"],
    Fixtures.paymentRoute(namespace, "r4242", { owner: { name: "r4242", uid: offer.metadata.uid } })
  )
  return namespace
}

/**
 * What a pod of the verifier's Deployment is given, in `namespace`: its ServiceAccount holding the
 * ClusterRole of `deploy/x402-verifier/rbac.yaml` through a RoleBinding (as that file says for one
 * watched namespace), a token for it, the cluster's CA, and the API server's address.
 */
const serviceAccount = (kubeconfig: string, namespace: string) => {
  const manifests = parseAllDocuments(readFileSync(join(root, "deploy", "x402-verifier", "rbac.yaml"), "utf8")).map(
    (d) => d.toJS() as { kind: string; metadata: { name: string } }
  )
  const role = manifests.find((m) => m.kind === "ClusterRole")!
  kubectl(kubeconfig, ["apply", "-f", "-"], role)
  kubectl(kubeconfig, ["-n", namespace, "create", "serviceaccount", "x402-verifier"])
  kubectl(kubeconfig, [
    "-n",
    namespace,
    "create",
    "rolebinding",
    "x402-verifier",
    `--clusterrole=${role.metadata.name}`,
    `--serviceaccount=${namespace}:x402-verifier`
  ])
  const token = kubectl(kubeconfig, ["-n", namespace, "create", "token", "x402-verifier", "--duration=2h"]).trim()
  const view = (path: string) =>
    kubectl(kubeconfig, ["config", "view", "--raw", "--minify", "-o", `jsonpath={.clusters[0].cluster.${path}}`])
  const server = new URL(view("server"))
  return {
    token,
    ca: Buffer.from(view("certificate-authority-data"), "base64").toString("utf8"),
    host: server.hostname,
    port: server.port === "" ? "443" : server.port
  }
}

/**
 * The verifier as in a pod, on this machine's file system: a private mount namespace
 * (`unshare --mount`) with an empty tmpfs over `/run` (`/var/run` links there) holding the
 * service account's `token`, `ca.crt` and `namespace` at `/var/run/secrets/kubernetes.io/serviceaccount`,
 * `KUBERNETES_SERVICE_HOST`/`PORT` naming the API server and no `KUBECONFIG` (HOME is a scratch
 * directory, so no `~/.kube/config` either): `@obol/kube/KubeConfig` takes its in-cluster path.
 * Needs root; the node process is the `unshare` process's only child (`sh` execs it).
 */
const inCluster = {
  available: () => process.getuid?.() === 0,
  script: `
set -e
mount -t tmpfs -o mode=0755,size=1m tmpfs /run
dir=/run/secrets/kubernetes.io/serviceaccount
mkdir -p "$dir"
printf %s "$SA_TOKEN" >"$dir/token"; printf %s "$SA_CA" >"$dir/ca.crt"; printf %s "$SA_NAMESPACE" >"$dir/namespace"
unset SA_TOKEN SA_CA SA_NAMESPACE
exec "$@"
`
}

const status = (pid: number, field: "VmRSS" | "VmHWM" | "RssAnon" | "RssFile") => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${field}:`))
  return Number(line?.split(/\s+/u)[1] ?? 0) * 1024
}

/** Resident bytes of the C allocator's main heap (`[heap]` in `/proc/<pid>/smaps`). */
const mallocHeap = (pid: number) => {
  const smaps = readFileSync(`/proc/${pid}/smaps`, "utf8")
  const at = smaps.indexOf(" [heap]\n")
  return at < 0 ? 0 : Number(/^Rss:\s+(\d+) kB$/mu.exec(smaps.slice(at))?.[1] ?? 0) * 1024
}

/** User + system CPU time of a process so far, in milliseconds (`/proc/<pid>/stat`, at 100 ticks/s). */
const cpuMs = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** The only child of `pid` (the node process `unshare --fork` starts), once it is there. */
const childOf = async (pid: number) => {
  for (let i = 0; i < 500; i++) {
    const children = existsSync(`/proc/${pid}/task/${pid}/children`)
      ? readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim()
      : ""
    if (children !== "" && readFileSync(`/proc/${children}/cmdline`, "utf8").startsWith(process.execPath)) {
      return Number(children)
    }
    await sleep(10)
  }
  throw new Error(`no node process under ${pid}`)
}

const first402 = async (url: string, exited: () => string | undefined) => {
  const started = performance.now()
  for (;;) {
    const failure = exited()
    if (failure !== undefined) throw new Error(failure)
    try {
      const res = await fetch(url, { headers: forwarded })
      await res.arrayBuffer()
      if (res.status === 402) return performance.now() - started
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 60_000) throw new Error(`${url}: no 402 in 60 s`)
    await sleep(20)
  }
}

/** What `memory-probe.mjs` prints. */
interface Probe extends NodeJS.MemoryUsage {
  readonly spaces: Record<string, readonly [used: number, committed: number]>
  readonly scriptSource: number
  /** Milliseconds spent in garbage collection so far: young (scavenges) and the rest. */
  readonly gc: { readonly minor: number; readonly major: number }
}

interface Figures {
  readonly label: string
  readonly readyMs: number
  readonly rss: number
  readonly rssFile: number
  readonly malloc: number
  readonly heapUsed: number
  readonly heapTotal: number
  readonly external: number
  readonly scriptSource: number
  readonly spaces: Record<string, readonly [used: number, committed: number]>
  readonly peak: number
  readonly heapAfter: number
  readonly rssAfter: number
  /** Right after the load: V8's spaces, the file-backed part of RSS and the C allocator's main heap. */
  readonly spacesAfter: Record<string, readonly [used: number, committed: number]>
  readonly rssFileAfter: number
  readonly mallocAfter: number
  readonly rps: number
  /** CPU milliseconds per 1,000 requests. */
  readonly cpu: number
  /** Garbage-collection milliseconds per 1,000 requests: young collections, and the rest. */
  readonly gcMinor: number
  readonly gcMajor: number
}

/** How one server is started: `node [--import probe] args` in `cwd`, or inside a wrapper. */
interface Start {
  readonly label: string
  readonly args: ReadonlyArray<string>
  readonly cwd: string
  /** The whole environment (NODE_ENV=production is added). */
  readonly env: Record<string, string | undefined>
  readonly url: string
  /** A command that ends by exec'ing its arguments (node and its arguments), and the node process's pid. */
  readonly wrapper?: { readonly command: string; readonly args: ReadonlyArray<string> }
}

/** Starts one server, waits for its first 402, and measures it idle, then under load. */
const measure = async (start: Start): Promise<Figures> => {
  const { label, url } = start
  const node = [process.execPath, "--import", probe, ...start.args]
  const [command, ...args] =
    start.wrapper === undefined ? node : [start.wrapper.command, ...start.wrapper.args, ...node]
  const child = spawn(command!, args, {
    cwd: start.cwd,
    env: { ...start.env, NODE_ENV: "production" },
    stdio: ["ignore", "ignore", "pipe"]
  })
  let stderr = ""
  const waiters: Array<(line: string) => void> = []
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
    for (const line of chunk.toString().split("\n")) {
      if (line.startsWith("memory ")) waiters.shift()?.(line.slice("memory ".length))
    }
  })
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()))
  let pid = child.pid!
  const heap = () =>
    new Promise<Probe>((resolve) => {
      waiters.push((line) => resolve(JSON.parse(line)))
      process.kill(pid, "SIGUSR2")
    })
  try {
    if (start.wrapper !== undefined) pid = await childOf(child.pid!)
    const readyMs = await first402(url, () =>
      child.exitCode === null ? undefined : `${label} exited ${child.exitCode}: ${stderr}`
    )
    await sleep(2000)
    const idle = await heap()
    const rss = status(pid, "VmRSS")
    const rssFile = status(pid, "RssFile")
    const malloc = mallocHeap(pid)
    const cpuBefore = cpuMs(pid)
    const { stdout } = await run(process.execPath, [join(import.meta.dirname, "load.mjs"), url, "32", String(REQUESTS)])
    const cpu = ((cpuMs(pid) - cpuBefore) / REQUESTS) * 1000
    const load = JSON.parse(stdout) as { rps: number; done: number }
    if (load.done !== REQUESTS) throw new Error(`${label}: ${load.done} of ${REQUESTS} requests answered`)
    const after = await heap()
    return {
      label,
      readyMs,
      rss,
      rssFile,
      malloc,
      heapUsed: idle.heapUsed,
      heapTotal: idle.heapTotal,
      external: idle.external,
      scriptSource: idle.scriptSource,
      spaces: idle.spaces,
      peak: status(pid, "VmHWM"),
      heapAfter: after.heapUsed,
      rssAfter: status(pid, "VmRSS"),
      spacesAfter: after.spaces,
      rssFileAfter: status(pid, "RssFile"),
      mallocAfter: mallocHeap(pid),
      rps: load.rps,
      cpu,
      gcMinor: ((after.gc.minor - idle.gc.minor) / REQUESTS) * 1000,
      gcMajor: ((after.gc.major - idle.gc.major) / REQUESTS) * 1000
    }
  } finally {
    if (child.exitCode === null) process.kill(pid, "SIGTERM")
    await closed
  }
}

/** The median of the rounds' values, with the range when they differ: `89 (88–91)`. */
const summary = (values: ReadonlyArray<number>, show: (n: number) => string) => {
  const sorted = values.toSorted((a, b) => a - b)
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!
  const [lo, hi] = [show(sorted[0]!), show(sorted.at(-1)!)]
  return lo === hi ? show(median) : `${show(median)} (${lo}–${hi})`
}

const medianOf = (values: ReadonlyArray<number>) =>
  values.toSorted((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!

const main = async (kubeconfig: string) => {
  const scratch = mkdtempSync(join(tmpdir(), "verifier-memory-"))
  const facilitator = await stubFacilitator()
  try {
    const [bundle] = await Effect.runPromise(Bundle.build(root, ["x402-verifier"]))
    writeFileSync(join(scratch, "x402-verifier.mjs"), bundle!.code)
    for (const chunk of bundle!.chunks) {
      mkdirSync(dirname(join(scratch, chunk.path)), { recursive: true })
      writeFileSync(join(scratch, chunk.path), chunk.code)
    }
    const namespace = seed(kubeconfig)
    const reference = expressDir()
    const withoutKube = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => name !== "KUBECONFIG" && !name.startsWith("KUBERNETES_"))
    )
    const verifier = async (
      label: string,
      args: ReadonlyArray<string>,
      cwd: string,
      flags: ReadonlyArray<string>
    ): Promise<Start> => {
      const [port, health] = await Effect.runPromise(Ports.freeN(2))
      return {
        label: flags.length === 0 ? label : `${label}, ${flags.join(" ")}`,
        args: [...flags, ...args],
        cwd,
        env: {
          ...withoutKube,
          KUBECONFIG: kubeconfig,
          WATCH_NAMESPACE: namespace,
          FACILITATOR_URL: facilitator.url,
          LISTEN_ADDRESS: "127.0.0.1",
          PORT: String(port),
          HEALTH_PORT: String(health)
        },
        url: `http://127.0.0.1:${port}/verify/${namespace}/r4242`
      }
    }
    const starts: Array<() => Promise<Start>> = []
    if (ONLY.has("express")) {
      starts.push(async () => {
        const port = await Effect.runPromise(Ports.free)
        return {
          label: "@x402/express 2.27 (Express 5)",
          args: ["express-server.mjs"],
          cwd: reference,
          env: { ...withoutKube, PORT: String(port), FACILITATOR_URL: facilitator.url },
          url: `http://127.0.0.1:${port}/services/r4242/chat`
        }
      })
    }
    if (ONLY.has("bundle")) {
      for (const flags of VERIFIER_FLAGS) {
        starts.push(() => verifier("x402-verifier, bundle, kubeconfig file", ["x402-verifier.mjs"], scratch, flags))
      }
    }
    if (ONLY.has("in-cluster")) {
      if (!inCluster.available()) console.error("in-cluster: skipped, it needs root (a mount namespace)")
      else {
        const account = serviceAccount(kubeconfig, namespace)
        const home = mkdtempSync(join(scratch, "home-"))
        const pod = (label: string, dir: string, flags: ReadonlyArray<string>) => async (): Promise<Start> => {
          const { env, ...start } = await verifier(label, ["x402-verifier.mjs"], dir, flags)
          const { KUBECONFIG: _, ...rest } = env
          return {
            ...start,
            env: {
              ...rest,
              HOME: home,
              KUBERNETES_SERVICE_HOST: account.host,
              KUBERNETES_SERVICE_PORT: account.port,
              SA_TOKEN: account.token,
              SA_CA: account.ca,
              SA_NAMESPACE: namespace
            },
            wrapper: {
              command: "unshare",
              args: ["--mount", "--propagation", "private", "--fork", "/bin/sh", "-c", inCluster.script, "pod"]
            }
          }
        }
        for (const flags of VERIFIER_FLAGS) {
          for (const dir of BEFORE) starts.push(pod(`x402-verifier, bundle from ${dir}, in-cluster`, dir, flags))
          starts.push(pod("x402-verifier, bundle, in-cluster (the image)", scratch, flags))
        }
      }
    }
    if (ONLY.has("sources")) {
      for (const flags of VERIFIER_FLAGS) {
        starts.push(() =>
          verifier(
            "x402-verifier, TypeScript sources",
            [join(root, "packages/x402-verifier/bin/x402-verifier.mjs")],
            root,
            flags
          )
        )
      }
    }
    const rounds: Array<Array<Figures>> = []
    for (let round = 0; round < RUNS; round++) {
      const figures: Array<Figures> = []
      for (const start of starts) figures.push(await measure(await start()))
      rounds.push(figures)
      if (RUNS > 1) console.error(`round ${round + 1} of ${RUNS} done`)
    }
    const rows = starts.map((_, i) => rounds.map((figures) => figures[i]!))
    const of = (row: ReadonlyArray<Figures>, pick: (f: Figures) => number) => row.map(pick)
    const express = rows[0]!
    const [expressRss, expressPeak] = [medianOf(of(express, (f) => f.rss)), medianOf(of(express, (f) => f.peak))]
    const m =
      (digits = 0) =>
      (n: number) =>
        mib(n, digits)
    const ratio = (n: number) => `${n.toFixed(2)}x`
    console.log(
      `\n${process.version}; started alone, one route, 2 s after the first 402; then ${REQUESTS} unpaid requests, 32 keep-alive connections; ${RUNS} round(s), medians (range)`
    )
    console.log(
      "| process | first 402 ms | RSS MiB | of which file-backed | heap used / total MiB | RSS vs express | peak RSS under load MiB | peak vs express | heap used after load MiB | requests/s | CPU ms per 1,000 requests | of which GC, young + full |"
    )
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (const row of rows) {
      const cells = [
        row[0]!.label,
        summary(
          of(row, (f) => f.readyMs),
          (n) => n.toFixed(0)
        ),
        summary(
          of(row, (f) => f.rss),
          m()
        ),
        summary(
          of(row, (f) => f.rssFile),
          m()
        ),
        `${summary(
          of(row, (f) => f.heapUsed),
          m(1)
        )} / ${summary(
          of(row, (f) => f.heapTotal),
          m(1)
        )}`,
        summary(
          of(row, (f) => f.rss / expressRss),
          ratio
        ),
        summary(
          of(row, (f) => f.peak),
          m()
        ),
        summary(
          of(row, (f) => f.peak / expressPeak),
          ratio
        ),
        summary(
          of(row, (f) => f.heapAfter),
          m()
        ),
        summary(
          of(row, (f) => f.rps),
          (n) => n.toFixed(0)
        ),
        summary(
          of(row, (f) => f.cpu),
          (n) => n.toFixed(0)
        ),
        `${summary(
          of(row, (f) => f.gcMinor),
          (n) => n.toFixed(1)
        )} + ${summary(
          of(row, (f) => f.gcMajor),
          (n) => n.toFixed(1)
        )}`
      ]
      console.log(`| ${cells.join(" | ")} |`)
    }
    const spaces = ["new", "old", "code", "trusted", "large_object"] as const
    const bySpace = (
      label: string,
      pick: (f: Figures) => Figures["spaces"],
      extra: ReadonlyArray<readonly [string, (f: Figures) => number]>
    ) => {
      console.log(`\n${label}, V8 by space: used / committed MiB (medians)`)
      console.log(`| process | ${[...spaces, ...extra.map(([name]) => name)].join(" | ")} |`)
      console.log(`|---|${[...spaces, ...extra].map(() => "---:|").join("")}`)
      for (const row of rows) {
        const cells = spaces.map(
          (s) =>
            `${mib(medianOf(of(row, (f) => pick(f)[s]?.[0] ?? 0)), 1)} / ${mib(medianOf(of(row, (f) => pick(f)[s]?.[1] ?? 0)), 1)}`
        )
        const more = extra.map(([, get]) => mib(medianOf(of(row, get)), 1))
        console.log(`| ${row[0]!.label} | ${[...cells, ...more].join(" | ")} |`)
      }
    }
    bySpace("2 s after the first 402", (f) => f.spaces, [
      ["script source MiB", (f) => f.scriptSource],
      ["file-backed MiB", (f) => f.rssFile],
      ["C heap MiB", (f) => f.malloc]
    ])
    bySpace("right after the load", (f) => f.spacesAfter, [
      ["RSS MiB", (f) => f.rssAfter],
      ["file-backed MiB", (f) => f.rssFileAfter],
      ["C heap MiB", (f) => f.mallocAfter]
    ])
  } finally {
    facilitator.close()
    rmSync(scratch, { recursive: true, force: true })
  }
}

const given = process.env["KUBECONFIG"]
if (given !== undefined) await main(given)
else {
  const scope = await Effect.runPromise(Scope.make())
  try {
    const context = await Effect.runPromise(Layer.buildWithScope(ControlPlane.layer(), scope))
    await main(Context.get(context, ControlPlane).kubeconfig)
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
