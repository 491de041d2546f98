/**
 * A "test host": a network namespace of our own, joined to the machine by a veth pair with a
 * private /30, in which a process can listen on an address that is not loopback.
 *
 * Why: the API server rejects loopback and link-local addresses in EndpointSlices, so a Service
 * backed by a process on 127.0.0.1 cannot be expressed the way a cluster expresses it. A process in
 * its own namespace, reached over the veth, keeps the real shape (HTTPRoute -> Service ->
 * EndpointSlice -> address). Needs root (`ip netns`). Everything is removed when the scope closes.
 *
 * @since 0.1.0
 */
import { Data, Effect, Scope } from "effect"
import { execFile } from "node:child_process"
import { randomBytes, randomInt } from "node:crypto"
import * as ManagedProcess from "./ManagedProcess.ts"

/**
 * @category errors
 */
export class TestHostFailed extends Data.TaggedError("TestHostFailed")<{
  readonly step: string
  readonly detail: string
}> {
  override get message() {
    return `creating a test host (network namespace) failed at "${this.step}": ${this.detail}. This needs root and iproute2 (ip netns).`
  }
}

/**
 * @category models
 */
export interface TestHost {
  readonly namespace: string
  /** The test host's address, as an EndpointSlice would name it. */
  readonly address: string
  /** The machine's address on the same link. */
  readonly gateway: string
  /** Runs a long-lived process inside the namespace, for the current scope. */
  readonly run: (
    spec: ManagedProcess.Spec
  ) => Effect.Effect<ManagedProcess.ManagedProcess, ManagedProcess.ProcessFailed, Scope.Scope>
}

const ip = (step: string, args: ReadonlyArray<string>) =>
  Effect.callback<void, TestHostFailed>((resume) => {
    execFile("ip", [...args], (error, _stdout, stderr) =>
      resume(
        error === null
          ? Effect.void
          : Effect.fail(new TestHostFailed({ step, detail: (stderr || error.message).trim() }))
      )
    )
  })

/**
 * Creates a test host in the current scope.
 *
 * @category constructors
 */
export const make: Effect.Effect<TestHost, TestHostFailed, Scope.Scope> = Effect.gen(function* () {
  const id = randomBytes(3).toString("hex")
  const namespace = `obol-th-${id}`
  const hostLink = `obh${id}`
  const peerLink = `obp${id}`
  // A random /30 in 10.234.0.0/16 so concurrent runs do not collide.
  const block = randomInt(0, 16384) * 4
  const octets = (n: number) => `10.234.${Math.floor(n / 256)}.${n % 256}`
  const gateway = octets(block + 1)
  const address = octets(block + 2)

  yield* Effect.acquireRelease(ip("add namespace", ["netns", "add", namespace]), () =>
    ip("delete namespace", ["netns", "delete", namespace]).pipe(Effect.ignore)
  )
  yield* Effect.acquireRelease(
    ip("add veth", ["link", "add", hostLink, "type", "veth", "peer", "name", peerLink]),
    () => ip("delete veth", ["link", "delete", hostLink]).pipe(Effect.ignore)
  )
  yield* ip("move veth", ["link", "set", peerLink, "netns", namespace])
  yield* ip("host address", ["addr", "add", `${gateway}/30`, "dev", hostLink])
  yield* ip("host link up", ["link", "set", hostLink, "up"])
  yield* ip("peer address", ["-n", namespace, "addr", "add", `${address}/30`, "dev", peerLink])
  yield* ip("peer link up", ["-n", namespace, "link", "set", peerLink, "up"])
  yield* ip("loopback up", ["-n", namespace, "link", "set", "lo", "up"])

  return {
    namespace,
    address,
    gateway,
    run: (spec) =>
      ManagedProcess.start({ ...spec, command: "ip", args: ["netns", "exec", namespace, spec.command, ...spec.args] })
  } satisfies TestHost
})
