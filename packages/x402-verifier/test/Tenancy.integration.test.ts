/**
 * Who may set a price for which offer and path, with the `x402-verifier` command on the real API
 * server, the real chain and facilitator, and the official x402 client:
 * - a PaymentRoute in another namespace that names the victim's offer (the hijack), created after
 *   or before the victim's route, never changes what the victim's identity or its path demand, and
 *   carries its rejection on its own status; a paid request through the path pays the victim;
 * - a real offer in another namespace whose route overlaps an older offer's path is refused the
 *   path (`PathConflict`, naming the winner);
 * - two replicas, one cut off from the API server while a price changes: asked for the generation
 *   the other one admitted, the stale replica answers 503, never the older price, and serves the
 *   new price once it catches up.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { x402Client, x402HTTPClient } from "@x402/core/client"
import { decodePaymentRequiredHeader } from "@x402/core/http"
import { toClientEvmSigner } from "@x402/evm"
import { registerExactEvmScheme } from "@x402/evm/exact/client"
import { Effect, Exit, Scope } from "effect"
import type { Address } from "viem"
import { privateKeyToAccount } from "viem/accounts"
import { parse, stringify } from "yaml"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import * as Chain from "@obol/test-envs/chain/Chain"
import * as LocalFacilitator from "@obol/test-envs/chain/Facilitator"
import * as Ports from "@obol/test-envs/Ports"
import * as TcpProxy from "@obol/test-envs/TcpProxy"
import * as Sellers from "@obol/test-envs/vitest/Sellers"
import { eventually, request, useNamespace } from "@obol/test-envs/vitest/TestCluster"

const victim = useNamespace("victim")
const attacker = useNamespace("attacker")
const bin = join(import.meta.dirname, "..", "bin", "x402-verifier.mjs")
const scope = Effect.runSync(Scope.make())
const children = new Map<string, { readonly child: ChildProcess; readonly log: Array<string> }>()
/** An address nobody should ever be paid at. */
const thief: Address = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
let chain: Chain.Chain
let facilitator: LocalFacilitator.Service
/** A tag that keeps this file's paths apart from every other file's. */
const tag = `t${Math.floor(Math.random() * 1e9).toString(36)}`

