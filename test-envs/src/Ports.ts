/**
 * Free TCP ports on 127.0.0.1, found by binding port 0 and releasing it. There is a window in which
 * another process could take the port; processes that fail to bind say so in their log, which the
 * control plane shows on failure.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { createServer } from "node:net"

/**
 * @category constructors
 */
export const free: Effect.Effect<number> = Effect.callback<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
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
