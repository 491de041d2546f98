/**
 * The chaos tier (`npm run test:chaos`; `CHAOS_ROUNDS` rounds, default 8; CI runs 4): the whole
 * Stack with its own control plane, an unpaid prober and a paying client hammering several offers
 * (pay-on-success, the default: Traefik → the verifier's proxy → the upstream) through Traefik,
 * while each round kills -9 one of the controller, the verifier or the registrar
 * (started again as a kubelet would), or restarts kube-apiserver with etcd, and an offer is
 * created and another deleted meanwhile.
 *
 * After every round: every offer converges to Ready or is entirely gone with its children; no
 * unpaid request was ever answered 200; every 200 to the payer was paid for (the seller's balance
 * grew by at least what the payer paid for its 200s); each registration was minted exactly once.
 * At the end the money is accounted for exactly: the seller received the paid 200s plus the paid
 * requests the chain says were settled without a whole 200, and each of those was in flight when
 * a verifier was killed (settled, then killed before it could answer: the one window
 * pay-on-success leaves, docs/adr/0010-pay-on-success.md). The counts are printed per round and
 * at the end.
 */
import { x402Client, x402HTTPClient } from "@x402/core/client"
import { toClientEvmSigner } from "@x402/evm"
import { registerExactEvmScheme } from "@x402/evm/exact/client"
import { Effect, Exit, Scope } from "effect"
import { parseAbiItem, type Address } from "viem"
import { privateKeyToAccount } from "viem/accounts"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Chain from "../../src/chain/Chain.ts"
import * as Stack from "../../src/Stack.ts"
import * as Traffic from "../../src/Traffic.ts"

const rounds = Number(process.env["CHAOS_ROUNDS"] ?? 8)
const faults = ["serviceoffer-controller", "x402-verifier", "registrar", "kube-apiserver+etcd"] as const
const scope = Effect.runSync(Scope.make())
let stack: Stack.Stack

