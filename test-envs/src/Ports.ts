/**
 * Free TCP ports on 127.0.0.1 for the processes the test environments start.
 *
 * A port is picked at random **below the kernel's ephemeral range** (`ip_local_port_range`, from
 * 32768 on Linux) and checked by binding it. Ports from the ephemeral range (what binding port 0
 * gives) are handed out again by the kernel to any process's outgoing connection or `listen(0)`:
 * between our check and the server's own bind, another test's HTTP client could take the port,
 * and etcd or kube-apiserver would fail with "address already in use". Below that range only an
 * explicit bind can take a port. There is still a window (two picks of the same random port), so
 * processes that fail to bind say so in their log, which the control plane shows on failure.
 * When no port below the range is free after a few tries, port 0's answer is used.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { createServer } from "node:net"

/** The lowest ephemeral port (Linux's `ip_local_port_range`; 32768 elsewhere or when unreadable). */
const ephemeralLow = (() => {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/u)[0])
    return Number.isInteger(low) && low > 1024 ? low : 32768
  } catch {
    return 32768
  }
})()

/** Binds `port` on 127.0.0.1 and releases it: the port it got, or undefined when it was taken. */
const tryBind = (port: number) =>
  Effect.callback<number | undefined>((resume) => {
    const server = createServer()
    server.once("error", () => resume(Effect.succeed(undefined)))
    server.listen(port, "127.0.0.1", () => {
      const address = server.address()
      const bound = typeof address === "object" && address !== null ? address.port : undefined
      server.close(() => resume(Effect.succeed(bound)))
    })
  })

/** The range ports are picked from: 10000 ports below the ephemeral range. */
const low = Math.max(1025, ephemeralLow - 10_000)

/**
 * @category constructors
 */
export const free: Effect.Effect<number> = Effect.gen(function* () {
  for (let attempt = 0; attempt < 20; attempt++) {
    const candidate = low + Math.floor(Math.random() * (ephemeralLow - low))
    const port = yield* tryBind(candidate)
    if (port !== undefined) return port
  }
  const port = yield* tryBind(0)
  return port ?? 0
})

type Tuple<N extends number, Acc extends ReadonlyArray<number> = []> = Acc["length"] extends N
  ? Acc
  : Tuple<N, readonly [...Acc, number]>

/**
 * `n` distinct free ports.
 *
 * @category constructors
 */
export const freeN = <const N extends number>(n: N): Effect.Effect<Tuple<N>> =>
  Effect.gen(function* () {
    const ports = new Set<number>()
    while (ports.size < n) ports.add(yield* free)
    return [...ports] as unknown as Tuple<N>
  })
