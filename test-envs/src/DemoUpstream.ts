/**
 * The local stack's demo upstream (`demo/echo.ts`), placed where the API server accepts its
 * address in an EndpointSlice: it refuses loopback and link-local addresses, so a process on
 * 127.0.0.1 cannot back a Service the way a cluster's pods do.
 *
 * Placement (`OBOL_DEMO_UPSTREAM=netns|host` forces one):
 * - `netns` (the default when running as root): a network namespace of its own joined by a veth
 *   pair (`TestHost`); nothing listens on the machine's network;
 * - `host` (the default otherwise): the machine's own first non-loopback, non-link-local IPv4
 *   address, the only rootless choice. The service then listens on that address, so other
 *   machines on the same network can reach it while the stack runs.
 * With neither root nor such an address, starting fails and says what to do.
 *
 * It does not create the Service or EndpointSlice (the Stack does).
 *
 * @since 0.1.0
 */
import { Data, Effect, Result, type Scope } from "effect"
import { networkInterfaces } from "node:os"
import { join } from "node:path"
import * as ManagedProcess from "./ManagedProcess.ts"
import * as TestHost from "./TestHost.ts"

/**
 * @category models
 */
export type Placement = "netns" | "host"

/**
 * @category models
 */
export interface DemoUpstream {
  readonly placement: Placement
  /** The address an EndpointSlice names. */
  readonly address: string
  readonly port: number
  readonly process: ManagedProcess.ManagedProcess
  /** The key `/v1/...` requires as `Authorization: Bearer <key>` (LiteLLM's master key), when one was given. */
  readonly masterKey?: string
}

/**
 * @category errors
 */
export class DemoUpstreamFailed extends Data.TaggedError("DemoUpstreamFailed")<{ readonly detail: string }> {
  override get message() {
    return `the demo upstream cannot start: ${this.detail}`
  }
}

const script = join(import.meta.dirname, "demo", "echo.ts")

/**
 * The machine's first IPv4 address that an EndpointSlice accepts (not loopback, not link-local).
 *
 * @category getters
 */
export const hostAddress = (interfaces = networkInterfaces()): string | undefined =>
  Object.values(interfaces)
    .flatMap((list) => list ?? [])
    .find((i) => i.family === "IPv4" && !i.internal && !i.address.startsWith("169.254."))?.address

/**
 * Where to run the demo upstream, or why it cannot run.
 *
 * @category constructors
 */
export const choosePlacement = (input: {
  readonly forced: string | undefined
  readonly root: boolean
  readonly hostAddress: string | undefined
}): Result.Result<Placement, string> => {
  if (input.forced !== undefined && input.forced !== "netns" && input.forced !== "host") {
    return Result.fail(`OBOL_DEMO_UPSTREAM must be "netns" or "host", not ${JSON.stringify(input.forced)}`)
  }
  const wanted = (input.forced as Placement | undefined) ?? (input.root ? "netns" : "host")
  if (wanted === "netns" && !input.root) {
    return Result.fail("a network namespace needs root; run as root, or use OBOL_DEMO_UPSTREAM=host")
  }
  if (wanted === "host" && input.hostAddress === undefined) {
    return Result.fail(
      "this machine has no IPv4 address besides loopback and link-local, which Kubernetes refuses in an EndpointSlice; " +
        "run as root (the upstream then gets a network namespace of its own), or connect a network interface"
    )
  }
  return Result.succeed(wanted)
}

/**
 * Starts the demo upstream for the current scope.
 *
 * @category constructors
 */
export const start = (options: {
  readonly logDir: string
  readonly port?: number
  /** Makes `/v1/...` require this key, as LiteLLM does. */
  readonly masterKey?: string
}): Effect.Effect<
  DemoUpstream,
  DemoUpstreamFailed | TestHost.TestHostFailed | ManagedProcess.ProcessFailed,
  Scope.Scope
> =>
  Effect.gen(function* () {
    const port = options.port ?? 8080
    const address = hostAddress()
    const placement = choosePlacement({
      forced: process.env["OBOL_DEMO_UPSTREAM"],
      root: process.getuid?.() === 0,
      hostAddress: address
    })
    if (Result.isFailure(placement)) return yield* new DemoUpstreamFailed({ detail: placement.failure })
    const spec = (host: string): ManagedProcess.Spec => ({
      name: "demo-upstream",
      command: process.execPath,
      args: [script, host, String(port)],
      logFile: join(options.logDir, "demo-upstream.log"),
      ...(options.masterKey === undefined ? {} : { env: { ECHO_MASTER_KEY: options.masterKey } })
    })
    let listenOn: string
    let running: ManagedProcess.ManagedProcess
    if (placement.success === "netns") {
      const host = yield* TestHost.make
      listenOn = host.address
      running = yield* host.run(spec(host.address))
    } else {
      listenOn = address!
      running = yield* ManagedProcess.start(spec(listenOn))
    }
    yield* ManagedProcess.waitUntil(
      running,
      "listening",
      Effect.sync(() => running.logTail().includes("echo listening")),
      "20 seconds"
    )
    return {
      placement: placement.success,
      address: listenOn,
      port,
      process: running,
      ...(options.masterKey === undefined ? {} : { masterKey: options.masterKey })
    }
  })
