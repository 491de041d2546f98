/**
 * One ESM file per process, bundled by esbuild from `packages/<process>/src/main.ts` with every
 * dependency inside, so the image needs no `node_modules` and `node /app/<process>.mjs` runs as
 * is (docs/adr/0009 has the measurements against shipping the TypeScript workspace); what it
 * imports lazily is split into files of its own under `chunks/` next to it.
 *
 * How the bundle is shaped, and why:
 * - ESM for Node 24 (`platform: node`, `target: node24`), with a `require` made by
 *   `createRequire` so the CommonJS libraries inside (ws, js-yaml, …) can still `require` Node's
 *   built-ins;
 * - dynamic imports (`@obol/kube`'s lazy `import("@kubernetes/client-node")`, only for kubeconfig
 *   files; `@effect/platform-node`'s undici client) are split into chunks (`splitting`), which Node
 *   reads only when the import runs. V8 keeps the whole source of every script it loads, evaluated
 *   or not: inlined, the 1.7 MiB of `@kubernetes/client-node` and undici that a pod never runs
 *   stayed in every process's memory. Each process is bundled on its own, so its file and chunks
 *   hold only its own code; a chunk is named by its content's hash, and two processes' identical
 *   chunks are one file in the image;
 * - the code a process loads at start is cut into chunks of about {@link maxEagerChunkBytes}
 *   (see {@link cutPoints}): V8 compiles a module's top-level code in one go, and the compiler's
 *   memory for a 0.85 MB module (10 MiB) stayed with the C allocator after start;
 * - `@kubernetes/client-node`'s barrel (16 MB of generated API clients) is narrowed to the one
 *   export the code uses, `KubeConfig` (see {@link narrowClientNode}); the bundle is 5 MB, not 20;
 * - paths in the output are relative to the repository root, so the bytes do not depend on
 *   where the repository is checked out; any esbuild warning fails the build;
 * - whitespace and comments are dropped and every non-ASCII character is escaped
 *   (`minifyWhitespace`, `charset: "ascii"`): V8 keeps a module's whole source in memory, and one
 *   non-ASCII character anywhere (a `’` in a comment of undici's) makes it a two-byte string. The
 *   verifier's 5.2 MB bundle held 13.8 MiB of script source; now 3.6 MB and 7.3 MiB
 *   (docs/benchmarks.md, the verifier's memory). Names are kept, so stack traces still name
 *   functions (at line:column of a long line);
 * - node:http is taken with `require`, never as an ES module namespace, which would load Node's
 *   own undici (see {@link requireNodeHttp}).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as esbuild from "esbuild"
import { join, relative } from "node:path"
import type * as Image from "./Image.ts"
import { ImageError } from "./ImageError.ts"

/**
 * A process's bundle.
 *
 * @category models
 */
export interface Bundle {
  readonly process: Image.Process
  /** `<process>.mjs`, the file `node` runs. */
  readonly code: Uint8Array
  /**
   * The files it imports, relative to its directory (`chunks/<name>-<hash>.mjs`): the parts it
   * imports lazily, and the code those share with it.
   */
  readonly chunks: ReadonlyArray<Chunk>
  /** The source files inside it and its chunks, relative to the repository root (`node_modules/effect/dist/…`). */
  readonly inputs: ReadonlyArray<string>
}

/**
 * @category models
 */
export interface Chunk {
  /** Relative to the directory of the process's file, e.g. `chunks/client-node-3FJ2KQ7X.mjs`. */
  readonly path: string
  readonly code: Uint8Array
}

/**
 * Where chunks go, relative to the directory of the processes' files.
 *
 * @category constants
 */
export const chunkDir = "chunks"

/**
 * The only module allowed to import `@kubernetes/client-node`, and the only export it uses.
 *
 * @category constants
 */
export const clientNodeImporter = "packages/kube/src/KubeConfig.ts"

/**
 * An esbuild plugin that resolves `@kubernetes/client-node` to a module exporting only
 * `KubeConfig` from the package's `dist/config.js`, so the generated API clients stay out.
 *
 * **Gotchas**: an import of `@kubernetes/client-node` from any other file than
 * {@link clientNodeImporter} fails the build, so new uses are decided here, not discovered at run
 * time as a missing export.
 *
 * @category constructors
 */
export const narrowClientNode = (root: string): esbuild.Plugin => ({
  name: "narrow-client-node",
  setup(build) {
    build.onResolve({ filter: /^@kubernetes\/client-node$/ }, (args) => {
      const importer = relative(root, args.importer)
      return importer === clientNodeImporter
        ? { path: "@kubernetes/client-node", namespace: "narrow-client-node", pluginData: args.resolveDir }
        : {
            errors: [
              {
                text:
                  `${importer} imports @kubernetes/client-node; only ${clientNodeImporter} may ` +
                  "(the bundle narrows that package to KubeConfig: see packages/image/src/Bundle.ts)"
              }
            ]
          }
    })
    build.onLoad({ filter: /.*/, namespace: "narrow-client-node" }, (args) => ({
      contents: 'export { KubeConfig } from "@kubernetes/client-node/dist/config.js"\n',
      resolveDir: args.pluginData as string,
      loader: "js"
    }))
  }
})

