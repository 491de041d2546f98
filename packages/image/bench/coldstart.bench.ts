/**
 * Benchmark for docs/adr/0009: the bundled JavaScript the image ships against the alternative,
 * the TypeScript workspace run by Node's type stripping, on two counts:
 *
 * - size: the image's app layer (three bundles and the notices) against what the workspace would
 *   need instead: `npm ci --omit=dev` of the three processes' workspaces into a scratch copy of
 *   the repository (their sources, the workspace packages they import, production node_modules);
 * - cold start: from spawning `node` to the first 200 from `/readyz`, against a real
 *   kube-apiserver, for each process as `node <bundle>.mjs` (the bundles taken out of the built
 *   archive) and as `node packages/<process>/src/main.ts` in that scratch install; one unmeasured
 *   warm-up run each, then the median, minimum and maximum of BENCH_RUNS (default 5), and the
 *   resident memory when ready.
 *
 * Run: `npm run image && npm run bench -w @obol/image`. With KUBECONFIG set it uses that cluster,
 * otherwise it starts a control plane of its own. Needs the npm registry for the scratch install.
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { execFileSync, spawn } from "node:child_process"
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import { ControlPlane } from "@obol/test-envs/ControlPlane"
import * as Ports from "@obol/test-envs/Ports"
import * as Image from "../src/Image.ts"
import * as Tar from "../src/Tar.ts"

const RUNS = Number(process.env["BENCH_RUNS"] ?? 5)
const root = join(import.meta.dirname, "..", "..", "..")
const node = process.execPath
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Bytes under a path, symlinks counted as links (as `du -sb` does, without following them);
 * `skip` names directories left out (nested `node_modules`, counted as packages of their own).
 */
const du = (path: string, skip?: string): number => {
  const stat = lstatSync(path)
  if (!stat.isDirectory()) return stat.size
  return readdirSync(path)
    .filter((name) => name !== skip)
    .reduce((sum, name) => sum + du(join(path, name), skip), stat.size)
}

const mb = (bytes: number) => `${(bytes / 1_000_000).toFixed(1)} MB`

/** The app layer of the built archive, and the bundles written out of it. */
const bundlesFromArchive = async (dir: string) => {
  const archive = join(root, Image.archivePath)
  if (!existsSync(archive)) throw new Error(`${Image.archivePath} is missing: run \`npm run image\` first`)
  const files = new Map(
    (await Effect.runPromise(Tar.read(readFileSync(archive), archive))).flatMap((e) =>
      e.type === "file" ? [[e.path, Buffer.from(e.content)] as const] : []
    )
  )
  const blob = (digest: string) => files.get(`blobs/${digest.replace(":", "/")}`)!
  const index = JSON.parse(files.get("index.json")!.toString())
  const manifest = JSON.parse(blob(index.manifests[0].digest).toString())
  const layers = manifest.layers.map((d: { digest: string; size: number }) => d)
  const app = layers.at(-1)
  for (const entry of await Effect.runPromise(Tar.read(blob(app.digest), "app layer"))) {
    if (entry.type === "file") {
      const path = join(dir, relative(Image.appDir.slice(1), entry.path))
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, entry.content)
    }
  }
  return {
    layers: layers.map((d: { size: number }) => d.size) as Array<number>,
    total: readFileSync(archive).byteLength
  }
}

/** A scratch copy of the repository with only the processes' production dependencies installed. */
const workspaceInstall = (dir: string) => {
  cpSync(join(root, "package.json"), join(dir, "package.json"))
  cpSync(join(root, "package-lock.json"), join(dir, "package-lock.json"))
  for (const workspace of [...readdirSync(join(root, "packages")).map((p) => `packages/${p}`), "test-envs"]) {
    mkdirSync(join(dir, workspace), { recursive: true })
    cpSync(join(root, workspace, "package.json"), join(dir, workspace, "package.json"))
    for (const part of ["src", "artifacts"]) {
      if (workspace.startsWith("packages/") && existsSync(join(root, workspace, part))) {
        cpSync(join(root, workspace, part), join(dir, workspace, part), { recursive: true })
      }
    }
  }
  const started = Date.now()
  execFileSync(
    "npm",
    [
      "ci",
      "--omit=dev",
      "--ignore-scripts",
      "--no-audit",
      "--no-fund",
      ...Image.processes.flatMap((p) => ["--workspace", `@obol/${p}`])
    ],
    { cwd: dir, stdio: ["ignore", "ignore", "inherit"] }
  )
  const runtimePackages = ["api", "chain", "controller", "kube", "x402", ...Image.processes]
  const sources = runtimePackages.reduce(
    (sum, p) =>
      sum +
      ["src", "artifacts", "package.json"].reduce(
        (s, part) => s + (existsSync(join(dir, "packages", p, part)) ? du(join(dir, "packages", p, part)) : 0),
        0
      ),
    0
  )
  // npm ci installs every workspace's dependencies (test-envs' anvil and solc too); the processes'
  // own production closure is what `npm ls --omit=dev` lists for their workspaces.
  const closure = execFileSync(
    "npm",
    ["ls", "--omit=dev", "--all", "--parseable", ...Image.processes.flatMap((p) => ["--workspace", `@obol/${p}`])],
    { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }
  )
    .split("\n")
    .filter((path) => path.includes("/node_modules/") && !path.includes("/node_modules/@obol/"))
  const closureBytes = [...new Set(closure)].reduce((sum, path) => sum + du(path, "node_modules"), 0)
  return {
    nodeModules: du(join(dir, "node_modules")),
    closure: closureBytes,
    closurePackages: new Set(closure).size,
    sources,
    installSeconds: (Date.now() - started) / 1000
  }
}

