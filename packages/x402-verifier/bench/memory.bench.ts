/**
 * Resident memory of the x402-verifier process against `@x402/express` on the same work, in one
 * run (issue 18: the verifier's RSS no more than the reference middleware's):
 * - `@x402/express` 2.27 on Express 5 (`express-server.mjs`), one route priced like the verifier's;
 * - the verifier from the TypeScript sources (`bin/x402-verifier.mjs`, what `npx x402-verifier` runs);
 * - the verifier as the image runs it: the esbuild bundle `npm run image` ships (`@obol/image/Bundle`),
 *   built here into a scratch directory, run as `node x402-verifier.mjs`.
 * Each is started alone with `NODE_ENV=production` against a stub facilitator (its `/supported`),
 * the verifier against a real API server holding one ServiceOffer and the PaymentRoute it owns.
 * Figures, per process: resident memory (`VmRSS`) and V8 heap (`process.memoryUsage()`, read through
 * `memory-probe.mjs`) 2 s after its first 402; the peak (`VmHWM`) and the heap after
 * BENCH_REQUESTS (default 20,000) unpaid requests from `load.mjs` (32 keep-alive connections).
 *
 * Run: `node packages/x402-verifier/bench/memory.bench.ts` (BENCH_VERIFIER_NODE_ARGS: Node flags
 * for the two verifier processes only, e.g. `--max-semi-space-size=2`; BENCH_ONLY: a comma-separated
 * subset of `express,bundle,sources`, default all three; the ratios are against the first one run).
 * With KUBECONFIG set it uses that
 * cluster, otherwise it starts a control plane of its own. The first run installs the pinned
 * `@x402/express` and Express into `$TMPDIR/x402-express-bench` (BENCH_EXPRESS_DIR) with npm.
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { execFile, execFileSync, spawn } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import * as Bundle from "@obol/image/Bundle"
import { ControlPlane } from "@obol/test-envs/ControlPlane"
import * as Fixtures from "@obol/test-envs/Fixtures"
import * as Ports from "@obol/test-envs/Ports"

const REQUESTS = Number(process.env["BENCH_REQUESTS"] ?? 20_000)
/** Node flags for the verifier processes only (not the reference), to try V8 settings. */
const VERIFIER_FLAGS = (process.env["BENCH_VERIFIER_NODE_ARGS"] ?? "").split(" ").filter((a) => a !== "")
const ONLY = new Set((process.env["BENCH_ONLY"] ?? "express,bundle,sources").split(",").map((p) => p.trim()))
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
    ...(input === undefined ? {} : { input: JSON.stringify(input) })
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

