/**
 * `npm run pay` (`@obol/x402/Buyer` behind test-envs' `src/cli/pay.ts`) with no mocks: anvil with
 * our EIP-3009 token, the local facilitator, and the verifier's HTTP routes over a one-route table
 * behind a real Node server on loopback, which calls the verifier the way Traefik's ForwardAuth
 * does (X-Forwarded-* headers) and then answers as the upstream. The script runs as a child process
 * (`process.execPath`, Node 24 under vitest) with the settings in its environment or in a
 * stack.env, and the chain is read to see what moved. It lives with the verifier because it builds
 * the verifier's routes in process, and test-envs reaches apps only through their bins.
 *
 * The server's path prefix picks what the buyer gets back after a payment: `/echo/` copies the
 * verifier's receipt onto the answer, `/forwardauth/` does not (what Traefik does today), `/v1/`
 * also drops the 402's PAYMENT-REQUIRED header so the client pays with x402 v1 from the body.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Exit, Layer, Schema, Scope } from "effect"
import { HttpRouter } from "effect/http"
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type IncomingMessage } from "node:http"
import { createRequire } from "node:module"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Hex } from "viem"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import * as Chain from "@obol/test-envs/chain/Chain"
import * as LocalFacilitator from "@obol/test-envs/chain/Facilitator"
import * as Fixtures from "@obol/test-envs/Fixtures"
import * as Facilitator from "@obol/x402/Facilitator"
import * as RouteTable from "@obol/x402-verifier/RouteTable"
import * as Routes from "@obol/x402-verifier/Routes"
import * as Verifier from "@obol/x402-verifier/Verifier"

const script = createRequire(import.meta.url).resolve("@obol/test-envs/cli/pay")
const price = 10_000n

const scope = Effect.runSync(Scope.make())
let chain: Chain.Chain
let facilitator: LocalFacilitator.Service
let sellerUrl: string
/** Stack directories for the runs: `empty` (so a developer's own stack.env never leaks into a run) and `stack`. */
let work: string | undefined

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "obol-pay-"))
  mkdirSync(join(work, "empty"))
  mkdirSync(join(work, "stack"))
  const started = await Effect.runPromise(
    Effect.gen(function* () {
      const anvil = yield* Chain.start()
      const local = yield* LocalFacilitator.start(anvil)
      const route = Routes.entry(
        Schema.decodeUnknownSync(PaymentRoute.schema)(
          Fixtures.paymentRoute("sellers", "weather", {
            price: String(price),
            payTo: anvil.seller,
            network: anvil.network,
            asset: Chain.token(anvil),
            metadata: { uid: "route-uid", generation: 1 }
          })
        )
      )
      const routes = Verifier.routes({ allowUnknownPaths: false }).pipe(
        Layer.provide(
          Layer.mergeAll(
            Layer.succeed(Verifier.Table, RouteTable.holder(RouteTable.make([route]))),
            Facilitator.layer({ url: local.url, timeout: "10 seconds" }).pipe(Layer.provide(NodeHttpClient.layerUndici))
          )
        )
      )
      const { handler, dispose } = HttpRouter.toWebHandler(routes, { disableLogger: true })
      yield* Effect.addFinalizer(() => Effect.promise(dispose))

      // The seller: ForwardAuth to the verifier, then the upstream's answer.
      const server = createServer((req, res) => {
        void (async () => {
          const uri = req.url ?? "/"
          const mode = uri.startsWith("/v1/") ? "v1" : uri.startsWith("/forwardauth/") ? "forwardauth" : "echo"
          const body = await readBody(req)
          const forwarded = new Headers({
            "X-Forwarded-Proto": "http",
            "X-Forwarded-Host": req.headers.host ?? "127.0.0.1",
            "X-Forwarded-Uri": uri,
            "X-Forwarded-Method": req.method ?? "GET"
          })
          for (const name of ["payment-signature", "x-payment"]) {
            const value = req.headers[name]
            if (typeof value === "string") forwarded.set(name, value)
          }
          const auth = await handler(new Request("http://verifier/verify/sellers/weather", { headers: forwarded }))
          if (!auth.ok) {
            const headers = Object.fromEntries(auth.headers)
            delete headers["content-length"]
            if (mode === "v1") delete headers["payment-required"]
            res.writeHead(auth.status, headers)
            res.end(await auth.text())
            return
          }
          const headers: Record<string, string> = { "content-type": "application/json" }
          if (mode !== "forwardauth") {
            for (const name of ["payment-response", "x-payment-response"]) {
              const value = auth.headers.get(name)
              if (value !== null) headers[name] = value
            }
          }
          res.writeHead(200, headers)
          res.end(JSON.stringify({ forecast: "sunny", method: req.method, body, test: req.headers["x-test"] ?? null }))
        })().catch((error: unknown) => {
          res.writeHead(500, { "content-type": "text/plain" })
          res.end(String(error))
        })
      })
      const port = yield* Effect.callback<number>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
      })
      yield* Effect.addFinalizer(() =>
        Effect.callback<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
      )
      return { chain: anvil, facilitator: local, url: `http://127.0.0.1:${port}` }
    }).pipe(Scope.provide(scope))
  )
  chain = started.chain
  facilitator = started.facilitator
  sellerUrl = started.url
})

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  if (work !== undefined) rmSync(work, { recursive: true, force: true })
})

