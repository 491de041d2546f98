import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as esbuild from "esbuild"
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import * as Bundle from "@obol/image/Bundle"

const repositoryRoot = join(import.meta.dirname, "..", "..", "..")

/** A scratch "repository" whose node_modules are ours, with the given source files. */
const scratch = (files: Readonly<Record<string, string>>) => {
  const root = mkdtempSync(join(tmpdir(), "bundle-test-"))
  symlinkSync(join(repositoryRoot, "node_modules"), join(root, "node_modules"))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

/** Bundles `entry` as `out.mjs`, its chunks written next to it in a scratch directory. */
const bundle = (root: string, entry: string) =>
  Effect.promise(() =>
    esbuild.build(Bundle.options(root, { out: entry })).then(
      (result) => {
        const dir = mkdtempSync(join(tmpdir(), "bundle-run-"))
        const outDir = join(root, "out")
        for (const file of result.outputFiles) {
          mkdirSync(dirname(join(dir, relative(outDir, file.path))), { recursive: true })
          writeFileSync(join(dir, relative(outDir, file.path)), file.contents)
        }
        const text = (path: string) => result.outputFiles.find((f) => relative(outDir, f.path) === path)!.text
        const chunks = result.outputFiles.map((f) => relative(outDir, f.path)).filter((p) => p !== "out.mjs")
        return {
          ok: true as const,
          code: text("out.mjs"),
          chunks: chunks.map((path) => ({ path, code: text(path) })),
          out: join(dir, "out.mjs")
        }
      },
      (error: esbuild.BuildFailure) => ({ ok: false as const, errors: error.errors.map((e) => e.text) })
    )
  )

describe("Bundle", () => {
  it.effect("narrows @kubernetes/client-node to KubeConfig, in a chunk read only when the dynamic import runs", () =>
    Effect.gen(function* () {
      const root = scratch({
        [Bundle.clientNodeImporter]:
          "if (process.argv[2] === 'load') {\n" +
          '  const m = await import("@kubernetes/client-node")\n' +
          "  console.log(typeof m.KubeConfig, Object.keys(m).join(','))\n" +
          "} else console.log('not loaded')\n"
      })
      const result = yield* bundle(root, Bundle.clientNodeImporter)
      expect(result.ok).toBe(true)
      if (!result.ok) return
      // the generated API clients (CoreV1Api and friends) are not in the bundle
      expect([result.code, ...result.chunks.map((c) => c.code)].join("\n")).not.toContain("class CoreV1Api")
      // KubeConfig (and undici, which it imports) is in a chunk under chunks/, not in the file node runs
      const clientNode = result.chunks.find((c) => /^chunks\/client-node-\w+\.mjs$/u.test(c.path))
      expect(clientNode?.code).toContain("loadFromCluster")
      expect(result.code).not.toContain("loadFromCluster")
      const loaded = spawnSync(process.execPath, [result.out, "load"], { encoding: "utf8" })
      expect(loaded.stderr).toBe("")
      expect(loaded.stdout).toBe("function KubeConfig\n")
      // without the import Node never reads the chunk: the program runs with the chunk gone
      rmSync(join(dirname(result.out), clientNode!.path))
      const lazy = spawnSync(process.execPath, [result.out], { encoding: "utf8" })
      expect(lazy.stderr).toBe("")
      expect(lazy.stdout).toBe("not loaded\n")
    })
  )

  it.effect("takes node:http with require, so running the bundle never loads Node's own undici", () =>
    Effect.gen(function* () {
      // A namespace import makes Node 24 read every export of node:http, and its lazy WebSocket,
      // CloseEvent and MessageEvent getters load Node's bundled undici.
      const entry = "packages/x/src/Server.ts"
      const root = scratch({
        [entry]:
          'import * as http from "node:http"\n' +
          'import { STATUS_CODES } from "http"\n' +
          "const undici = () => process.moduleLoadList.filter((m) => m.includes('undici')).length\n" +
          "console.log(typeof http.createServer, STATUS_CODES[402], undici())\n"
      })
      const result = yield* bundle(root, entry)
      expect(result.ok).toBe(true)
      if (!result.ok) return
      expect(result.code).not.toMatch(/from\s*["']node:http["']/u)
      expect(result.code).toContain('require("node:http")')
      const run = spawnSync(process.execPath, [result.out], { encoding: "utf8" })
      expect(run.stderr).toBe("")
      expect(run.stdout).toBe("function Payment Required 0\n")
    })
  )

  it.effect(
    "cuts the code a process loads at start into chunks of about maxEagerChunkBytes, evaluated in the same order",
    () =>
      Effect.gen(function* () {
        // Five modules of ~4 KB with top-level effects, two sharing a third; the order they run in
        // is what Node gives the sources unbundled.
        const body = (name: string) =>
          `globalThis.order.push("${name}")\nexport const ${name} = ${JSON.stringify("x".repeat(4000))}.length\n`
        const dir = "packages/x402-verifier/src"
        const root = scratch({
          [`${dir}/order.ts`]: "globalThis.order = []\n",
          [`${dir}/a.ts`]: body("a"),
          [`${dir}/b.ts`]: body("b"),
          [`${dir}/shared.ts`]: body("shared"),
          [`${dir}/c.ts`]: `import { shared } from "./shared.ts"\n${body("c")}export const cs = c + shared\n`,
          [`${dir}/d.ts`]: `import { shared } from "./shared.ts"\n${body("d")}export const ds = d + shared\n`,
          [`${dir}/main.ts`]:
            'import "./order.ts"\nimport { a } from "./a.ts"\nimport { b } from "./b.ts"\n' +
            'import { cs } from "./c.ts"\nimport { ds } from "./d.ts"\n' +
            "console.log(globalThis.order.join(' '), a + b + cs + ds)\n"
        })
        const unbundled = spawnSync(process.execPath, [join(root, dir, "main.ts")], { encoding: "utf8" })
        expect(unbundled.stdout).toBe("a b shared c d 24000\n")
        const [built] = yield* Bundle.build(root, ["x402-verifier"], { maxEagerChunkBytes: 9000 })
        const out = mkdtempSync(join(tmpdir(), "bundle-run-"))
        writeFileSync(join(out, "x402-verifier.mjs"), built!.code)
        for (const chunk of built!.chunks) {
          mkdirSync(dirname(join(out, chunk.path)), { recursive: true })
          writeFileSync(join(out, chunk.path), chunk.code)
        }
        const sizes = built!.chunks.map((chunk) => chunk.code.byteLength).filter((bytes) => bytes > 2000)
        expect(sizes.length).toBeGreaterThanOrEqual(2)
        expect(Math.max(...sizes)).toBeLessThan(13_000)
        // the cutting entry points are not shipped
        expect(built!.chunks.map((chunk) => chunk.path).filter((path) => !path.startsWith("chunks/"))).toEqual([])
        const run = spawnSync(process.execPath, [join(out, "x402-verifier.mjs")], { encoding: "utf8" })
        expect(run.stderr).toBe("")
        expect(run.stdout).toBe(unbundled.stdout)
      })
  )

  it.effect("refuses @kubernetes/client-node imported from anywhere else, saying where the rule lives", () =>
    Effect.gen(function* () {
      const root = scratch({ "packages/x/src/Other.ts": 'export { CoreV1Api } from "@kubernetes/client-node"\n' })
      const result = yield* bundle(root, "packages/x/src/Other.ts")
      expect(result).toEqual({
        ok: false,
        errors: [
          "packages/x/src/Other.ts imports @kubernetes/client-node; only packages/kube/src/KubeConfig.ts may " +
            "(the bundle narrows that package to KubeConfig: see packages/image/src/Bundle.ts)"
        ]
      })
    })
  )
})
