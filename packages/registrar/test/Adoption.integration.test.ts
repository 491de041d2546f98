/**
 * Adoption on the real API server, anvil and our IdentityRegistry, with the serviceoffer-controller
 * and the registrar in-process (the test plays the verifier and the Gateway). Two offers carry a
 * monetize.py-style `status.agentId` for an agent minted beforehand on the local chain: one by the
 * registrar's own key (adopted: its URI moved to the controller's well-known document, no second
 * `Registered` event, tombstoned on delete) and one by another key (refused with `AgentNotOwned`,
 * nothing minted, the agent untouched, the offer still Ready and deletable).
 */
import { Effect, Exit, Fiber, Layer, Schema, Scope } from "effect"
import { HttpRouter } from "effect/http"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import * as AgentRegistration from "@obol/api/AgentRegistration"
import * as ChainClient from "@obol/chain/ChainClient"
import { identityRegistryAbi } from "@obol/chain/IdentityRegistryAbi"
import * as Signer from "@obol/chain/Signer"
import * as EventRecorder from "@obol/controller/EventRecorder"
import * as KubeConfig from "@obol/kube/KubeConfig"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import * as Registrar from "@obol/registrar/Registrar"
import * as RegistrarReconciler from "@obol/registrar/RegistrarReconciler"
import * as Signers from "@obol/registrar/Signers"
import * as Tombstone from "@obol/registrar/Tombstone"
import * as ServiceOfferController from "@obol/serviceoffer-controller/ServiceOfferController"
import * as ServiceOfferReconciler from "@obol/serviceoffer-controller/ServiceOfferReconciler"
import * as UpstreamProbe from "@obol/serviceoffer-controller/UpstreamProbe"
import * as WellKnown from "@obol/serviceoffer-controller/WellKnown"
import * as Chain from "@obol/test-envs/chain/Chain"
import * as StandIns from "@obol/test-envs/vitest/StandIns"
import { eventually, request, useNamespace } from "@obol/test-envs/vitest/TestCluster"

const namespace = useNamespace("adoption")
const scope = Effect.runSync(Scope.make())
const publicBaseUrl = "https://seller.example"
const identity = { name: "Obol seller", description: "Services sold with x402", publicBaseUrl }
const oldURI = "http://obol.stack:8080/.well-known/agent-registration.json"
let chain: Chain.Chain
let wellKnown: (request: Request) => Promise<Response>
const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
const minted = new Map<string, bigint>()

const obol = (plural: string, name: string) => `/apis/obol.org/v1alpha1/namespaces/${namespace()}/${plural}/${name}`
const signerOf = (key: string) => {
  const result = Signer.fromPrivateKey(key)
  if (result._tag === "Failure") throw new Error(result.failure.message)
  return result.success
}

/** Mints an agent the way monetize.py did: register(its shared URL) from `key`, before any registrar. */
const mintBefore = (key: string) =>
  Effect.runPromise(
    ChainClient.ChainClient.use((client) =>
      Effect.gen(function* () {
        const registry = client.connect({ chainId: chain.chainId, rpcUrl: chain.rpcUrl, registry: chain.registry })
        return (yield* registry.awaitRegistration(yield* registry.register(signerOf(key), oldURI))).agentId
      })
    ).pipe(Effect.provide(ChainClient.layer({ pollingIntervalMillis: 50 })))
  )

const read = (functionName: "tokenURI" | "ownerOf", agentId: bigint) =>
  chain.client.readContract({ address: chain.registry, abi: identityRegistryAbi, functionName, args: [agentId] })

const registeredEvents = () =>
  chain.client.getContractEvents({
    address: chain.registry,
    abi: identityRegistryAbi,
    eventName: "Registered",
    fromBlock: 0n
  })