beforeAll(async () => {
  stack = await Effect.runPromise(
    Stack.start({ progress: (line) => console.error(`stack: ${line}`) }).pipe(Scope.provide(scope))
  )
}, 900_000)
afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
}, 120_000)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until `check` returns a value; fails after `timeoutMs` with what it last saw. */
const until = async <A>(what: string, check: () => Promise<A | string>, timeoutMs = 180_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  let last = ""
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (typeof value !== "string") return value
      last = value
    } catch (error) {
      last = String(error)
    }
    await sleep(500)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last}`)
}

const api = async (method: string, path: string, body?: unknown, contentType?: string) =>
  Effect.runPromise(stack.http.request(method, path, body, contentType))

const ns = () => stack.upstream.namespace
const offers = () => `/apis/obol.org/v1alpha1/namespaces/${ns()}/serviceoffers`

interface Offer {
  readonly name: string
  readonly price: string
  readonly registration: boolean
}

const applyOffer = async (offer: Offer) => {
  const manifest = {
    apiVersion: "obol.org/v1alpha1",
    kind: "ServiceOffer",
    metadata: { name: offer.name, namespace: ns() },
    spec: {
      upstream: { service: stack.upstream.service, port: stack.upstream.port, healthPath: "/health" },
      payment: { network: "base-sepolia", payTo: stack.chain.seller, price: { perRequest: offer.price } },
      ...(offer.registration ? { registration: { enabled: true, name: offer.name } } : {})
    }
  }
  const res = await api(
    "PATCH",
    `${offers()}/${offer.name}?fieldManager=chaos&force=true`,
    manifest,
    "application/apply-patch+yaml"
  )
  if (res.status !== 200 && res.status !== 201) throw new Error(`apply ${offer.name}: ${res.status} ${res.body}`)
}

/** The children an offer leaves behind, by kind. */
const childPaths = (name: string) => [
  `/apis/obol.org/v1alpha1/namespaces/${ns()}/paymentroutes/${name}-payment`,
  `/apis/obol.org/v1alpha1/namespaces/${ns()}/registrationrequests/${name}-registration`,
  `/apis/gateway.networking.k8s.io/v1/namespaces/${ns()}/httproutes/so-${name}`,
  `/apis/traefik.io/v1alpha1/namespaces/${ns()}/middlewares/x402-${name}`,
  // Pay-on-success (the default): the grant of the verifier's Service, in the verifier's namespace.
  `/apis/gateway.networking.k8s.io/v1beta1/namespaces/${stack.namespaces.system}/referencegrants/so-${ns()}.${name}`
]

/** Every live offer Ready (registrations Confirmed), every deleted one gone with its children. */
const converged = async (live: ReadonlyArray<Offer>, deleted: ReadonlyArray<string>) => {
  for (const offer of live) {
    const res = await api("GET", `${offers()}/${offer.name}`)
    const conditions: Array<{ type: string; status: string; reason: string }> = res.json?.status?.conditions ?? []
    const byType = Object.fromEntries(conditions.map((c) => [c.type, `${c.status}/${c.reason}`]))
    if (byType["Ready"] !== "True/Ready") return `${offer.name}: ${JSON.stringify(byType)}`
    if (offer.registration && byType["Registered"] !== "True/Confirmed") return `${offer.name}: ${byType["Registered"]}`
  }
  for (const name of deleted) {
    for (const path of [`${offers()}/${name}`, ...childPaths(name)]) {
      if ((await api("GET", path)).status !== 404) return `${path} still exists`
    }
  }
  return true as const
}

/** Children in the namespace whose offer is gone (there must be none once converged). */
const orphans = async (live: ReadonlyArray<Offer>) => {
  const names = new Set(live.map((o) => o.name))
  const found: Array<string> = []
  for (const path of [
    `/apis/obol.org/v1alpha1/namespaces/${ns()}/paymentroutes`,
    `/apis/obol.org/v1alpha1/namespaces/${ns()}/registrationrequests`,
    `/apis/gateway.networking.k8s.io/v1/namespaces/${ns()}/httproutes`,
    `/apis/traefik.io/v1alpha1/namespaces/${ns()}/middlewares`
  ]) {
    for (const item of (await api("GET", path)).json?.items ?? []) {
      const offer = item.metadata.labels?.["obol.org/serviceoffer"]
      if (offer !== undefined && !names.has(offer)) found.push(`${item.kind} ${item.metadata.name}`)
    }
  }
  return found
}

const balance = (address: Address) => Chain.balanceOf(stack.chain, address)

/** Whether an EIP-3009 authorization was used on chain (its transfer settled). */
const authorizationUsed = (authorizer: Address, nonce: `0x${string}`) =>
  stack.chain.client.readContract({
    address: stack.chain.usdc,
    abi: [parseAbiItem("function authorizationState(address authorizer, bytes32 nonce) view returns (bool)")],
    functionName: "authorizationState",
    args: [authorizer, nonce]
  })

/** Registrations minted per agentURI, from the registry's `Registered` events. */
const mints = async () => {
  const logs = await stack.chain.client.getLogs({
    address: stack.chain.registry,
    event: parseAbiItem("event Registered(uint256 indexed agentId, string agentURI, address indexed owner)"),
    fromBlock: 0n
  })
  const byUri = new Map<string, number>()
  for (const log of logs) byUri.set(log.args.agentURI ?? "", (byUri.get(log.args.agentURI ?? "") ?? 0) + 1)
  return byUri
}

/** When each verifier was killed (wall-clock ms, taken just before the kill). */
const verifierKills: Array<number> = []

const inject = async (fault: (typeof faults)[number]) => {
  if (fault === "kube-apiserver+etcd") {
    await Effect.runPromise(stack.restartApiServer!.pipe(Scope.provide(scope)))
    return
  }
  const process = stack.processes[fault]
  if (fault === "x402-verifier") verifierKills.push(Date.now())
  await Effect.runPromise(process.kill)
  await sleep(1000)
  await Effect.runPromise(process.start.pipe(Scope.provide(scope)))
}

describe(`chaos: ${rounds} rounds of kill -9 and API server restarts under paying traffic`, () => {
  it("converges after every round with no unpaid 200, no 200 unpaid for, and one mint per registration", async () => {
    const steady: Array<Offer> = [
      { name: "steady-a", price: "0.001", registration: false },
      { name: "steady-b", price: "0.002", registration: true }
    ]
    for (const offer of steady) await applyOffer(offer)
    await until("the steady offers Ready", () => converged(steady, []))

    const client = new x402Client().setSpendControls(false)
    registerExactEvmScheme(client, {
      signer: toClientEvmSigner(privateKeyToAccount(stack.chain.payer.privateKey), stack.chain.client as never)
    })
    let churn: Array<Offer> = []
    const deleted: Array<string> = []
    const sellerBefore = await balance(stack.chain.seller)
    const traffic = Traffic.start({
      gatewayUrl: stack.gatewayUrl,
      payer: new x402HTTPClient(client),
      targets: () => [
        ...steady.map((o) => ({ path: `/services/${o.name}/chaos`, steady: true })),
        ...churn.map((o) => ({ path: `/services/${o.name}/chaos`, steady: false }))
      ]
    })

    try {
      for (let round = 1; round <= rounds; round++) {
        const fault = faults[(round - 1) % faults.length]!
        const started = Date.now()
        const next: Offer = { name: `churn-${round}`, price: "0.003", registration: round % 2 === 1 }
        await applyOffer(next)
        const gone = churn.map((o) => o.name)
        for (const name of gone) await api("DELETE", `${offers()}/${name}`)
        deleted.push(...gone)
        churn = [next]
        await inject(fault)
        await until(`round ${round} (${fault}) to converge`, () => converged([...steady, ...churn], deleted))

        expect(traffic.counts.unpaid200, "unpaid requests answered 200").toBe(0)
        // What the payer got 200s for so far, then the chain: every one of them was settled.
        const counts = { ...traffic.counts }
        const received = (await balance(stack.chain.seller)) - sellerBefore
        expect(
          received >= counts.paidAmount,
          `seller received ${received}, payer paid ${counts.paidAmount} for its 200s`
        ).toBe(true)
        const minted = await mints()
        expect(
          [...minted.values()].filter((n) => n !== 1),
          "agentURIs minted more than once"
        ).toEqual([])
        expect(await orphans([...steady, ...churn])).toEqual([])
        console.error(
          `round ${round}: ${fault} converged in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
            JSON.stringify({ ...counts, paidAmount: String(counts.paidAmount), received: String(received) })
        )
      }
    } finally {
      await traffic.stop()
    }

    const counts = traffic.counts
    const received = (await balance(stack.chain.seller)) - sellerBefore
    // Which paid requests without a whole 200 were settled anyway: the chain knows their nonces.
    const charged: Array<Traffic.Unanswered> = []
    for (const attempt of traffic.unanswered) {
      if (await authorizationUsed(attempt.authorizer as Address, attempt.nonce as `0x${string}`)) charged.push(attempt)
    }
    const chargedAmount = charged.reduce((sum, attempt) => sum + attempt.amount, 0n)
    const atKill = (attempt: Traffic.Unanswered) =>
      verifierKills.some((killedAt) => attempt.sentAt <= killedAt && killedAt <= attempt.endedAt)
    const registrations = [
      ...steady,
      ...deleted.map((name) => ({ name, registration: Number(name.split("-")[1]) % 2 === 1 }))
    ].filter((o) => o.registration).length
    const minted = await mints()
    console.error(
      `chaos summary: ${rounds} rounds; requests ${counts.requests}; 200 ${counts.paid200 + counts.unpaid200} ` +
        `(paid ${counts.paid200}, unpaid ${counts.unpaid200}); 402 ${counts.status402}; 503 ${counts.status503}; ` +
        `404 ${counts.status404}; other ${counts.other}; refused connections ${counts.refused}; ` +
        `answers cut mid-body ${counts.cut}; ` +
        `longest unavailability of a steady offer ${counts.longestGapMs} ms; payer paid ${counts.paidAmount} for its 200s, ` +
        `seller received ${received} (charged without a whole 200: ${charged.length} requests, ${chargedAmount}, ` +
        `${charged.filter(atKill).length} of them in flight when the verifier was killed); ` +
        `registrations ${minted.size} minted once each (expected at least ${registrations})`
    )
    expect(counts.unpaid200).toBe(0)
    expect(counts.paid200).toBeGreaterThan(0)
    // Every unit the seller received is a 200 the payer got, or a request charged without one.
    expect(received, "the seller received exactly the paid 200s plus the requests charged without one").toBe(
      counts.paidAmount + chargedAmount
    )
    // Pay-on-success settles before the status line: only a verifier killed between the two
    // (settled on chain, the answer never sent) may charge without a whole 200.
    expect(
      charged.filter((attempt) => !atKill(attempt)),
      "requests charged without a whole 200 while no verifier was killed"
    ).toEqual([])
    expect(minted.size).toBeGreaterThanOrEqual(registrations)
  }, 3_600_000)
})
