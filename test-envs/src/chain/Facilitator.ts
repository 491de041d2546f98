/**
 * A local x402 facilitator for tests and the local stack: `@x402/core`'s `x402Facilitator` with
 * `@x402/evm`'s exact scheme, signing with the chain's facilitator account against the anvil RPC,
 * served over HTTP on 127.0.0.1: `GET /supported`, `POST /verify`, `POST /settle`.
 *
 * Answers follow the facilitator HTTP API: 200 with the Verify/SettleResponse JSON (also when the
 * payment is invalid or the settle failed: that is an answer, not an error); 400 with a reason for
 * a body that is not `{ x402Version, paymentPayload, paymentRequirements }` or names a network or
 * scheme this facilitator does not serve; 404 for other paths; 500 for anything the library throws
 * otherwise. The server stops when the scope closes; {@link Service.stop} stops it earlier, for
 * "facilitator down" tests.
 *
 * This module does not start the chain (see `Chain.ts`).
 *
 * @since 0.1.0
 */
import { x402Facilitator } from "@x402/core/facilitator"
import type { PaymentPayload, PaymentRequirements } from "@x402/core/types"
import { toFacilitatorEvmSigner } from "@x402/evm"
import { registerExactEvmScheme } from "@x402/evm/exact/facilitator"
import { Effect, Scope } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { createWalletClient, http, publicActions } from "viem"
import { privateKeyToAccount } from "viem/accounts"
import * as Chain from "./Chain.ts"

/**
 * @category models
 */
export interface Service {
  readonly url: string
  /** Calls answered, by path, for tests that assert the facilitator was (not) reached. */
  readonly calls: Readonly<Record<string, number>>
  /** Stops listening now (idempotent). */
  readonly stop: Effect.Effect<void>
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** The one error the library throws that is the caller's fault: a scheme/network it does not serve. */
const unregistered = /No facilitator registered for scheme/

/**
 * Starts the facilitator for `chain` on a free loopback port (or `port`).
 *
 * @category constructors
 */
export const start = (
  chain: Chain.Chain,
  options: { readonly port?: number } = {}
): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function* () {
    const account = privateKeyToAccount(chain.facilitatorKey)
    const client = createWalletClient({
      account,
      chain: Chain.viemChain(chain.rpcUrl),
      transport: http(chain.rpcUrl)
    }).extend(publicActions)
    const signer = toFacilitatorEvmSigner(
      {
        address: account.address,
        readContract: (args) => client.readContract(args as Parameters<typeof client.readContract>[0]),
        verifyTypedData: (args) => client.verifyTypedData(args as Parameters<typeof client.verifyTypedData>[0]),
        writeContract: (args) => client.writeContract(args as Parameters<typeof client.writeContract>[0]),
        sendTransaction: (args) => client.sendTransaction(args),
        waitForTransactionReceipt: (args) => client.waitForTransactionReceipt({ ...args, pollingInterval: 50 }),
        getCode: (args) => client.getCode(args)
      },
      { confirmationTimeoutMs: 30_000 }
    )
    const facilitator = new x402Facilitator()
    registerExactEvmScheme(facilitator, { signer, networks: chain.network })

    const calls: Record<string, number> = {}
    const server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0] ?? "/"
      calls[path] = (calls[path] ?? 0) + 1
      void (async () => {
        if (req.method === "GET" && path === "/supported") return send(res, 200, facilitator.getSupported())
        if (req.method !== "POST" || (path !== "/verify" && path !== "/settle")) {
          return send(res, 404, { error: `no ${req.method} ${path}; try GET /supported, POST /verify, POST /settle` })
        }
        let body: unknown
        try {
          body = JSON.parse(await readBody(req))
        } catch {
          return send(res, 400, { error: "body is not JSON" })
        }
        if (!isRecord(body) || !isRecord(body["paymentPayload"]) || !isRecord(body["paymentRequirements"])) {
          return send(res, 400, { error: "body must be { x402Version, paymentPayload, paymentRequirements }" })
        }
        const payload = body["paymentPayload"] as unknown as PaymentPayload
        const requirements = body["paymentRequirements"] as unknown as PaymentRequirements
        try {
          const answer =
            path === "/verify"
              ? await facilitator.verify(payload, requirements)
              : await facilitator.settle(payload, requirements)
          return send(res, 200, answer)
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error)
          return unregistered.test(message)
            ? send(res, 400, { error: message, invalidReason: "invalid_network" })
            : send(res, 500, { error: message })
        }
      })().catch((error: unknown) => send(res, 500, { error: String(error) }))
    })
    const port = yield* Effect.callback<number>((resume) => {
      server.listen(options.port ?? 0, "127.0.0.1", () =>
        resume(Effect.succeed((server.address() as AddressInfo).port))
      )
    })
    let stopped = false
    const stop = Effect.callback<void>((resume) => {
      if (stopped) return resume(Effect.void)
      stopped = true
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
    yield* Effect.addFinalizer(() => stop)
    return { url: `http://127.0.0.1:${port}`, calls, stop }
  })