/** An offer with registration on, carrying the agent monetize.py minted in status.agentId. */
const createOffer = async (name: string, agentId: bigint) => {
  const created = await request("POST", `/apis/obol.org/v1alpha1/namespaces/${namespace()}/serviceoffers`, {
    apiVersion: "obol.org/v1alpha1",
    kind: "ServiceOffer",
    metadata: { name, namespace: namespace() },
    spec: {
      upstream: { service: name, port: 8080 },
      payment: {
        network: "base-sepolia",
        payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        price: { perRequest: "0.001" }
      },
      registration: { enabled: true, name },
      provenance: { framework: "autoresearch", metricName: "val_bpb", metricValue: "0.9812" }
    }
  })
  expect(created.status, created.body).toBe(201)
  // What monetize.py wrote after minting (a merge patch of the status, its own field manager).
  const patched = await request(
    "PATCH",
    `${obol("serviceoffers", name)}/status`,
    { status: { agentId: agentId.toString() } },
    "application/merge-patch+json"
  )
  expect(patched.status, patched.body).toBe(200)
  await StandIns.admit(namespace(), name)
  await StandIns.accept(namespace(), name)
  await StandIns.ready(namespace(), name)
}

const registrationStatus = async (name: string) =>
  (await request("GET", obol("registrationrequests", `${name}-registration`))).json?.status

const deleteOffer = async (name: string) => {
  expect((await request("DELETE", obol("serviceoffers", name))).status).toBe(200)
  await eventually(`the offer ${name} to be gone`, async () =>
    (await request("GET", obol("serviceoffers", name))).status === 404 ? true : undefined
  )
}