beforeAll(async () => {
  chain = await Effect.runPromise(Scope.provide(Chain.start(), scope))
  facilitator = await Effect.runPromise(Scope.provide(LocalFacilitator.start(chain), scope))
})
afterAll(async () => {
  for (const { child } of children.values()) child.kill("SIGKILL")
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

/** Starts the verifier command over the given namespaces; returns its ForwardAuth base URL. */
const startVerifier = async (namespaces: ReadonlyArray<string>, kubeconfig = inject("kubeconfig")) => {
  const [port, healthPort] = await Effect.runPromise(Ports.freeN(2))
  const child = spawn(process.execPath, [bin], {
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      LISTEN_ADDRESS: "127.0.0.1",
      WATCH_NAMESPACE: namespaces.join(","),
      FACILITATOR_URL: facilitator.url,
      PORT: String(port),
      HEALTH_PORT: String(healthPort)
    },
    stdio: ["ignore", "ignore", "pipe"]
  })
  const log: Array<string> = []
  child.stderr?.on("data", (chunk: Buffer) => log.push(chunk.toString()))
  child.on("exit", (code, signal) => log.push(`exited: code ${code} signal ${signal}\n`))
  const url = `http://127.0.0.1:${port}`
  children.set(url, { child, log })
  return url
}

/** `eventually`, with the replica's own log in the failure when it does not get there. */
const eventuallyFrom = async <A>(
  replica: string,
  what: string,
  check: () => Promise<A | undefined>,
  timeoutMs?: number
) => {
  try {
    return await eventually(what, check, timeoutMs)
  } catch (error) {
    const log = children.get(replica)?.log.join("").slice(-4000) ?? "(no log)"
    throw new Error(`${(error as Error).message}\n--- ${replica} stderr ---\n${log}`, { cause: error })
  }
}

const onChain = () => ({ network: chain.network, asset: Chain.token(chain) })

/** What a ForwardAuth call demands: status, and the first requirement's payTo and amount. */
const demand = async (url: string, uri: string) => {
  const res = await fetch(url, {
    headers: { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "seller.example", "X-Forwarded-Uri": uri }
  }).catch(() => undefined)
  if (res === undefined) return { status: "connection error" as const }
  const header = res.headers.get("PAYMENT-REQUIRED")
  await res.arrayBuffer()
  const first = header === null ? undefined : decodePaymentRequiredHeader(header).accepts[0]
  return { status: res.status, payTo: first?.payTo, amount: first?.amount }
}

const balance = (address: Address) => Chain.balanceOf(chain, address)

/** The hijack from the issue: `attacker/<offer>-payment` naming the victim's offer, price 1, the thief's wallet. */
const hijack = (offer: string) =>
  Sellers.createRoute(attacker(), offer, {
    offerRef: { namespace: victim(), name: offer },
    payTo: thief,
    price: "1",
    pattern: `/${tag}/${offer}/*`,
    ...onChain()
  })

const admitted = (namespace: string, route: string, generation = 1) =>
  eventually(`${namespace}/${route} admitted at generation ${generation}`, async () => {
    const status = await Sellers.routeStatus(namespace, route)
    return status?.admitted === true && status.lastAdmittedGeneration === generation ? status : undefined
  })

const rejected = (namespace: string, route: string) =>
  eventually(`${namespace}/${route} rejected`, async () => {
    const status = await Sellers.routeStatus(namespace, route)
    return status?.admitted === false ? status : undefined
  })

describe("tenancy: who may price which offer and path", () => {
  let verifier: string
  beforeAll(async () => {
    verifier = await startVerifier([victim(), attacker()])
  })

  const victimDemands = async (offer: string) => {
    const expected = { status: 402, payTo: chain.seller, amount: "250000" }
    expect(await demand(`${verifier}/verify/${victim()}/${offer}`, `/${tag}/${offer}/v1/chat`)).toEqual(expected)
    expect(await demand(`${verifier}/verify`, `/${tag}/${offer}/v1/chat`)).toEqual(expected)
  }

  it("a hijack created after the victim's route changes neither demand, and a paid request pays the victim", async () => {
    await Sellers.sell(victim(), "after", {
      price: "250000",
      payTo: chain.seller,
      pattern: `/${tag}/after/*`,
      ...onChain()
    })
    await admitted(victim(), "after-payment")
    await eventually("the victim's 402", async () =>
      (await demand(`${verifier}/verify/${victim()}/after`, `/${tag}/after/x`)).status === 402 ? true : undefined
    )
    const created = await hijack("after")
    expect(created.status, created.body).toBe(201)
    // The API server prunes the foreign namespace: the route can only name an offer of its own namespace.
    expect(created.json.spec.offer).toEqual({ name: "after" })
    expect(await rejected(attacker(), "after-payment")).toEqual({
      admitted: false,
      reason: "NotOwnedByOffer",
      message: expect.stringContaining("no controller ownerReference")
    })
    await victimDemands("after")

    const client = new x402Client().setSpendControls(false)
    registerExactEvmScheme(client, {
      signer: toClientEvmSigner(privateKeyToAccount(chain.payer.privateKey), chain.client as never)
    })
    const http = new x402HTTPClient(client)
    const headers = {
      "X-Forwarded-Proto": "https",
      "X-Forwarded-Host": "seller.example",
      "X-Forwarded-Uri": `/${tag}/after/v1/chat`
    }
    const unpaid = await fetch(`${verifier}/verify`, { headers })
    const required = http.getPaymentRequiredResponse((name) => unpaid.headers.get(name), await unpaid.json())
    const [sellerBefore, thiefBefore] = [await balance(chain.seller), await balance(thief)]
    const paid = await fetch(`${verifier}/verify`, {
      headers: { ...headers, ...http.encodePaymentSignatureHeader(await http.createPaymentPayload(required)) }
    })
    expect(paid.status).toBe(200)
    expect([(await balance(chain.seller)) - sellerBefore, (await balance(thief)) - thiefBefore]).toEqual([250_000n, 0n])
  }, 120_000)

  it("a hijack created before the victim's route is rejected all the same, and the victim's route is served", async () => {
    expect((await hijack("before")).status).toBe(201)
    expect(await rejected(attacker(), "before-payment")).toMatchObject({ reason: "NotOwnedByOffer" })
    await Sellers.sell(victim(), "before", {
      price: "250000",
      payTo: chain.seller,
      pattern: `/${tag}/before/*`,
      ...onChain()
    })
    await admitted(victim(), "before-payment")
    await victimDemands("before")
    expect(await Sellers.routeStatus(attacker(), "before-payment")).toMatchObject({ reason: "NotOwnedByOffer" })
  }, 120_000)

  it("an offer of its own in another namespace cannot take an older offer's path: PathConflict, naming the winner", async () => {
    await Sellers.sell(victim(), "held", {
      price: "250000",
      payTo: chain.seller,
      pattern: `/${tag}/held/*`,
      ...onChain()
    })
    await admitted(victim(), "held-payment")
    // Creation timestamps have one-second resolution (and a tie would go to the name that sorts
    // first): the newcomer is created once the server's second has moved on.
    const held = await request("GET", `/apis/obol.org/v1alpha1/namespaces/${victim()}/serviceoffers/held`)
    await eventually("the next second", async () =>
      Date.now() >= Date.parse(held.json.metadata.creationTimestamp) + 1000 ? true : undefined
    )
    await Sellers.sell(attacker(), "held", { payTo: thief, price: "1", pattern: `/${tag}/held/v1/*`, ...onChain() })
    expect(await rejected(attacker(), "held-payment")).toEqual({
      admitted: false,
      reason: "PathConflict",
      message: `pattern /${tag}/held/v1/* overlaps /${tag}/held/* of PaymentRoute ${victim()}/held-payment (ServiceOffer ${victim()}/held, the older offer keeps the path)`
    })
    expect(await demand(`${verifier}/verify`, `/${tag}/held/v1/chat`)).toEqual({
      status: 402,
      payTo: chain.seller,
      amount: "250000"
    })
    expect((await demand(`${verifier}/verify/${attacker()}/held`, `/${tag}/held/v1/chat`)).status).toBe(503)
  }, 120_000)
})

describe("two verifier replicas and a price change", () => {
  it("a replica cut off from the API server answers 503 for the newly admitted generation, never the older price", async () => {
    const ns = victim()
    const { routeUid } = await Sellers.sell(ns, "pinned", { price: "1000", pattern: `/${tag}/pinned/*`, ...onChain() })
    // Replica B reaches the API server through a proxy this test can cut.
    const proxy = await Effect.runPromise(Scope.provide(TcpProxy.make(inject("server")), scope))
    const config = parse(readFileSync(inject("kubeconfig"), "utf8"))
    for (const cluster of config.clusters) cluster.cluster.server = `https://127.0.0.1:${proxy.port}`
    const proxied = join(mkdtempSync(join(tmpdir(), "verifier-b-")), "kubeconfig")
    writeFileSync(proxied, stringify(config))
    const a = await startVerifier([ns])
    const b = await startVerifier([ns], proxied)
    const ask = (replica: string, generation: number) =>
      demand(`${replica}/verify/${ns}/pinned?route=${routeUid}&generation=${generation}`, `/${tag}/pinned/x`)
    for (const replica of [a, b]) {
      await eventuallyFrom(replica, `${replica} serving generation 1`, async () => {
        const answer = await ask(replica, 1)
        return answer.amount === "1000" ? true : undefined
      })
    }

    proxy.cut()
    const patched = await request(
      "PATCH",
      `/apis/obol.org/v1alpha1/namespaces/${ns}/paymentroutes/pinned-payment`,
      { spec: { price: "5000" } },
      "application/merge-patch+json"
    )
    expect(patched.json.metadata.generation).toBe(2)
    await admitted(ns, "pinned-payment", 2)
    // What the controller now writes into the Middleware: generation 2.
    expect(await ask(a, 2)).toEqual({ status: 402, payTo: Sellers.sellerAddress, amount: "5000" })
    const seen = new Set<string>()
    for (let i = 0; i < 20; i++) {
      const answer = await ask(b, 2)
      seen.add(`${answer.status} ${answer.amount}`)
    }
    expect([...seen]).toEqual(["503 undefined"])

    proxy.restore()
    await eventuallyFrom(
      b,
      "the cut-off replica serving generation 2 once it reconnects",
      async () => ((await ask(b, 2)).amount === "5000" ? true : undefined),
      90_000
    )
    // It caught up by reading; it never wrote its older view over the newer admission.
    expect(await Sellers.routeStatus(ns, "pinned-payment")).toEqual({ admitted: true, lastAdmittedGeneration: 2 })
  }, 180_000)
})
