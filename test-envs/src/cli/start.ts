/**
 * `npm start`: the whole product on this machine, in the foreground. Builds or reuses the
 * control plane and Traefik (progress on stderr), starts the `Stack`, applies the demo
 * ServiceOffer `demo/echo` (0.001 USDC per request in front of the echo service), waits until it
 * is Ready, then prints one `KEY=value` line per endpoint and key on stdout (also written to
 * `stack.env` in the data directory, where `npm run pay` finds them), the line `Stack ready.`,
 * and the next steps.
 *
 * Ctrl-C or SIGTERM stops everything it started. State (etcd's data, anvil's chain, the
 * certificates) stays in `${OBOL_STACK_DIR:-${XDG_DATA_HOME:-~/.local/share}/obol-serviceoffer/stack}`,
 * so offers and registrations survive a restart; `npm start -- --fresh` wipes it first. A second
 * `npm start` on the same data directory while one runs says so and exits 1.
 */
import { Cause, Effect, Exit, Schedule, Scope } from "effect"
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Stack from "../Stack.ts"
import * as StackEnv from "./StackEnv.ts"

const usage = "usage: npm start [-- --fresh]"
const args = process.argv.slice(2)
for (const arg of args) {
  if (arg !== "--fresh") {
    console.error(`${usage}\nunknown argument ${JSON.stringify(arg)}`)
    process.exit(2)
  }
}

const dataDir = StackEnv.stackDir(process.env)
const lockFile = join(dataDir, "stack.pid")
const envFile = join(dataDir, "stack.env")

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const running = existsSync(lockFile) ? Number(readFileSync(lockFile, "utf8").trim()) : undefined
if (running !== undefined && Number.isInteger(running) && running !== process.pid && alive(running)) {
  console.error(
    `A stack is already running from ${dataDir} (pid ${running}).\n` +
      `Stop it with Ctrl-C in its terminal (or kill ${running}), or set OBOL_STACK_DIR to run a second one elsewhere.`
  )
  process.exit(1)
}
if (args.includes("--fresh")) {
  console.error(`stack: --fresh: removing ${dataDir}`)
  rmSync(dataDir, { recursive: true, force: true })
}
mkdirSync(dataDir, { recursive: true })
writeFileSync(lockFile, `${process.pid}\n`)