const status = (pid: number, field: "VmRSS" | "VmHWM" | "RssAnon" | "RssFile") => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${field}:`))
  return Number(line?.split(/\s+/u)[1] ?? 0) * 1024
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
}

interface Figures {
  readonly label: string
  readonly readyMs: number
  readonly rss: number
  readonly rssFile: number
  readonly heapUsed: number
  readonly heapTotal: number
  readonly external: number
  readonly scriptSource: number
  readonly spaces: Record<string, readonly [used: number, committed: number]>
  readonly peak: number
  readonly heapAfter: number
  readonly rssAfter: number
  readonly rps: number
}

/** Starts one server, waits for its first 402, and measures it idle, then under load. */
const measure = async (
  label: string,
  args: ReadonlyArray<string>,
  cwd: string,
  env: Record<string, string>,
  url: string
): Promise<Figures> => {
  const child = spawn(process.execPath, ["--import", probe, ...args], {
    cwd,
    env: { ...process.env, NODE_ENV: "production", ...env },
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
  const heap = () =>
    new Promise<Probe>((resolve) => {
      waiters.push((line) => resolve(JSON.parse(line)))
      child.kill("SIGUSR2")
    })
  try {
    const readyMs = await first402(url, () =>
      child.exitCode === null ? undefined : `${label} exited ${child.exitCode}: ${stderr}`
    )
    await sleep(2000)
    const idle = await heap()
    const rss = status(child.pid!, "VmRSS")
    const rssFile = status(child.pid!, "RssFile")
    const { stdout } = await run(process.execPath, [join(import.meta.dirname, "load.mjs"), url, "32", String(REQUESTS)])
    const load = JSON.parse(stdout) as { rps: number; done: number }
    if (load.done !== REQUESTS) throw new Error(`${label}: ${load.done} of ${REQUESTS} requests answered`)
    const after = await heap()
    return {
      label,
      readyMs,
      rss,
      rssFile,
      heapUsed: idle.heapUsed,
      heapTotal: idle.heapTotal,
      external: idle.external,
      scriptSource: idle.scriptSource,
      spaces: idle.spaces,
      peak: status(child.pid!, "VmHWM"),
      heapAfter: after.heapUsed,
      rssAfter: status(child.pid!, "VmRSS"),
      rps: load.rps
    }
  } finally {
    child.kill("SIGTERM")
    await closed
  }
}

const main = async (kubeconfig: string) => {
  const scratch = mkdtempSync(join(tmpdir(), "verifier-memory-"))
  const facilitator = await stubFacilitator()
  try {
    const [bundle] = await Effect.runPromise(Bundle.build(root, ["x402-verifier"]))
    writeFileSync(join(scratch, "x402-verifier.mjs"), bundle!.code)
    const namespace = seed(kubeconfig)
    const reference = expressDir()
    const verifier = async (label: string, args: ReadonlyArray<string>, cwd: string) => {
      const [port, health] = await Effect.runPromise(Ports.freeN(2))
      return measure(
        label,
        [...VERIFIER_FLAGS, ...args],
        cwd,
        {
          KUBECONFIG: kubeconfig,
          WATCH_NAMESPACE: namespace,
          FACILITATOR_URL: facilitator.url,
          LISTEN_ADDRESS: "127.0.0.1",
          PORT: String(port),
          HEALTH_PORT: String(health)
        },
        `http://127.0.0.1:${port}/verify/${namespace}/r4242`
      )
    }
    const expressPort = await Effect.runPromise(Ports.free)
    const rows: Array<Figures> = []
    if (ONLY.has("express")) {
      rows.push(
        await measure(
          "@x402/express 2.27 (Express 5)",
          ["express-server.mjs"],
          reference,
          { PORT: String(expressPort), FACILITATOR_URL: facilitator.url },
          `http://127.0.0.1:${expressPort}/services/r4242/chat`
        )
      )
    }
    if (ONLY.has("bundle"))
      rows.push(await verifier("x402-verifier, bundle (the image)", ["x402-verifier.mjs"], scratch))
    if (ONLY.has("sources")) {
      rows.push(
        await verifier(
          "x402-verifier, TypeScript sources",
          [join(root, "packages/x402-verifier/bin/x402-verifier.mjs")],
          root
        )
      )
    }
    const express = rows[0]!
    console.log(
      `\n${process.version}; started alone, one route, 2 s after the first 402; then ${REQUESTS} unpaid requests, 32 keep-alive connections`
    )
    console.log(
      "| process | first 402 ms | RSS MiB | of which file-backed | heap used / total MiB | external MiB | RSS vs express | peak RSS under load MiB | peak vs express | heap used after load MiB | requests/s |"
    )
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (const r of rows) {
      console.log(
        `| ${r.label} | ${r.readyMs.toFixed(0)} | ${mib(r.rss)} | ${mib(r.rssFile)} | ${mib(r.heapUsed)} / ${mib(r.heapTotal)} | ${mib(r.external)} | ${(r.rss / express.rss).toFixed(2)}x | ${mib(r.peak)} | ${(r.peak / express.peak).toFixed(2)}x | ${mib(r.heapAfter)} | ${r.rps.toFixed(0)} |`
      )
    }
    console.log("\nthe same moment (2 s after the first 402), V8 by space: used / committed MiB")
    const spaces = ["new", "old", "code", "trusted", "large_object"] as const
    console.log(`| process | ${spaces.join(" | ")} | script source MiB |`)
    console.log(`|---|${spaces.map(() => "---:|").join("")}---:|`)
    for (const r of rows) {
      const cells = spaces.map((s) => `${mib(r.spaces[s]?.[0] ?? 0, 1)} / ${mib(r.spaces[s]?.[1] ?? 0, 1)}`)
      console.log(`| ${r.label} | ${cells.join(" | ")} | ${mib(r.scriptSource, 1)} |`)
    }
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
