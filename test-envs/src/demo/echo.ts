/**
 * The demo upstream of the local stack: a tiny HTTP service that answers `/health` with `ok`,
 * `/status/<code>` with that status (a failing upstream: `/status/404`, `/status/500`),
 * `/events?count=<n>&interval=<ms>` with a slow server-sent-events stream (an LLM's streamed
 * answer; `n` events `interval` ms apart), and every other request with what it received
 * (method, path, headers) as JSON, so a buyer can see exactly what reached the upstream: the
 * verifier's receipt headers, and none of the payment headers the buyer sent. With
 * `ECHO_MASTER_KEY` set it also plays LiteLLM: `/v1/...` answers 401 unless the request carries
 * `Authorization: Bearer <that key>`, and never echoes the key back. Run as
 * `node echo.ts <host> <port>`; it logs one line once listening.
 *
 * It is not a product service and checks nothing; the payment gate in front of it does.
 */
import { createServer } from "node:http"

const [host = "127.0.0.1", port = "8080"] = process.argv.slice(2)
const masterKey = process.env["ECHO_MASTER_KEY"]

const server = createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "text/plain" })
    res.end("ok\n")
    return
  }
  const url = new URL(req.url ?? "/", "http://echo")
  const status = /^\/status\/([1-5][0-9][0-9])$/u.exec(url.pathname)
  if (status !== null) {
    res.writeHead(Number(status[1]), { "content-type": "application/json" })
    res.end(`${JSON.stringify({ service: "echo", status: Number(status[1]) })}\n`)
    return
  }
  if (masterKey !== undefined && (url.pathname === "/v1" || url.pathname.startsWith("/v1/"))) {
    // LiteLLM's shape: a master key, checked on every API call, never repeated in an answer.
    if (req.headers.authorization !== `Bearer ${masterKey}`) {
      res.writeHead(401, { "content-type": "application/json" })
      res.end(
        `${JSON.stringify({ error: { message: "Authentication Error, invalid api key", type: "auth_error" } })}\n`
      )
      return
    }
    res.writeHead(200, { "content-type": "application/json" })
    res.end(
      `${JSON.stringify(
        url.pathname === "/v1/models"
          ? { object: "list", data: [{ id: "echo-1", object: "model", owned_by: "echo" }] }
          : { service: "echo", method: req.method, path: req.url, authorized: true }
      )}\n`
    )
    return
  }
  if (url.pathname === "/events") {
    const count = Math.min(Number(url.searchParams.get("count") ?? "5") || 5, 100)
    const interval = Math.min(Number(url.searchParams.get("interval") ?? "200") || 200, 5000)
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
    let sent = 0
    const send = () => {
      sent += 1
      res.write(`id: ${sent}\ndata: ${JSON.stringify({ event: sent, at: Date.now() })}\n\n`)
      if (sent >= count) res.end()
      else timer = setTimeout(send, interval)
    }
    let timer = setTimeout(send, 0)
    req.on("close", () => clearTimeout(timer))
    return
  }
  const chunks: Array<Buffer> = []
  req.on("data", (chunk: Buffer) => chunks.push(chunk))
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json" })
    res.end(
      `${JSON.stringify({
        service: "echo",
        method: req.method,
        path: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8")
      })}\n`
    )
  })
})

server.listen(Number(port), host, () => console.log(`echo listening on ${host}:${port}`))
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => server.close(() => process.exit(0)))