const started = Date.now()
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`
const progress = (line: string) => console.error(`stack: ${line} (${elapsed()})`)

const demoOffer = (stack: Stack.Stack) => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "ServiceOffer",
  metadata: { name: "echo", namespace: stack.upstream.namespace },
  spec: {
    type: "http",
    upstream: { service: stack.upstream.service, port: stack.upstream.port, healthPath: "/health" },
    payment: { network: "base-sepolia", payTo: stack.chain.seller, price: { perRequest: "0.001" } },
    path: "/services/echo"
  }
})

/** Waits until the demo offer is Ready, printing each condition as it changes. */
const awaitReady = (stack: Stack.Stack) =>
  Effect.gen(function* () {
    const path = `/apis/obol.org/v1alpha1/namespaces/${stack.upstream.namespace}/serviceoffers/echo`
    const seen = new Map<string, string>()
    const deadline = Date.now() + 180_000
    while (Date.now() < deadline) {
      const res = yield* stack.http.request("GET", path)
      const conditions: Array<{ type: string; status: string; reason: string; message?: string }> =
        res.json?.status?.conditions ?? []
      for (const c of conditions) {
        const line = `${c.status} ${c.reason}`
        if (seen.get(c.type) !== line) {
          seen.set(c.type, line)
          progress(`demo offer: ${c.type} ${line}${c.status === "True" ? "" : ` (${c.message ?? ""})`}`)
        }
      }
      if (conditions.some((c) => c.type === "Ready" && c.status === "True")) return
      yield* Effect.sleep("250 millis")
    }
    return yield* Effect.die(
      new Error(`the demo offer did not become Ready within 3 minutes; see the logs in ${stack.logDir}`)
    )
  })

const main = Effect.gen(function* () {
  progress(`data directory ${dataDir}`)
  const stack = yield* Stack.start({ dataDir, progress })
  const offer = demoOffer(stack)
  const applied = yield* stack.http.request(
    "PATCH",
    `/apis/obol.org/v1alpha1/namespaces/${offer.metadata.namespace}/serviceoffers/echo?fieldManager=obol-stack&force=true`,
    offer,
    "application/apply-patch+yaml"
  )
  if (applied.status !== 200 && applied.status !== 201) {
    return yield* Effect.die(new Error(`applying the demo offer failed: ${applied.status} ${applied.body}`))
  }
  progress("demo offer applied: demo/echo, 0.001 USDC per request")
  yield* awaitReady(stack)
  // Ready means the Gateway accepted the route; Traefik serves it within its provider throttle.
  const demoUrl = `${stack.gatewayUrl}/services/echo/hello`
  const served = Effect.tryPromise(() => fetch(demoUrl)).pipe(Effect.map((r) => r.status === 402))
  yield* served.pipe(
    Effect.catch(() => Effect.succeed(false)),
    Effect.repeat({ until: (ok) => ok, schedule: Schedule.spaced("100 millis"), times: 100 })
  )
  const env = {
    KUBECONFIG: stack.kubeconfig,
    GATEWAY_URL: stack.gatewayUrl,
    DEMO_URL: demoUrl,
    RPC_URL: stack.chain.rpcUrl,
    CHAIN_ID: String(stack.chain.chainId),
    NETWORK: stack.chain.network,
    USDC_ADDRESS: stack.chain.usdc,
    REGISTRY_ADDRESS: stack.chain.registry,
    FACILITATOR_URL: stack.facilitatorUrl,
    PAYER_PRIVATE_KEY: stack.chain.payer.privateKey,
    SELLER_ADDRESS: stack.chain.seller,
    UPSTREAM_NAMESPACE: stack.upstream.namespace,
    UPSTREAM_SERVICE: stack.upstream.service,
    UPSTREAM_PORT: String(stack.upstream.port)
  }
  const lines = Object.entries(env).map(([key, value]) => `${key}=${value}`)
  writeFileSync(envFile, `${lines.join("\n")}\n`, { mode: 0o600 })
  console.log(lines.join("\n"))
  console.log("Stack ready.")
  const ns = stack.upstream.namespace
  console.error(`
Started in ${elapsed()}. PAYER_PRIVATE_KEY is anvil's public development key: never use it on a real chain.
Next steps:
  curl -i ${demoUrl}
      402 Payment Required; the price is in the PAYMENT-REQUIRED header
  npm run pay -- ${demoUrl}
      pays one request with the official x402 client (keys from ${envFile})
  export KUBECONFIG=${stack.kubeconfig}
  npx obol sell list -A
  npx obol sell http my-api -n ${ns} -w ${stack.chain.seller} --upstream ${stack.upstream.service} --port ${stack.upstream.port} --price 0.002 --wait
      sells the demo's Service again at /services/my-api, following it until Ready
  npx obol sell probe my-api -n ${ns} --gateway-url ${stack.gatewayUrl}
      what a buyer is asked; add --pay --rpc-url ${stack.chain.rpcUrl} with X402_BUYER_PRIVATE_KEY set to pay once
  npx obol sell status my-api -n ${ns}; npx obol sell stop my-api -n ${ns}; npx obol sell delete my-api -n ${ns}
Logs: ${Object.entries(stack.logs)
    .map(([name, file]) => `\n  ${name}: ${file}`)
    .join("")}
Stop with Ctrl-C. State stays in ${dataDir}; npm start -- --fresh starts over.`)
})

const scope = Effect.runSync(Scope.make())
let stopping = false
const stop = async (code: number) => {
  if (stopping) return
  stopping = true
  console.error("stack: stopping every process it started")
  await Effect.runPromise(Scope.close(scope, Exit.void))
  rmSync(lockFile, { force: true })
  console.error("stack: stopped")
  process.exit(code)
}
process.on("SIGINT", () => void stop(0))
process.on("SIGTERM", () => void stop(0))

const exit = await Effect.runPromiseExit(Scope.provide(main, scope))
if (Exit.isFailure(exit)) {
  console.error(`stack: failed to start:\n${Cause.pretty(exit.cause)}`)
  await stop(1)
} else {
  // Stay in the foreground until a signal stops us.
  setInterval(() => {}, 1 << 30)
}
