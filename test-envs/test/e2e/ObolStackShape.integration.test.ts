/**
 * obol-stack's most common shape on the whole local stack (issue 17): an offer in one namespace
 * (an agent's) selling a Service of another (`llm`), through real Traefik with the official x402
 * client. Pay-on-success (the default): the verifier proxies into the upstream's namespace.
 * Upfront: the HTTPRoute's backendRef crosses namespaces, so the controller grants it with a
 * ReferenceGrant there, and Traefik's own status says the route resolved. Both go Ready from
 * Traefik's status, answer 402, are paid, and leave no ReferenceGrant behind when deleted.
 *
 * Offers monetize.py already handled: created with its finalizer and a `status.agentId` it minted
 * on the local chain, one by the registrar's key (adopted: the agent's URI moves to the offer's
 * document, no second `Registered` event) and one by another key (refused with `AgentNotOwned`,
 * the agent untouched); both delete cleanly, the old finalizer released.
 */
import { Effect } from "effect"
import { privateKeyToAccount } from "viem/accounts"
import * as ChainClient from "@obol/chain/ChainClient"
import { identityRegistryAbi } from "@obol/chain/IdentityRegistryAbi"
import * as Signer from "@obol/chain/Signer"
import { stringify } from "yaml"
import { describe, expect, it } from "vitest"
import * as Chain from "../../src/chain/Chain.ts"
import * as Buyers from "../../src/vitest/Buyers.ts"
import { useStack } from "../../src/vitest/Stacks.ts"
import { eventually, kubectl, request, useNamespace } from "../../src/vitest/TestCluster.ts"

const namespace = useNamespace("agent")
const llm = useNamespace("llm")
const stack = useStack(namespace, { upstreamNamespace: llm })

