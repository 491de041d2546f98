/**
 * The workspace's package graph, checked from the files themselves: every `package.json` of the
 * workspaces (dependencies, devDependencies and peerDependencies) and every `@obol/*` import under
 * each package's `src/`, `test/`, `bench/`, `examples/` and `bin/`.
 *
 * 1. Each `@obol/*` package a file imports is declared in its own package's `package.json` (npm's
 *    hoisting would otherwise resolve it by accident).
 * 2. The declared graph has no cycle: a loop makes "which package can change without the other"
 *    unanswerable, and a test of one package then runs against the other's half-finished state.
 * 3. The dependency rule of `test-envs/README.md`: libraries never depend on test-envs or on an
 *    app (their fakes and reusable suites ship under their own `testing/` subpath, and runs that
 *    need a real component live in `test-envs/test/<pkg>/` and `test-envs/bench/`); test-envs may
 *    import libraries but reaches apps only as processes started from their bins; apps may depend
 *    on test-envs.
 *
 * Imports are read line by line, skipping comment lines, so a docblock's example does not count.
 */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"

const root = join(import.meta.dirname, "..", "..")

/** Every workspace package is one of these; a new package must be placed here before this passes. */
const libraries = ["@obol/api", "@obol/chain", "@obol/controller", "@obol/kube", "@obol/x402"]
const apps = ["@obol/cli", "@obol/image", "@obol/registrar", "@obol/serviceoffer-controller", "@obol/x402-verifier"]
const testEnvs = "@obol/test-envs"

const scanned = ["src", "test", "bench", "examples", "bin"]
const sourceFile = /\.(?:ts|mts|cts|js|mjs|cjs|tsx)$/u
const specifiers = [
  /\bfrom\s*["'](@obol\/[\w.-]+)/gu,
  /\bimport\s*\(\s*["'](@obol\/[\w.-]+)/gu,
  /^\s*import\s*["'](@obol\/[\w.-]+)/gu
]

interface Workspace {
  readonly name: string
  readonly dir: string
  readonly declared: ReadonlySet<string>
  /** Imported `@obol/*` package → the files (relative to the repository) importing it. */
  readonly imported: ReadonlyMap<string, ReadonlyArray<string>>
}

const filesUnder = (dir: string): Array<string> => {
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return []
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : filesUnder(path)
    return sourceFile.test(entry.name) ? [path] : []
  })
}

const importsOf = (file: string): Set<string> => {
  const found = new Set<string>()
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const trimmed = line.trimStart()
    if (trimmed.startsWith("*") || trimmed.startsWith("//") || trimmed.startsWith("/*")) continue
    for (const pattern of specifiers) {
      for (const match of line.matchAll(pattern)) found.add(match[1]!)
    }
  }
  return found
}

const workspaceDirs = (): Array<string> => {
  const patterns: Array<string> = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).workspaces
  return patterns.flatMap((pattern) => {
    if (!pattern.endsWith("/*")) return [join(root, pattern)]
    const parent = join(root, pattern.slice(0, -2))
    return readdirSync(parent)
      .map((name) => join(parent, name))
      .filter((dir) => statSync(dir).isDirectory() && statSync(join(dir, "package.json"), { throwIfNoEntry: false }))
  })
}

const readWorkspace = (dir: string): Workspace => {
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))
  const declared = new Set(
    [manifest.dependencies, manifest.devDependencies, manifest.peerDependencies]
      .flatMap((deps) => Object.keys(deps ?? {}))
      .filter((name) => name.startsWith("@obol/"))
  )
  const imported = new Map<string, Array<string>>()
  for (const file of scanned.flatMap((sub) => filesUnder(join(dir, sub)))) {
    for (const name of importsOf(file)) {
      if (name === manifest.name) continue
      imported.set(name, [...(imported.get(name) ?? []), relative(root, file)])
    }
  }
  return { name: manifest.name, dir: relative(root, dir), declared, imported }
}

const workspaces = workspaceDirs().map(readWorkspace)
const byName = new Map(workspaces.map((workspace) => [workspace.name, workspace]))

/** Every elementary cycle's first appearance in a depth-first walk, as `a → b → a`. */
const cycles = (): Array<string> => {
  const found = new Map<string, string>()
  const walk = (path: ReadonlyArray<string>) => {
    const here = path.at(-1)!
    for (const next of [...(byName.get(here)?.declared ?? [])].toSorted()) {
      const at = path.indexOf(next)
      if (at >= 0) {
        const loop = path.slice(at)
        const start = loop.indexOf(loop.toSorted()[0]!)
        const canonical = [...loop.slice(start), ...loop.slice(0, start)]
        found.set(canonical.join(" "), [...canonical, canonical[0]].join(" → "))
      } else if (byName.has(next)) {
        walk([...path, next])
      }
    }
  }
  for (const name of [...byName.keys()].toSorted()) walk([name])
  return [...found.values()].toSorted()
}

describe("workspace dependencies", () => {
  it("finds the workspaces and places each as a library, an app or test-envs", () => {
    expect(workspaces.length).toBeGreaterThan(5)
    expect(workspaces.map((w) => w.name).toSorted()).toEqual([...libraries, ...apps, testEnvs].toSorted())
    // The scan itself works: a regression in the patterns would otherwise pass every check below.
    expect(byName.get(testEnvs)?.imported.get("@obol/kube")?.length).toBeGreaterThan(0)
  })

  it("declares every @obol package a file imports", () => {
    const undeclared = workspaces.flatMap((workspace) =>
      [...workspace.imported]
        .filter(([name]) => !workspace.declared.has(name))
        .map(([name, files]) => `${workspace.name} imports ${name} undeclared, in ${files.toSorted().join(", ")}`)
    )
    expect(undeclared).toEqual([])
  })

  it("has no cycle among the declared @obol dependencies", () => {
    expect(cycles()).toEqual([])
  })

  it("keeps libraries off test-envs and apps, and test-envs off apps", () => {
    const forbidden = workspaces.flatMap((workspace) => {
      const banned = libraries.includes(workspace.name) ? [testEnvs, ...apps] : workspace.name === testEnvs ? apps : []
      return [...new Set([...workspace.declared, ...workspace.imported.keys()])]
        .filter((name) => banned.includes(name))
        .toSorted()
        .map((name) => {
          const files = workspace.imported.get(name) ?? []
          return `${workspace.name} depends on ${name}${files.length === 0 ? " (declared only)" : ` through ${files.toSorted().join(", ")}`}`
        })
    })
    expect(forbidden).toEqual([])
  })
})