const readyz = async (port: number) => {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`)
    return response.status === 200
  } catch {
    return false
  }
}

const rss = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"))
  return Number(line?.split(/\s+/u)[1] ?? 0) * 1024
}

/** Spawns a process, polls /readyz every 5 ms, and stops it with SIGTERM once ready. */
const coldStart = async (args: ReadonlyArray<string>, cwd: string, env: Record<string, string>, port: number) => {
  const started = performance.now()
  const child = spawn(node, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] })
  let stderr = ""
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()))
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${args.join(" ")} exited: ${stderr}`)
      if (await readyz(port)) break
      if (performance.now() - started > 60_000) throw new Error(`${args.join(" ")}: not ready in 60 s`)
      await sleep(5)
    }
    return { ms: performance.now() - started, rss: rss(child.pid!) }
  } finally {
    child.kill("SIGTERM")
    await exited
  }
}

const settings = (process: Image.Process, kubeconfig: string, ports: ReadonlyArray<number>): Record<string, string> => {
  const [health, port, wellKnown] = ports as [number, number, number]
  const common = {
    KUBECONFIG: kubeconfig,
    HEALTH_PORT: String(health),
    LISTEN_ADDRESS: "127.0.0.1",
    NODE_ENV: "production"
  }
  switch (process) {
    case "x402-verifier":
      return { ...common, FACILITATOR_URL: "http://127.0.0.1:1", PORT: String(port) }
    case "serviceoffer-controller":
      return { ...common, WELL_KNOWN_PORT: String(wellKnown), POD_NAME: "bench" }
    case "registrar":
      return { ...common, POD_NAME: "bench" }
  }
}

const summary = (values: ReadonlyArray<number>) => {
  const sorted = values.toSorted((a, b) => a - b)
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted.at(-1)! }
}

const main = async (kubeconfig: string) => {
  const scratch = mkdtempSync(join(tmpdir(), "image-bench-"))
  try {
    const bundleDir = join(scratch, "app")
    mkdirSync(bundleDir)
    const image = await bundlesFromArchive(bundleDir)
    const workspace = join(scratch, "workspace")
    mkdirSync(workspace)
    const installed = workspaceInstall(workspace)
    const appLayer = image.layers.at(-1)!
    console.log(`image archive ${mb(image.total)}; layers ${image.layers.map(mb).join(" + ")}`)
    console.log(`bundled: app layer ${mb(appLayer)}`)
    console.log(
      `workspace: production node_modules ${mb(installed.nodeModules)} + workspace sources ${mb(installed.sources)} ` +
        `= ${mb(installed.nodeModules + installed.sources)} (npm ci --omit=dev took ${installed.installSeconds.toFixed(0)} s)`
    )
    console.log(
      `workspace, the processes' production closure only (npm ls --omit=dev): ${installed.closurePackages} packages, ` +
        `${mb(installed.closure)} + sources ${mb(installed.sources)}`
    )
    const ports = await Effect.runPromise(Ports.freeN(3))
    console.log(`\ncold start to /readyz (ms), ${RUNS} runs after one warm-up; resident memory when ready`)
    for (const name of Image.processes) {
      for (const variant of ["bundle", "workspace"] as const) {
        const args = variant === "bundle" ? [join(bundleDir, `${name}.mjs`)] : [`packages/${name}/src/main.ts`]
        const cwd = variant === "bundle" ? bundleDir : workspace
        const env = settings(name, kubeconfig, ports)
        await coldStart(args, cwd, env, ports[0])
        const runs: Array<{ ms: number; rss: number }> = []
        for (let i = 0; i < RUNS; i++) runs.push(await coldStart(args, cwd, env, ports[0]))
        const ms = summary(runs.map((r) => r.ms))
        const memory = summary(runs.map((r) => r.rss))
        console.log(
          `${name.padEnd(24)} ${variant.padEnd(10)} median ${ms.median.toFixed(0).padStart(5)}  ` +
            `min ${ms.min.toFixed(0).padStart(5)}  max ${ms.max.toFixed(0).padStart(5)}  rss ${mb(memory.median)}`
        )
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

const given = process.env["KUBECONFIG"]
if (given !== undefined && given !== "") {
  await main(given)
} else {
  const scope = await Effect.runPromise(Scope.make())
  try {
    const context = await Effect.runPromise(Layer.buildWithScope(ControlPlane.layer(), scope))
    await main(Context.get(context, ControlPlane).kubeconfig)
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