const buyer = () => Buyers.officialClient(stack())

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${stack().gatewayUrl}${path}`, { headers, signal: AbortSignal.timeout(30_000) })

/** The 402 for `path` through Traefik, then one payment for it, as the official client makes them. */
const payFor = async (path: string) => {
  const unpaid = await eventually(`the 402 for ${path}`, async () => {
    const res = await get(path)
    return res.status === 402 ? res : undefined
  })
  const client = buyer()
  const required = client.getPaymentRequiredResponse((name) => unpaid.headers.get(name), await unpaid.json())
  expect(required.accepts[0]?.payTo).toBe(stack().chain.seller)
  return client.encodePaymentSignatureHeader(await client.createPaymentPayload(required))
}

const offer = (name: string, settlement: "onSuccess" | "upfront") => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "ServiceOffer",
  metadata: { name, namespace: namespace() },
  spec: {
    type: "http",
    upstream: { service: "echo", namespace: llm(), port: stack().upstream.port, healthPath: "/health" },
    payment: { network: "base-sepolia", payTo: stack().chain.seller, price: { perRequest: "0.002" }, settlement }
  }
})

const grants = async (ns: string) =>
  ((await request("GET", `/apis/gateway.networking.k8s.io/v1beta1/namespaces/${ns}/referencegrants`)).json?.items ??
    []) as Array<{ metadata: { name: string } }>

const routeConditions = async (name: string) =>
  Object.fromEntries(
    (
      (await request("GET", `/apis/gateway.networking.k8s.io/v1/namespaces/${namespace()}/httproutes/so-${name}`)).json
        ?.status?.parents?.[0]?.conditions ?? []
    ).map((c: { type: string; status: string }) => [c.type, c.status])
  )

/** Mints an agent the way monetize.py did (its shared URL), from `key`, before anything of ours runs. */
const mintBefore = (key: string) =>
  Effect.runPromise(
    ChainClient.ChainClient.use((client) =>
      Effect.gen(function* () {
        const signer = Signer.fromPrivateKey(key)
        if (signer._tag === "Failure") return yield* Effect.die(signer.failure)
        const registry = client.connect({
          chainId: stack().chain.chainId,
          rpcUrl: stack().chain.rpcUrl,
          registry: stack().chain.registry
        })
        const uri = "http://obol.stack:8080/.well-known/agent-registration.json"
        return (yield* registry.awaitRegistration(yield* registry.register(signer.success, uri))).agentId
      })
    ).pipe(Effect.provide(ChainClient.layer({ pollingIntervalMillis: 50 })))
  )

const registeredEvents = () =>
  stack().chain.client.getContractEvents({
    address: stack().chain.registry,
    abi: identityRegistryAbi,
    eventName: "Registered",
    fromBlock: 0n
  })

const tokenURI = (agentId: bigint) =>
  stack().chain.client.readContract({
    address: stack().chain.registry,
    abi: identityRegistryAbi,
    functionName: "tokenURI",
    args: [agentId]
  })

describe("an offer selling another namespace's Service, on the whole stack", () => {
  it.each(["onSuccess", "upfront"] as const)(
    "%s: goes Ready from Traefik's own status, answers 402 and is paid",
    async (settlement) => {
      const name = `litellm-${settlement.toLowerCase()}`
      const applied = await kubectl(["apply", "-f", "-"], stringify(offer(name, settlement)))
      expect(applied.code, applied.stderr).toBe(0)
      const waited = await kubectl([
        "wait",
        "--for=condition=Ready",
        `--namespace=${namespace()}`,
        `serviceoffer/${name}`,
        "--timeout=120s"
      ])
      expect(waited.code, waited.stderr).toBe(0)
      // Traefik itself accepted the route and resolved its backend (the ReferenceGrant, upfront).
      expect(await routeConditions(name)).toMatchObject({ Accepted: "True", ResolvedRefs: "True" })
      expect((await grants(llm())).map((g) => g.metadata.name)).toEqual(
        settlement === "upfront" ? [`so-${namespace()}.${name}`] : []
      )

      const path = `/services/${name}/today`
      const before = await Chain.balanceOf(stack().chain, stack().chain.seller)
      const paid = await get(path, await payFor(path))
      expect(paid.status).toBe(200)
      expect(((await paid.json()) as { path: string }).path).toBe("/today")
      expect((await Chain.balanceOf(stack().chain, stack().chain.seller)) - before).toBe(2000n)
    },
    180_000
  )

  it("adopts monetize.py's agent minted by the registrar's key, refuses another key's, and deletes both despite its finalizer", async () => {
    const mine = await mintBefore(Chain.devKeys.seller)
    const theirs = await mintBefore(Chain.devKeys.payer)
    const theirsURI = await tokenURI(theirs)
    const mintsBefore = (await registeredEvents()).length
    for (const [name, agentId] of [
      ["adopted", mine],
      ["refused", theirs]
    ] as const) {
      const manifest = offer(name, "onSuccess")
      const created = await request("POST", `/apis/obol.org/v1alpha1/namespaces/${namespace()}/serviceoffers`, {
        ...manifest,
        metadata: { ...manifest.metadata, finalizers: ["monetize.obol.org/finalizer"] },
        spec: { ...manifest.spec, registration: { enabled: true, name } }
      })
      expect(created.status, created.body).toBe(201)
      // What monetize.py wrote once it had minted.
      const patched = await request(
        "PATCH",
        `/apis/obol.org/v1alpha1/namespaces/${namespace()}/serviceoffers/${name}/status`,
        { status: { agentId: agentId.toString() } },
        "application/merge-patch+json"
      )
      expect(patched.status, patched.body).toBe(200)
    }
    const registered = async (name: string) =>
      (
        (await request("GET", `/apis/obol.org/v1alpha1/namespaces/${namespace()}/serviceoffers/${name}`)).json?.status
          ?.conditions ?? []
      ).find((c: { type: string }) => c.type === "Registered") as { status: string; reason: string; message: string }
    const adopted = await eventually(
      "the adoption",
      async () => {
        const condition = await registered("adopted")
        return condition?.reason === "Adopted" ? condition : undefined
      },
      120_000
    )
    expect(adopted.status).toBe("True")
    expect(await tokenURI(mine)).toBe(
      `${stack().gatewayUrl}/.well-known/agent-registration.json?offer=${namespace()}/adopted`
    )
    const refused = await eventually(
      "the refusal",
      async () => {
        const condition = await registered("refused")
        return condition?.reason === "AgentNotOwned" ? condition : undefined
      },
      120_000
    )
    expect(refused.status).toBe("False")
    expect(refused.message).toContain(privateKeyToAccount(Chain.devKeys.payer).address)
    expect(await tokenURI(theirs)).toBe(theirsURI)
    expect((await registeredEvents()).length).toBe(mintsBefore)

    for (const name of ["adopted", "refused"]) {
      const deleted = await kubectl([
        "delete",
        "serviceoffer",
        name,
        `--namespace=${namespace()}`,
        "--wait=true",
        "--timeout=90s"
      ])
      expect(deleted.code, deleted.stderr).toBe(0)
    }
    expect((await registeredEvents()).length).toBe(mintsBefore)
    expect(await tokenURI(theirs)).toBe(theirsURI)
  }, 300_000)

  it("leaves no ReferenceGrant behind when the offers are deleted", async () => {
    const deleted = await kubectl([
      "delete",
      "serviceoffers",
      "--all",
      `--namespace=${namespace()}`,
      "--wait=true",
      "--timeout=60s"
    ])
    expect(deleted.code, deleted.stderr).toBe(0)
    expect(await grants(llm())).toEqual([])
    expect(await grants(namespace())).toEqual([])
  }, 90_000)
})