const balance = (address: Hex) => Chain.balanceOf(chain, address)

const balances = async () => ({ seller: await balance(chain.seller), payer: await balance(chain.payer.address) })

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs the script with `args`. The payer's settings go in the environment unless `env` says
 * otherwise (a key set to undefined is removed).
 */
const pay = (args: ReadonlyArray<string>, env: Record<string, string | undefined> = {}): Promise<Run> => {
  const childEnv: Record<string, string | undefined> = {
    ...process.env,
    OBOL_STACK_DIR: join(work!, "empty"),
    PAYER_PRIVATE_KEY: chain.payer.privateKey,
    RPC_URL: chain.rpcUrl,
    ...env
  }
  for (const [name, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[name]
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, ...args],
      { env: childEnv as NodeJS.ProcessEnv, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
        resolve({ code, stdout, stderr })
      }
    )
  })
}

const keyDigits = () => chain.payer.privateKey.slice(2).toLowerCase()
const neverShowsTheKey = (run: Run) => {
  expect(`${run.stdout}${run.stderr}`.toLowerCase()).not.toContain(keyDigits())
}

/** The JSON the script printed after `receipt (<header>, decoded):`. */
const printedReceipt = (stdout: string, header: string) => {
  const marker = `receipt (${header}, decoded):\n`
  const at = stdout.indexOf(marker)
  expect(at, stdout).toBeGreaterThanOrEqual(0)
  return JSON.parse(stdout.slice(at + marker.length)) as Record<string, unknown>
}

