/**
 * The `x402-verifier` command on the real API server with the real chain and facilitator:
 * - restarted under paying traffic: between the old process exiting and the new one having loaded
 *   its routes, every paid request fails closed (connection refused or 503), never 200;
 * - run as a ServiceAccount holding only the rules of `deploy/x402-verifier/rbac.yaml`: it
 *   becomes ready, admits its route and answers it.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { join } from "node:path"
import { x402Client, x402HTTPClient } from "@x402/core/client"
import type { PaymentRequired } from "@x402/core/types"
import { toClientEvmSigner } from "@x402/evm"
import { registerExactEvmScheme } from "@x402/evm/exact/client"
import { Effect, Exit, Scope } from "effect"
import { privateKeyToAccount } from "viem/accounts"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import * as Chain from "@obol/test-envs/chain/Chain"
import * as LocalFacilitator from "@obol/test-envs/chain/Facilitator"
import * as Ports from "@obol/test-envs/Ports"
import * as Sellers from "@obol/test-envs/vitest/Sellers"
import * as ServiceAccounts from "@obol/test-envs/vitest/ServiceAccounts"
import { eventually, request, useNamespace } from "@obol/test-envs/vitest/TestCluster"

const namespace = useNamespace("verifier-restart")
const bin = join(import.meta.dirname, "..", "bin", "x402-verifier.mjs")
const rbacFile = join(import.meta.dirname, "..", "..", "..", "deploy", "x402-verifier", "rbac.yaml")
const scope = Effect.runSync(Scope.make())
const children: Array<ChildProcess> = []
let chain: Chain.Chain
let facilitator: LocalFacilitator.Service
/** The restarted verifier's ports (the same for both processes), and the restricted one's. */
let port: number
let health: number
let restricted: { readonly port: number; readonly health: number }

beforeAll(async () => {
  const [a, b, c, d] = await Effect.runPromise(Ports.freeN(4))
  ;[port, health, restricted] = [a, b, { port: c, health: d }]
  chain = await Effect.runPromise(Scope.provide(Chain.start(), scope))
  facilitator = await Effect.runPromise(Scope.provide(LocalFacilitator.start(chain), scope))
})
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL")
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const start = (kubeconfig = inject("kubeconfig"), listen = { port, health }) => {
  const child = spawn(process.execPath, [bin], {
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      LISTEN_ADDRESS: "127.0.0.1",
      WATCH_NAMESPACE: namespace(),
      FACILITATOR_URL: facilitator.url,
      PORT: String(listen.port),
      HEALTH_PORT: String(listen.health)
    },
    stdio: ["ignore", "ignore", "pipe"]
  })
  children.push(child)
  return child
}

const call = async (headers: Record<string, string> = {}): Promise<number | "connection error"> => {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/verify/${namespace()}/weather`, {
      headers: {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "seller.example",
        "X-Forwarded-Uri": "/services/weather/today",
        ...headers
      }
    })
    await res.arrayBuffer()
    return res.status
  } catch {
    return "connection error"
  }
}

const createRoute = (name: string) =>
  Sellers.sell(namespace(), name, {
    price: "10000",
    payTo: chain.seller,
    network: chain.network,
    asset: Chain.token(chain)
  })

describe("the x402-verifier command", () => {
  it("answers paid requests with 503 or no connection while it restarts, until its routes are loaded again, never 200", async () => {
    await createRoute("weather")

    const client = new x402Client().setSpendControls(false)
    registerExactEvmScheme(client, {
      signer: toClientEvmSigner(privateKeyToAccount(chain.payer.privateKey), chain.client as never)
    })
    const http = new x402HTTPClient(client)
    const first = start()
    const required = await eventually("a 402 from the first verifier", async () => {
      const res = await fetch(`http://127.0.0.1:${port}/verify/${namespace()}/weather`).catch(() => undefined)
      if (res?.status !== 402) return undefined
      return http.getPaymentRequiredResponse((name) => res.headers.get(name), await res.json()) as PaymentRequired
    })
    const paid = async () => call(http.encodePaymentSignatureHeader(await http.createPaymentPayload(required)))
    // The setup can produce a 200, so "never 200" below is not vacuous.
    expect(await paid()).toBe(200)

    const exited = new Promise((resolve) => first.once("exit", resolve))
    first.kill("SIGTERM")
    await exited
    start()
    const seen: Array<number | "connection error"> = []
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      const status = await paid()
      seen.push(status)
      if (status === 200) break
    }
    expect(seen.at(-1)).toBe(200)
    const before = seen.slice(0, -1)
    expect(before.length).toBeGreaterThan(0)
    expect(before.filter((s) => s !== 503 && s !== "connection error")).toEqual([])
  }, 120_000)
  it("runs with only the rules of deploy/x402-verifier/rbac.yaml: ready, route admitted and answered", async () => {
    const ns = namespace()
    const kubeconfig = await ServiceAccounts.kubeconfigFor({
      namespace: ns,
      account: "x402-verifier",
      manifest: rbacFile
    })
    await createRoute("restricted")
    start(kubeconfig, restricted)
    await eventually("/readyz 200", async () =>
      (await fetch(`http://127.0.0.1:${restricted.health}/readyz`).catch(() => undefined))?.status === 200
        ? true
        : undefined
    )
    const status = await eventually("admission written", async () => {
      const res = await request("GET", `/apis/obol.org/v1alpha1/namespaces/${ns}/paymentroutes/restricted-payment`)
      return res.json?.status?.admitted === true ? res.json.status : undefined
    })
    expect(status).toMatchObject({ admitted: true, lastAdmittedGeneration: 1 })
    const res = await fetch(`http://127.0.0.1:${restricted.port}/verify/${ns}/restricted`)
    expect(res.status).toBe(402)
  }, 120_000)
})
