/**
 * A scripted upstream for pay-on-success tests: a node:http server on `host` (loopback for unit
 * tests; an address an EndpointSlice accepts for integration tests), recording what it saw.
 */
import { Effect } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage["headers"]
}

export interface Upstream {
  readonly host: string
  readonly port: number
  readonly seen: Array<Seen>
  /** Replaces the handler for the next requests. */
  readonly answer: (handler: (req: IncomingMessage, res: ServerResponse) => void) => void
}

export const ok = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { "content-type": "application/json" })
  res.end('{"forecast":"sun"}')
}

/** Starts the upstream for the current scope; answers with `ok` until told otherwise. */
export const start = (host = "127.0.0.1") =>
  Effect.acquireRelease(
    Effect.callback<Upstream & { readonly close: () => void }>((resume) => {
      const seen: Array<Seen> = []
      let handler = ok
      const server = createServer((req, res) => {
        seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers })
        handler(req, res)
      })
      server.listen(0, host, () =>
        resume(
          Effect.succeed({
            host,
            port: (server.address() as AddressInfo).port,
            seen,
            answer: (next) => {
              handler = next
            },
            close: () => {
              server.closeAllConnections()
              server.close()
            }
          })
        )
      )
    }),
    (u) => Effect.sync(() => u.close())
  )