/**
 * An esbuild plugin that turns every `import … from "node:http"` into a `require("node:http")`
 * (through the banner's `require`), so the bundle never takes node:http's ES module namespace.
 *
 * **Details**: Node 24 builds a built-in's ES module namespace by reading every export once, and
 * node:http's `WebSocket`, `CloseEvent` and `MessageEvent` are lazy getters that load Node's own
 * copy of undici: 1.7 MiB more script source, 2.7 MiB more heap and 13 MiB more RSS in a bare
 * process, for exports no process uses. A `require` returns the same module object without reading
 * them. node:http is the only built-in whose namespace does this (Node 24.21).
 *
 * @category constructors
 */
export const requireNodeHttp: esbuild.Plugin = {
  name: "require-node-http",
  setup(build) {
    build.onResolve({ filter: /^(node:)?http$/ }, (args) =>
      args.kind === "require-call" ? undefined : { path: "node:http", namespace: "require-node-http" }
    )
    build.onLoad({ filter: /.*/, namespace: "require-node-http" }, () => ({
      contents: 'module.exports = require("node:http")\n',
      loader: "js"
    }))
  }
}

/**
 * About how much of the code a process loads at start one chunk holds (esbuild's output bytes).
 *
 * **Details**: V8 compiles each module's top-level code in one go, in memory taken from the C
 * allocator (about 12 bytes per byte of source: 10 MiB for one 0.85 MB module, the verifier's eager
 * code in two modules made glibc's heap 14.5 MiB, of which 11 MiB free and kept after start). Cut
 * into chunks of this size, each compiles in 2–3 MiB that the next one reuses. Much smaller chunks
 * cost more than they save: the verifier's eager code in 32 or 45 chunks (96 or 64 KiB) made Node's
 * module resolution hot enough for V8's optimizing compilers at start, and 5 MiB more of the node
 * binary was resident; 16 (192 KiB) and 26 (128 KiB) did not (docs/benchmarks.md).
 *
 * @category constants
 */
export const maxEagerChunkBytes = 192 * 1024

/**
 * The entry points that cut a process's eager code into chunks, from a build without them: the
 * modules its file and the chunks it imports statically hold, in their order in the output, cut
 * into `ceil(total / maxBytes)` runs of about equal bytes. Each run becomes an entry point that
 * imports its modules (`import "<module>"`), and esbuild puts a module in the chunk of the entry
 * points that reach it: modules reached by different runs land in different chunks. The cutting
 * entry points' own files are never imported, and are dropped. Evaluation order is still esbuild's
 * (a chunk imports the chunks whose code it uses), and no module is added to what the process
 * loads: only the chunks' import and export statements (2 % more bytes for the verifier).
 *
 * @category constructors
 */
export const cutPoints = (
  metafile: esbuild.Metafile,
  entry: string,
  maxBytes: number
): ReadonlyArray<ReadonlyArray<string>> => {
  const eager = [entry]
  for (let i = 0; i < eager.length; i++) {
    for (const imported of metafile.outputs[eager[i]!]?.imports ?? []) {
      if (imported.kind === "import-statement" && !imported.external && !eager.includes(imported.path)) {
        eager.push(imported.path)
      }
    }
  }
  // Modules of a plugin's namespace (`narrow-client-node:…`) have no file to import.
  const modules = eager.flatMap((output) =>
    Object.entries(metafile.outputs[output]!.inputs)
      .filter(([path]) => !path.includes(":"))
      .map(([path, { bytesInOutput }]) => ({ path, bytes: bytesInOutput }))
  )
  const total = modules.reduce((sum, module) => sum + module.bytes, 0)
  const runs = Math.ceil(total / maxBytes)
  if (runs <= 1) return []
  const cuts: Array<Array<string>> = Array.from({ length: runs }, () => [])
  let done = 0
  for (const module of modules) {
    cuts[Math.min(runs - 1, Math.floor((done / total) * runs))]!.push(module.path)
    done += module.bytes
  }
  return cuts.filter((cut) => cut.length > 0)
}

const cutPrefix = "obol-cut-"

/** Resolves the cutting entry points (`obol-cut-<n>`) to modules importing their runs. */
const cutEntries = (root: string, cuts: ReadonlyArray<ReadonlyArray<string>>): esbuild.Plugin => ({
  name: "cut-eager-code",
  setup(build) {
    build.onResolve({ filter: new RegExp(`^${cutPrefix}\\d+$`) }, (args) =>
      args.kind === "entry-point" ? { path: args.path, namespace: "cut-eager-code" } : undefined
    )
    build.onLoad({ filter: /.*/, namespace: "cut-eager-code" }, (args) => ({
      contents: cuts[Number(args.path.slice(cutPrefix.length))]!.map(
        (path) => `import ${JSON.stringify(join(root, path))}\n`
      ).join(""),
      resolveDir: root,
      loader: "js"
    }))
  }
})

const banner =
  'import { createRequire as __obolCreateRequire } from "node:module";\n' +
  "const require = __obolCreateRequire(import.meta.url);"