describe("npm run pay (official @x402/fetch client, anvil, local facilitator)", () => {
  it("pays a 402, prints the status, the body and the decoded receipt; the seller gets exactly the price", async () => {
    const before = await balances()
    const url = `${sellerUrl}/echo/services/weather/today`
    const run = await pay([url])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/^HTTP 200 OK\n/u)
    expect(run.stdout).toContain('"forecast":"sunny"')
    const receipt = printedReceipt(run.stdout, "PAYMENT-RESPONSE")
    expect(receipt).toMatchObject({ success: true, network: chain.network })
    expect((receipt["payer"] as string).toLowerCase()).toBe(chain.payer.address.toLowerCase())
    const mined = await chain.client.getTransactionReceipt({ hash: receipt["transaction"] as Hex })
    expect(mined.status).toBe("success")

    expect(run.stderr).toContain(`GET ${url}`)
    expect(run.stderr).toContain("0.01 USDC (10000 atomic units)")
    expect(run.stderr).toContain(`on ${chain.network}`)
    expect(run.stderr).toContain(`pay to ${chain.seller}`)
    neverShowsTheKey(run)

    const after = await balances()
    expect(after.seller - before.seller).toBe(price)
    expect(before.payer - after.payer).toBe(price)
  })

  it("refuses to pay above --max: exit 1 with the reason, nothing signed, the facilitator never called, nothing moved", async () => {
    const before = await balances()
    const calls = { verify: facilitator.calls["/verify"] ?? 0, settle: facilitator.calls["/settle"] ?? 0 }
    const run = await pay(["--max", "0.005", `${sellerUrl}/echo/services/weather/today`])
    expect(run.code, run.stderr).toBe(1)
    expect(run.stdout).toBe("")
    expect(run.stderr).toContain("refused to pay")
    expect(run.stderr).toContain(
      "the price 0.01 USDC (10000 atomic units) is above --max 0.005 USDC (5000 atomic units)"
    )
    expect(run.stderr).not.toContain("paying ")
    expect(facilitator.calls["/verify"] ?? 0).toBe(calls.verify)
    expect(facilitator.calls["/settle"] ?? 0).toBe(calls.settle)
    expect(await balances()).toEqual(before)
    neverShowsTheKey(run)
  })

  it("pays at exactly --max, and sends the method, body and headers given", async () => {
    const before = await balances()
    const run = await pay([
      "--max",
      "0.01",
      "--method",
      "PUT",
      "--data",
      '{"city":"Oslo"}',
      "-H",
      "X-Test: yes",
      `${sellerUrl}/echo/services/weather/today`
    ])
    expect(run.code, run.stderr).toBe(0)
    const body = JSON.parse(run.stdout.split("\n")[1]!) as Record<string, unknown>
    expect(body).toEqual({ forecast: "sunny", method: "PUT", body: '{"city":"Oslo"}', test: "yes" })
    expect(printedReceipt(run.stdout, "PAYMENT-RESPONSE")).toMatchObject({ success: true })
    expect(run.stderr).toContain("within --max 0.01")
    expect((await balances()).seller - before.seller).toBe(price)
  })

  it("says plainly that no receipt came back when the server keeps it (Traefik ForwardAuth today)", async () => {
    const before = await balances()
    const run = await pay([`${sellerUrl}/forwardauth/services/weather/today`])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/^HTTP 200 OK\n/u)
    expect(run.stdout).toContain("receipt: none. The server sent no PAYMENT-RESPONSE")
    expect(run.stdout).toContain("Traefik ForwardAuth")
    expect((await balances()).seller - before.seller).toBe(price)
  })

  it("pays an x402 v1 server (402 body, X-PAYMENT) and decodes its X-PAYMENT-RESPONSE", async () => {
    const before = await balances()
    const run = await pay([`${sellerUrl}/v1/services/weather/today`])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toContain("x402 v1")
    expect(run.stderr).toContain("0.01 USDC (10000 atomic units) on base-sepolia")
    expect(printedReceipt(run.stdout, "X-PAYMENT-RESPONSE")).toMatchObject({ success: true })
    expect((await balances()).seller - before.seller).toBe(price)
  })

  it("exits 1 with the server's reason when the payment is refused, and moves nothing", async () => {
    const before = await balances()
    // The facilitator's account holds no tokens.
    const run = await pay([`${sellerUrl}/echo/services/weather/today`], {
      PAYER_PRIVATE_KEY: Chain.devKeys.facilitator
    })
    expect(run.code, run.stderr).toBe(1)
    expect(run.stdout).toMatch(/^HTTP 402 Payment Required\n/u)
    expect(run.stderr).toMatch(/pay: HTTP 402 Payment Required: .*(balance|funds)/iu)
    expect(run.stdout).toContain("receipt: none (a payment was sent and the server did not accept it")
    expect(await balances()).toEqual(before)
  })

  it("reads the settings from the stack's stack.env when the environment has none, and says to run npm start when neither has them", async () => {
    const stack = join(work!, "stack")
    writeFileSync(
      join(stack, "stack.env"),
      [
        `RPC_URL=${chain.rpcUrl}`,
        `USDC_ADDRESS=${chain.usdc}`,
        `PAYER_PRIVATE_KEY=${chain.payer.privateKey}`,
        `SELLER_ADDRESS=${chain.seller}`,
        ""
      ].join("\n")
    )
    const before = await balances()
    const fromFile = await pay([`${sellerUrl}/echo/services/weather/today`], {
      OBOL_STACK_DIR: stack,
      PAYER_PRIVATE_KEY: undefined,
      RPC_URL: undefined
    })
    expect(fromFile.code, fromFile.stderr).toBe(0)
    expect(fromFile.stderr).toContain(`key from ${join(stack, "stack.env")}`)
    neverShowsTheKey(fromFile)
    expect((await balances()).seller - before.seller).toBe(price)

    const nothing = await pay([`${sellerUrl}/echo/services/weather/today`], {
      PAYER_PRIVATE_KEY: undefined,
      RPC_URL: undefined
    })
    expect(nothing.code).toBe(1)
    expect(nothing.stderr).toMatch(/PAYER_PRIVATE_KEY is not set and .*stack\.env does not exist: run `npm start`/u)
  })

  it("exits 2 with the usage when the URL is missing or not http(s)", async () => {
    for (const args of [[], ["ftp://example.com/x"], ["not a url"]]) {
      const run = await pay(args)
      expect(run.code, args.join(" ")).toBe(2)
      expect(run.stderr).toContain("usage: npm run pay -- [options] <url>")
    }
  })
})
