// Load generator for the verifier benchmark, run as a child process so it does not share the
// servers' event loop: GET `url` with `connections` keep-alive connections until `total` requests
// are done; prints one JSON line {rps, p50, p99} (milliseconds).
import http from "node:http"

const [url, connections, total] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])]
const agent = new http.Agent({ keepAlive: true, maxSockets: connections })
const target = new URL(url)
const headers = {
  "X-Forwarded-Proto": "https",
  "X-Forwarded-Host": "seller.example",
  "X-Forwarded-Uri": "/services/r4242/chat"
}
const latencies = []
let issued = 0
const one = () =>
  new Promise((resolve) => {
    const started = performance.now()
    const req = http.request(
      { agent, host: target.hostname, port: target.port, path: target.pathname, headers },
      (res) => {
        res.resume()
        res.on("end", () => {
          latencies.push(performance.now() - started)
          resolve()
        })
      }
    )
    req.on("error", () => resolve())
    req.end()
  })
const worker = async () => {
  while (issued < total) {
    issued++
    await one()
  }
}
const started = performance.now()
await Promise.all(Array.from({ length: connections }, worker))
const seconds = (performance.now() - started) / 1000
latencies.sort((a, b) => a - b)
const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]
console.log(JSON.stringify({ rps: latencies.length / seconds, p50: q(0.5), p99: q(0.99), done: latencies.length }))
agent.destroy()