beforeAll(async () => {
  chain = await Effect.runPromise(Scope.provide(Chain.start(), scope))
  minted.set("mine", await mintBefore(Chain.devKeys.seller))
  minted.set("theirs", await mintBefore(Chain.devKeys.payer))
  const secret = await request("POST", `/api/v1/namespaces/${namespace()}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "registrar-signer", namespace: namespace() },
    data: { privateKey: Buffer.from(Chain.devKeys.seller).toString("base64") }
  })
  if (secret.status !== 201) throw new Error(`creating the signer Secret: ${secret.status} ${secret.body}`)

  const kube = NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layerFromFile(inject("kubeconfig"))), Layer.orDie)
  const controller = ServiceOfferController.run({ namespace: namespace() }).pipe(
    Effect.provide(
      Layer.mergeAll(
        ServiceOfferReconciler.ReconcilerSettings.layer({
          publicBaseUrl,
          verifierService: { namespace: namespace(), name: "x402-verifier", port: 8080 }
        }),
        UpstreamProbe.layerMemory(new Map()),
        EventRecorder.layerNoop
      )
    )
  )
  const registrar = Registrar.run({ namespace: namespace(), backoffMax: "2 seconds" }).pipe(
    Effect.provide(
      Layer.mergeAll(
        RegistrarReconciler.RegistrarSettings.layer({
          chains: [{ names: ["base-sepolia"], chainId: chain.chainId, rpcUrl: chain.rpcUrl, registry: chain.registry }]
        }),
        ChainClient.layer({ pollingIntervalMillis: 100 }),
        Signers.layer({ namespace: namespace(), secret: "registrar-signer" }),
        EventRecorder.layer({ controller: "obol.org/registrar", instance: "test" })
      )
    )
  )
  for (const program of [controller, registrar]) {
    fibers.push(Effect.runFork(program.pipe(Effect.provide(kube)) as Effect.Effect<unknown, unknown>))
  }
  const routes = WellKnown.routes(identity, { namespace: namespace() }).pipe(Layer.provide(kube))
  wellKnown = HttpRouter.toWebHandler(routes, { disableLogger: true }).handler
})
afterAll(async () => {
  for (const fiber of fibers) await Effect.runPromise(Fiber.interrupt(fiber))
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

describe("adopting agents monetize.py minted", () => {
  it("adopts an agent the registrar's key minted: URI moved with setAgentURI, no second Registered event", async () => {
    const agentId = minted.get("mine") ?? -1n
    const seller = signerOf(Chain.devKeys.seller)
    expect(await read("ownerOf", agentId)).toBe(seller.address)
    await createOffer("mine", agentId)

    const adopted = await eventually("the agent to be adopted", async () => {
      const status = await registrationStatus("mine")
      return status?.phase === "Confirmed" ? status : undefined
    })
    const agentURI = `${publicBaseUrl}/.well-known/agent-registration.json?offer=${namespace()}/mine`
    expect(adopted).toMatchObject({
      reason: "Adopted",
      agentId: agentId.toString(),
      agentURI,
      agentRegistry: `eip155:${chain.chainId}:${chain.registry}`
    })
    const receipt = await chain.client.getTransactionReceipt({ hash: adopted.txHash })
    expect(receipt.status).toBe("success")
    expect(await read("tokenURI", agentId)).toBe(agentURI)
    // Only the two agents minted before the registrar ran: it minted nothing.
    expect((await registeredEvents()).map((e) => e.args.agentId)).toEqual([minted.get("mine"), minted.get("theirs")])

    // The offer keeps its agent, and the document our URI points at lists it, with its provenance.
    const offer = (await request("GET", obol("serviceoffers", "mine"))).json
    expect(offer.status.agentId).toBe(agentId.toString())
    const served = await eventually("the document to list the adopted agent", async () => {
      const res = await wellKnown(new Request(agentURI))
      const doc = (res.status === 200 ? await res.json() : undefined) as { registrations?: Array<unknown> } | undefined
      return doc?.registrations?.length === 1 ? doc : undefined
    })
    expect(Schema.decodeUnknownSync(AgentRegistration.AgentRegistration)(served).registrations).toEqual([
      { agentId: Number(agentId), agentRegistry: `eip155:${chain.chainId}:${chain.registry}` }
    ])
    expect(served).toMatchObject({
      provenance: { framework: "autoresearch", metricName: "val_bpb", metricValue: "0.9812" }
    })
  })

  it("tombstones the adopted agent when its offer is deleted", async () => {
    const agentId = minted.get("mine") ?? -1n
    await deleteOffer("mine")
    const tomb = await read("tokenURI", agentId)
    expect(Tombstone.parse(tomb)).toMatchObject({ active: false, registrations: [{ agentId: Number(agentId) }] })
    expect((await registeredEvents()).length).toBe(2)
  })

  it("refuses an agent another key minted: Failed/AgentNotOwned naming both addresses, nothing minted, offer Ready", async () => {
    const agentId = minted.get("theirs") ?? -1n
    const owner = signerOf(Chain.devKeys.payer).address
    const registrar = signerOf(Chain.devKeys.seller).address
    await createOffer("theirs", agentId)

    const refused = await eventually("the adoption to be refused", async () => {
      const status = await registrationStatus("theirs")
      return status?.phase === "Failed" ? status : undefined
    })
    expect(refused.reason).toBe("AgentNotOwned")
    expect(refused.errorMessage).toContain(`is owned by ${owner}`)
    expect(refused.errorMessage).toContain(`the registrar's signer ${registrar} is neither its owner nor approved`)
    expect(refused.errorMessage).toContain("remove status.agentId from the ServiceOffer to mint a new agent")
    expect(refused.agentId).toBeUndefined()
    expect(await read("tokenURI", agentId)).toBe(oldURI)
    expect((await registeredEvents()).length).toBe(2)

    // Registration never blocks traffic; the offer keeps monetize.py's agentId.
    const offer = await StandIns.ready(namespace(), "theirs")
    expect(offer.status.agentId).toBe(agentId.toString())
  })

  it("deletes the refused offer without touching the agent", async () => {
    const agentId = minted.get("theirs") ?? -1n
    await deleteOffer("theirs")
    expect(await read("tokenURI", agentId)).toBe(oldURI)
    expect((await registeredEvents()).length).toBe(2)
  })
})
