/**
 * Locates the binaries `ensure.sh` builds from Go modules, building them on first use.
 *
 * `ensure.sh` owns the build, the cache and its key; this module only runs it, passes its progress
 * lines through to stderr (a cold build takes many minutes and must be visibly alive), and reads
 * back the tier directory it prints. It never skips: a failed build is an error that says why.
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import { spawn } from "node:child_process"
import { join } from "node:path"

/**
 * @category errors
 */
export class BuildFailed extends Data.TaggedError("BuildFailed")<{
  readonly tier: Tier
  readonly exitCode: number | null
  readonly output: string
}> {
  override get message() {
    return (
      `test-envs could not provide the ${this.tier} binaries (ensure.sh exited with ${this.exitCode}).\n` +
      `Its last output:\n${this.output}`
    )
  }
}

/**
 * `core`: kube-apiserver, kube-controller-manager, etcd and the Gateway API / traefik.io CRDs.
 * `traefik`: the Traefik binary.
 *
 * @category models
 */
export type Tier = "core" | "traefik"

/**
 * @category models
 */
export interface Core {
  readonly dir: string
  readonly kubeApiserver: string
  readonly kubeControllerManager: string
  readonly etcd: string
  /** Directories of CRD YAML files to install besides our own: Gateway API standard, traefik.io. */
  readonly crdDirs: ReadonlyArray<string>
}

const script = join(import.meta.dirname, "..", "ensure.sh")

const run = (tier: Tier) =>
  Effect.callback<string, BuildFailed>((resume) => {
    const child = spawn("bash", [script, tier], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    const tail: Array<string> = []
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk)
      tail.push(...chunk.toString().split("\n"))
      tail.splice(0, Math.max(0, tail.length - 40))
    })
    child.on("error", (error) => resume(Effect.fail(new BuildFailed({ tier, exitCode: null, output: String(error) }))))
    child.on("close", (code) => {
      const line = stdout.split("\n").find((l) => l.startsWith(`${tier.toUpperCase()}_DIR=`))
      if (code === 0 && line !== undefined) resume(Effect.succeed(line.slice(line.indexOf("=") + 1)))
      else resume(Effect.fail(new BuildFailed({ tier, exitCode: code, output: tail.join("\n") })))
    })
    return Effect.sync(() => child.kill("SIGTERM"))
  })

/**
 * Ensures the core tier is built and returns where its files are.
 *
 * @category constructors
 */
export const core: Effect.Effect<Core, BuildFailed> = run("core").pipe(
  Effect.map((dir) => ({
    dir,
    kubeApiserver: join(dir, "bin", "kube-apiserver"),
    kubeControllerManager: join(dir, "bin", "kube-controller-manager"),
    etcd: join(dir, "bin", "etcd"),
    crdDirs: [join(dir, "crds", "gateway-api"), join(dir, "crds", "traefik")]
  }))
)

/**
 * Ensures Traefik is built and returns the path of its binary.
 *
 * @category constructors
 */
export const traefik: Effect.Effect<string, BuildFailed> = run("traefik").pipe(
  Effect.map((dir) => join(dir, "bin", "traefik"))
)
