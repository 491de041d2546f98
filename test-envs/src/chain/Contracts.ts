/**
 * Our contracts and their build: `<dir>/contracts/<Name>.sol` compiled with solc-js (exact-pinned)
 * against the exact-pinned `@openzeppelin/contracts`, written to `<dir>/artifacts/<Name>.json` and
 * committed, so tests and `chain:up` deploy without compiling. The test-only contracts (TestUSDC,
 * Multicall3) live in `test-envs/chain`; the ERC-8004 IdentityRegistry is part of `@obol/chain`
 * (`packages/chain`). {@link check} recompiles in memory and says which artifact is stale.
 *
 * This module does not deploy anything (see `Chain.ts`).
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import type { Abi } from "viem"

const require = createRequire(import.meta.url)

/** The root of `test-envs/chain`. */
export const chainDir = join(import.meta.dirname, "..", "..", "chain")

/** Where `@obol/chain` keeps its contract and artifact. */
export const packageDir = join(import.meta.dirname, "..", "..", "..", "packages", "chain")

/** Contracts we build, by file name without `.sol`. */
export const contracts = ["TestUSDC", "Multicall3", "IdentityRegistry"] as const

const homes: Record<(typeof contracts)[number], string> = {
  TestUSDC: chainDir,
  Multicall3: chainDir,
  IdentityRegistry: packageDir
}

/**
 * @category models
 */
export interface Artifact {
  readonly contractName: string
  readonly compiler: string
  readonly openzeppelin: string
  readonly abi: Abi
  readonly bytecode: `0x${string}`
  /** Runtime code, for placing a contract with `anvil_setCode` (Multicall3). */
  readonly deployedBytecode: `0x${string}`
}

interface SolcOutput {
  readonly errors?: ReadonlyArray<{ readonly severity: string; readonly formattedMessage: string }>
  readonly contracts: Record<
    string,
    Record<
      string,
      {
        readonly abi: Artifact["abi"]
        readonly evm: {
          readonly bytecode: { readonly object: string }
          readonly deployedBytecode: { readonly object: string }
        }
      }
    >
  >
}

const openzeppelinVersion = (): string =>
  (JSON.parse(readFileSync(require.resolve("@openzeppelin/contracts/package.json"), "utf8")) as { version: string })
    .version

/**
 * Compiles every contract. Fails with solc's own messages on any error.
 *
 * @category constructors
 */
export const compile = (): ReadonlyArray<Artifact> => {
  const solc = require("solc") as { version: () => string; compile: (input: string, callbacks: object) => string }
  const sources = Object.fromEntries(
    contracts.map((name) => [
      `${name}.sol`,
      { content: readFileSync(join(homes[name], "contracts", `${name}.sol`), "utf8") }
    ])
  )
  const openzeppelinRoot = dirname(require.resolve("@openzeppelin/contracts/package.json"))
  const findImports = (path: string) => {
    const prefix = "@openzeppelin/contracts/"
    if (!path.startsWith(prefix)) return { error: `unknown import ${path}: only @openzeppelin/contracts is available` }
    try {
      return { contents: readFileSync(join(openzeppelinRoot, path.slice(prefix.length)), "utf8") }
    } catch (error) {
      return { error: `cannot read ${path}: ${String(error)}` }
    }
  }
  const input = {
    language: "Solidity",
    sources,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } }
    }
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as SolcOutput
  const errors = (output.errors ?? []).filter((e) => e.severity === "error")
  if (errors.length > 0) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join("\n")}`)
  const compiler = solc.version()
  const openzeppelin = openzeppelinVersion()
  return contracts.map((name) => {
    const built = output.contracts[`${name}.sol`]?.[name]
    if (built === undefined) throw new Error(`solc produced no ${name} in ${name}.sol`)
    return {
      contractName: name,
      compiler,
      openzeppelin,
      abi: built.abi,
      bytecode: `0x${built.evm.bytecode.object}`,
      deployedBytecode: `0x${built.evm.deployedBytecode.object}`
    }
  })
}

const artifactFile = (name: (typeof contracts)[number]) => join(homes[name], "artifacts", `${name}.json`)

const render = (artifact: Artifact) => `${JSON.stringify(artifact, null, 2)}\n`

/**
 * The committed artifact of a contract.
 *
 * @category accessors
 */
export const artifact = (name: (typeof contracts)[number]): Artifact =>
  JSON.parse(readFileSync(artifactFile(name), "utf8")) as Artifact

/**
 * Compiles and writes every artifact.
 *
 * @category constructors
 */
export const write = (): ReadonlyArray<string> =>
  compile().map((a) => {
    const file = artifactFile(a.contractName as (typeof contracts)[number])
    writeFileSync(file, render(a))
    return file
  })

/**
 * Names of committed artifacts that differ from a fresh compile (empty when all match).
 *
 * @category constructors
 */
export const check = (): ReadonlyArray<string> =>
  compile().flatMap((a) => {
    let committed = ""
    try {
      committed = readFileSync(artifactFile(a.contractName as (typeof contracts)[number]), "utf8")
    } catch {
      return [`${a.contractName}: no committed artifact`]
    }
    const fresh = render(a)
    return committed === fresh
      ? []
      : [
          `${a.contractName}: committed ${hash(committed)} != fresh ${hash(fresh)} (run npm run chain:build and commit the artifacts)`
        ]
  })

const hash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12)
