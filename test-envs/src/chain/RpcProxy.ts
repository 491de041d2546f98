/**
 * A JSON-RPC proxy in front of anvil, for fault injection in tests:
 *
 * - `down = true` drops every request's connection (the RPC is unreachable);
 * - `onSend` runs after an `eth_sendRawTransaction` reached anvil and before its answer goes back;
 *   if it returns `"drop"` the caller never learns the hash (a test kills the caller there, to
 *   play a crash between sending a transaction and recording it).
 *
 * Requests are forwarded one by one (no batching); every send is counted.
 *
 * @since 0.1.0
 */
import { Effect, type Scope } from "effect"
import { createServer, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"

/**
 * @category models
 */
export interface RpcProxy {
  readonly url: string
  down: boolean
  onSend: (() => Promise<"drop" | "answer">) | undefined
  readonly sends: () => number
}

const body = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

/**
 * Starts the proxy on a free loopback port; stops with the scope.
 *
 * @category constructors
 */
export const start = (target: string): Effect.Effect<RpcProxy, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      let sends = 0
      const state: Pick<RpcProxy, "down" | "onSend"> = { down: false, onSend: undefined }
      const proxy = state
      const server = createServer(async (req, res) => {
        if (proxy.down) {
          req.socket.destroy()
          return
        }
        try {
          const payload = await body(req)
          const isSend = payload.includes("eth_sendRawTransaction")
          const answer = await fetch(target, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: payload
          })
          const text = await answer.text()
          if (isSend) {
            sends += 1
            if (proxy.onSend !== undefined && (await proxy.onSend()) === "drop") {
              req.socket.destroy()
              return
            }
          }
          res.writeHead(answer.status, { "content-type": "application/json" }).end(text)
        } catch {
          req.socket.destroy()
        }
      })
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
      const { port } = server.address() as AddressInfo
      const handle: RpcProxy = {
        url: `http://127.0.0.1:${port}`,
        get down() {
          return state.down
        },
        set down(value) {
          state.down = value
        },
        get onSend() {
          return state.onSend
        },
        set onSend(hook) {
          state.onSend = hook
        },
        sends: () => sends
      }
      return { proxy: handle, server }
    }),
    ({ server }) =>
      Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections()
            server.close(() => resolve())
          })
      )
  ).pipe(Effect.map(({ proxy }) => proxy))
