/**
 * The proposal's end-to-end criterion, literally, with the `obol` binary as a seller runs it:
 * `obol sell http … --wait` from nothing to Ready on the whole local stack (the real controller,
 * verifier and registrar processes, Traefik as the Gateway, anvil and the local facilitator) →
 * `list` and `status` show it → `probe` gets the 402 through Traefik → `probe --pay` pays with the
 * official x402 client and the seller's balance moves by exactly the price → `stop` withdraws
 * the route (never a 200 unpaid) → `resume` brings the 402 back → `delete` leaves no children.
 */
import { execFile } from "node:child_process"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as Chain from "@obol/test-envs/chain/Chain"
import { useStack } from "@obol/test-envs/vitest/Stacks"
import { eventually, request, useNamespace } from "@obol/test-envs/vitest/TestCluster"

const namespace = useNamespace("cli")
const stack = useStack(namespace)

const bin = join(import.meta.dirname, "..", "bin", "obol.mjs")

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the obol binary against the stack's cluster, in the stack's namespace. */
const obol = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args, "-n", namespace(), "--kubeconfig", stack().kubeconfig],
      { env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env }, timeout: 240_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
        console.error(`$ obol ${args.join(" ")}  → exit ${code}\n${stdout}${stderr}`)
        resolve({ code, stdout, stderr })
      }
    )
  })

/** Sells the stack's demo upstream as `name`, with extra flags. */
const sell = (name: string, price: string, ...extra: ReadonlyArray<string>) =>
  obol([
    "sell",
    "http",
    name,
    "-w",
    stack().chain.seller,
    "--upstream",
    stack().upstream.service,
    "--port",
    String(stack().upstream.port),
    "--price",
    price,
    ...extra
  ])

const get = (path: string) => fetch(`${stack().gatewayUrl}${path}`, { signal: AbortSignal.timeout(30_000) })

describe("obol sell on the whole stack", () => {
  it("sell http --wait goes from nothing to Ready with the real controller, verifier and Traefik, printing each step", async () => {
    const run = await sell("shop", "0.001", "--wait=3m")
    expect(run.code, run.stderr).toBe(0)
    const lines = run.stdout.trim().split("\n")
    expect(lines[0]).toBe(`serviceoffer.obol.org/shop created in namespace ${namespace()}`)
    for (const step of [
      /^UpstreamHealthy True Healthy \d/u,
      /^PaymentGateReady True Admitted \d/u,
      /^RoutePublished True Accepted \d/u,
      /^Ready True Ready \d/u
    ]) {
      expect(
        lines.some((l) => step.test(l)),
        `${step} in\n${run.stdout}`
      ).toBe(true)
    }
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^Ready: \\S+/services/shop sells for 0.001 USDC/request on base-sepolia, paid to ${stack().chain.seller}$`,
        "u"
      )
    )
  }, 240_000)

  it("list and status show the offer, its price, its admitted route and the Gateway that serves it", async () => {
    const list = await obol(["sell", "list"])
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout).toMatch(
      /^shop\s+http\s+<none>\s+0.001 USDC\/request\s+base-sepolia\s+\S+\/services\/shop\s+True\s+\S+$/mu
    )
    const status = await obol(["sell", "status", "shop"])
    expect(status.code, status.stderr).toBe(0)
    expect(status.stdout).toMatch(/PaymentRoute\s+shop-payment\s+admitted at generation 1/u)
    expect(status.stdout).toMatch(
      new RegExp(`HTTPRoute\\s+so-shop\\s+accepted by ${stack().namespaces.gateway}/${stack().gateway.name}`, "u")
    )
    expect(status.stdout).toMatch(/Ready\s+True\s+Ready/u)
  }, 60_000)

  it("probe gets the 402 through Traefik and shows what a buyer is asked", async () => {
    const run = await obol(["sell", "probe", "shop", "--gateway-url", stack().gatewayUrl])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toContain("/services/shop/health is live and payment-gated (402). A buyer is asked:")
    expect(run.stdout).toContain("0.001 USDC (1000 atomic units)")
    expect(run.stdout).toContain(`pay to    ${stack().chain.seller}`)
  }, 60_000)

  it("probe --pay pays with the official client on anvil, the upstream answers, the seller gets exactly the price", async () => {
    const before = await Chain.balanceOf(stack().chain, stack().chain.seller)
    const run = await obol(
      [
        "sell",
        "probe",
        "shop",
        "--gateway-url",
        stack().gatewayUrl,
        "--pay",
        "--path",
        "/hello",
        "--rpc-url",
        stack().chain.rpcUrl
      ],
      {
        X402_BUYER_PRIVATE_KEY: stack().chain.payer.privateKey
      }
    )
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/^HTTP 200/u)
    expect(run.stdout + run.stderr).not.toContain(stack().chain.payer.privateKey.slice(2))
    expect((await Chain.balanceOf(stack().chain, stack().chain.seller)) - before).toBe(1000n)
  }, 120_000)

  it("stop withdraws the route: the endpoint stops answering and never answers 200 unpaid; resume brings the 402 back", async () => {
    const stop = await obol(["sell", "stop", "shop", "--wait=2m"])
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout).toMatch(/RoutePublished False Paused/u)
    const statuses: Array<number> = []
    await eventually("the route gone from Traefik", async () => {
      const res = await get("/services/shop/hello")
      statuses.push(res.status)
      return res.status === 404 ? true : undefined
    })
    expect(statuses).not.toContain(200)
    const probe = await obol(["sell", "probe", "shop", "--gateway-url", stack().gatewayUrl])
    expect(probe.code).toBe(1)
    expect(probe.stderr).toMatch(/answered 404/u)

    const resume = await obol(["sell", "resume", "shop", "--wait=2m"])
    expect(resume.code, resume.stderr).toBe(0)
    expect(resume.stdout.trim().split("\n").at(-1)).toMatch(
      /^Ready: \S+\/services\/shop sells for 0.001 USDC\/request$/u
    )
    await eventually("the 402 back through Traefik", async () =>
      (await get("/services/shop/hello")).status === 402 ? true : undefined
    )
  }, 240_000)

  it("delete removes the offer and every child, and nothing else", async () => {
    const other = await sell("shop-two", "0.002")
    expect(other.code, other.stderr).toBe(0)
    const run = await obol(["sell", "delete", "shop", "--force", "--wait=2m"])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/serviceoffer.obol.org\/shop deleted with its route, price and registration request/u)
    const base = `/apis/obol.org/v1alpha1/namespaces/${namespace()}`
    expect((await request("GET", `${base}/serviceoffers/shop`)).status).toBe(404)
    expect((await request("GET", `${base}/paymentroutes/shop-payment`)).status).toBe(404)
    expect(
      (await request("GET", `/apis/gateway.networking.k8s.io/v1/namespaces/${namespace()}/httproutes/so-shop`)).status
    ).toBe(404)
    expect(
      (await request("GET", `/apis/traefik.io/v1alpha1/namespaces/${namespace()}/middlewares/x402-shop`)).status
    ).toBe(404)
    expect((await request("GET", `${base}/serviceoffers/shop-two`)).status).toBe(200)
  }, 180_000)
})
