/**
 * A loopback TCP proxy in front of a server, for tests and benchmarks: it counts the connections
 * clients open, and it can cut every connection and refuse new ones (a network partition) until
 * restored. TLS passes through untouched, so a certificate for 127.0.0.1 stays valid.
 *
 * @since 0.1.0
 */
import { Effect, Scope } from "effect"
import { createConnection, createServer, type Socket } from "node:net"

/**
 * @category models
 */
export interface TcpProxy {
  readonly port: number
  /** Connections accepted since the last `resetCount`. */
  readonly connections: () => number
  readonly resetCount: () => void
  /** Destroys every open connection and refuses new ones until `restore`. */
  readonly cut: () => void
  readonly restore: () => void
}

/**
 * Starts a proxy to `target` (`host:port` or an http(s) URL) for the current scope.
 *
 * @category constructors
 */
export const make = (target: string): Effect.Effect<TcpProxy, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ proxy: TcpProxy; close: () => void }>((resume) => {
      const url = target.includes("://") ? new URL(target) : new URL(`tcp://${target}`)
      let count = 0
      let partitioned = false
      const sockets = new Set<Socket>()
      const destroyAll = () => {
        for (const socket of sockets) socket.destroy()
        sockets.clear()
      }
      const server = createServer((client) => {
        if (partitioned) {
          client.destroy()
          return
        }
        count++
        client.setNoDelay(true)
        const upstream = createConnection({ host: url.hostname, port: Number(url.port), noDelay: true })
        sockets.add(client).add(upstream)
        client.pipe(upstream).pipe(client)
        const drop = () => {
          client.destroy()
          upstream.destroy()
          sockets.delete(client)
          sockets.delete(upstream)
        }
        client.on("error", drop).on("close", drop)
        upstream.on("error", drop).on("close", drop)
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const proxy: TcpProxy = {
          port: typeof address === "object" && address !== null ? address.port : 0,
          connections: () => count,
          resetCount: () => {
            count = 0
          },
          cut: () => {
            partitioned = true
            destroyAll()
          },
          restore: () => {
            partitioned = false
          }
        }
        resume(Effect.succeed({ proxy, close: () => (destroyAll(), server.close()) }))
      })
    }),
    ({ close }) => Effect.sync(close)
  ).pipe(Effect.map(({ proxy }) => proxy))