/**
 * The esbuild options of every bundle (see the module header); `entryPoints` maps an output name
 * to its source, both relative to `root`.
 *
 * @category constructors
 */
export const options = (root: string, entryPoints: Readonly<Record<string, string>>) =>
  ({
    absWorkingDir: root,
    entryPoints: Object.entries(entryPoints).map(([out, source]) => ({ in: source, out })),
    outdir: "out",
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    splitting: true,
    chunkNames: `${chunkDir}/[name]-[hash]`,
    target: "node24",
    banner: { js: banner },
    legalComments: "none",
    // One-byte source (see the module header): no comments, every non-ASCII character escaped.
    minifyWhitespace: true,
    charset: "ascii",
    metafile: true,
    write: false,
    logLevel: "silent",
    plugins: [narrowClientNode(root), requireNodeHttp]
  }) satisfies esbuild.BuildOptions

/**
 * Bundles the processes, each on its own (so no chunk holds another process's code): one esbuild
 * run, and a second one with the {@link cutPoints} when its eager code is larger than
 * `maxEagerChunkBytes` (default {@link maxEagerChunkBytes}). Fails if two processes' chunks of the
 * same name differ (their names carry a hash of their content, so they never should): the image
 * holds one file per name.
 *
 * @category constructors
 */
export const build = (
  root: string,
  processes: ReadonlyArray<Image.Process>,
  settings: { readonly maxEagerChunkBytes?: number } = {}
): Effect.Effect<ReadonlyArray<Bundle>, ImageError> =>
  Effect.forEach(processes, (process) => buildOne(root, process, settings.maxEagerChunkBytes ?? maxEagerChunkBytes), {
    concurrency: "unbounded"
  }).pipe(
    Effect.flatMap((bundles) => {
      const seen = new Map<string, Uint8Array>()
      for (const chunk of bundles.flatMap((bundle) => bundle.chunks)) {
        const other = seen.get(chunk.path)
        if (other !== undefined && Buffer.compare(other, chunk.code) !== 0) {
          return Effect.fail(
            new ImageError({ reason: "BundleFailed", message: `two different chunks named ${chunk.path}` })
          )
        }
        seen.set(chunk.path, chunk.code)
      }
      return Effect.succeed(bundles)
    })
  )

const esbuildFailed = (error: unknown) =>
  new ImageError({
    reason: "BundleFailed",
    message: `esbuild: ${error instanceof Error ? error.message : String(error)}`
  })

const noWarnings = (result: esbuild.BuildResult) => {
  if (result.warnings.length === 0) return Effect.void
  const text = esbuild.formatMessagesSync(result.warnings, { kind: "warning", color: false }).join("\n")
  return Effect.fail(new ImageError({ reason: "BundleFailed", message: `esbuild warned:\n${text}` }))
}

const buildOne = (root: string, process: Image.Process, maxBytes: number): Effect.Effect<Bundle, ImageError> =>
  Effect.gen(function* () {
    const entries = { [process]: `packages/${process}/src/main.ts` }
    const file = `out/${process}.mjs`
    const whole = yield* Effect.tryPromise({ try: () => esbuild.build(options(root, entries)), catch: esbuildFailed })
    yield* noWarnings(whole)
    const cuts = cutPoints(whole.metafile, file, maxBytes)
    const result =
      cuts.length === 0
        ? whole
        : yield* Effect.tryPromise({
            try: () => {
              const base = options(root, {
                ...entries,
                ...Object.fromEntries(cuts.map((_, i) => [`${cutPrefix}${i}`, `${cutPrefix}${i}`]))
              })
              return esbuild.build({
                ...base,
                plugins: [...base.plugins, cutEntries(root, cuts)],
                // The runs' bare imports of side-effect-free modules are what they are for.
                logOverride: { "ignored-bare-import": "silent" }
              })
            },
            catch: esbuildFailed
          })
    yield* noWarnings(result)
    const output = result.outputFiles.find((o) => relative(root, o.path) === file)
    if (output === undefined) {
      return yield* new ImageError({ reason: "BundleFailed", message: `esbuild wrote no ${file}` })
    }
    const cutFile = (path: string) => path.startsWith(`out/${cutPrefix}`)
    for (const [path, meta] of Object.entries(result.metafile.outputs)) {
      if (!cutFile(path) && meta.imports.some((imported) => cutFile(imported.path))) {
        return yield* new ImageError({ reason: "BundleFailed", message: `${path} imports a cutting entry point` })
      }
    }
    const chunks = result.outputFiles
      .filter((o) => o !== output && !cutFile(relative(root, o.path)))
      .map((o) => ({ path: relative(join(root, "out"), o.path), code: o.contents }))
      .toSorted((a, b) => (a.path < b.path ? -1 : 1))
    const inputs = new Set(
      Object.entries(result.metafile.outputs)
        .filter(([path]) => !cutFile(path))
        .flatMap(([, meta]) => Object.keys(meta.inputs))
    )
    return { process, code: output.contents, chunks, inputs: [...inputs].toSorted() }
  })
