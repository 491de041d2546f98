/**
 * The demo upstream of the local stack: a tiny HTTP service that answers `/health` with `ok` and
 * every other request with what it received (method, path, headers) as JSON, so a buyer can see
 * exactly what reached the upstream: the verifier's receipt headers, and none of the payment
 * headers the buyer sent. Run as `node echo.ts <host> <port>`; it logs one line once listening.
 *
 * It is not a product service and checks nothing; the payment gate in front of it does.
 */
import { createServer } from "node:http"

const [host = "127.0.0.1", port = "8080"] = process.argv.slice(2)

const server = createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "text/plain" })
    res.end("ok\n")
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
