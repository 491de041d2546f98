/**
 * Registration end to end on the real API server, anvil and our IdentityRegistry: the
 * serviceoffer-controller and the registrar in-process, the test playing the verifier and the
 * Gateway. An offer with registration enabled is Ready while the chain RPC is down (registration
 * never blocks traffic); once the RPC is back the registrar confirms it, the offer carries the
 * on-chain agentId, the agent's tokenURI is the controller's well-known URL, and the document
 * served there lists the registration. Deleting the offer tombstones the agent on chain.
 */
import { Effect, Fiber, Layer, Schema, Scope, Exit } from "effect"
import { HttpRouter } from "effect/http"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import * as AgentRegistration from "@obol/api/AgentRegistration"
import * as ChainClient from "@obol/chain/ChainClient"
import { identityRegistryAbi } from "@obol/chain/IdentityRegistryAbi"
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
import * as RpcProxy from "@obol/test-envs/chain/RpcProxy"
import * as StandIns from "@obol/test-envs/vitest/StandIns"
import { eventually, request, useNamespace } from "@obol/test-envs/vitest/TestCluster"

const namespace = useNamespace("registration")
const scope = Effect.runSync(Scope.make())
const publicBaseUrl = "https://seller.example"
const identity = { name: "Obol seller", description: "Services sold with x402", publicBaseUrl }
let chain: Chain.Chain
let proxy: RpcProxy.RpcProxy
let wellKnown: (request: Request) => Promise<Response>
const fibers: Array<Fiber.Fiber<unknown, unknown>> = []

const obol = (plural: string, name: string) => `/apis/obol.org/v1alpha1/namespaces/${namespace()}/${plural}/${name}`

beforeAll(async () => {
  chain = await Effect.runPromise(Scope.provide(Chain.start(), scope))
  proxy = await Effect.runPromise(Scope.provide(RpcProxy.start(chain.rpcUrl), scope))
  proxy.down = true
  const secret = await request("POST", `/api/v1/namespaces/${namespace()}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "registrar-signer", namespace: namespace() },
    data: { privateKey: Buffer.from(Chain.devKeys.seller).toString("base64") }
  })
  if (secret.status !== 201) throw new Error(`creating the signer Secret: ${secret.status} ${secret.body}`)

  const kube = NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layerFromFile(inject("kubeconfig"))), Layer.orDie)
  const events = EventRecorder.layer({ controller: "obol.org/registrar", instance: "test" })
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
          chains: [{ names: ["base-sepolia"], chainId: chain.chainId, rpcUrl: proxy.url, registry: chain.registry }]
        }),
        ChainClient.layer({ pollingIntervalMillis: 100 }),
        Signers.layer({ namespace: namespace(), secret: "registrar-signer" }),
        events
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

const registrationStatus = async () =>
  (await request("GET", obol("registrationrequests", "weather-registration"))).json?.status
const registered = async () =>
  ((await request("GET", obol("serviceoffers", "weather"))).json?.status?.conditions ?? []).find(
    (c: { type: string }) => c.type === "Registered"
  )
const tokenURI = (agentId: bigint) =>
  chain.client.readContract({
    address: chain.registry,
    abi: identityRegistryAbi,
    functionName: "tokenURI",
    args: [agentId]
  })

describe("ServiceOffer registration with the registrar", () => {
  it("keeps the offer Ready while the chain RPC is down, then registers it once the RPC is back", async () => {
    const created = await request("POST", `/apis/obol.org/v1alpha1/namespaces/${namespace()}/serviceoffers`, {
      apiVersion: "obol.org/v1alpha1",
      kind: "ServiceOffer",
      metadata: { name: "weather", namespace: namespace() },
      spec: {
        upstream: { service: "weather", port: 8080 },
        payment: {
          network: "base-sepolia",
          payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
          price: { perRequest: "0.001" }
        },
        registration: { enabled: true, name: "Weather", description: "Forecasts, paid per request" }
      }
    })
    expect(created.status, created.body).toBe(201)
    await StandIns.admit(namespace(), "weather")
    await StandIns.accept(namespace(), "weather")
    await StandIns.ready(namespace(), "weather")

    // The registrar fails and retries against the dead RPC; the offer keeps serving.
    const failing = await eventually("the registrar to fail against the dead RPC", async () => {
      const status = await registrationStatus()
      return status?.phase === "Failed" && proxy.sends() === 0 ? status : undefined
    })
    expect(failing.errorMessage).toMatch(/^Rpc: /u)
    await eventually("Registered to mirror the failure", async () => {
      const condition = await registered()
      return condition?.status === "False" && condition.reason === "RegistrationFailed" ? true : undefined
    })
    const stillReady = await StandIns.ready(namespace(), "weather")
    expect(stillReady.status.agentId).toBeUndefined()

    proxy.down = false
    const confirmed = await eventually("the registration to be Confirmed", async () => {
      const status = await registrationStatus()
      return status?.phase === "Confirmed" ? status : undefined
    })
    const agentId = BigInt(confirmed.agentId)
    const offer = await eventually("the agentId on the offer", async () => {
      const r = (await request("GET", obol("serviceoffers", "weather"))).json
      return r?.status?.agentId === confirmed.agentId ? r : undefined
    })
    expect(offer.status.registrationTxHash).toBe(confirmed.txHash)
    expect((await registered())?.status).toBe("True")
    expect(
      (offer.status.conditions as Array<{ type: string; status: string }>).find((c) => c.type === "Ready")?.status
    ).toBe("True")

    // tokenURI is the controller's well-known URL for this offer, and the document served there
    // is registration-v1 with this registration in it.
    const agentURI = `${publicBaseUrl}/.well-known/agent-registration.json?offer=${namespace()}/weather`
    expect(await tokenURI(agentId)).toBe(agentURI)
    const served = await eventually("the document to list the registration", async () => {
      const res = await wellKnown(new Request(agentURI))
      const doc = (res.status === 200 ? await res.json() : undefined) as { registrations?: Array<unknown> } | undefined
      return doc?.registrations?.length === 1 ? doc : undefined
    })
    const doc = Schema.decodeUnknownSync(AgentRegistration.AgentRegistration)(served)
    expect(doc.registrations).toEqual([
      { agentId: Number(agentId), agentRegistry: `eip155:${chain.chainId}:${chain.registry}` }
    ])
    expect(doc).toMatchObject({ name: "Weather", description: "Forecasts, paid per request", active: true })
  })

  it("tombstones the agent on chain when the offer is deleted, then lets the offer go", async () => {
    const agentId = BigInt((await registrationStatus()).agentId)
    expect((await request("DELETE", obol("serviceoffers", "weather"))).status).toBe(200)
    await eventually("the offer to be gone", async () =>
      (await request("GET", obol("serviceoffers", "weather"))).status === 404 ? true : undefined
    )
    const tomb = await tokenURI(agentId)
    expect(tomb).toMatch(/^data:application\/json;base64,/u)
    expect(Schema.decodeUnknownSync(AgentRegistration.AgentRegistration)(Tombstone.parse(tomb))).toMatchObject({
      active: false,
      registrations: [{ agentId: Number(agentId) }]
    })
    expect((await request("GET", obol("registrationrequests", "weather-registration"))).status).toBe(404)

    // Every phase change is an Event on the request.
    const events = await request("GET", `/apis/events.k8s.io/v1/namespaces/${namespace()}/events`)
    const reasons = (events.json.items as Array<{ reason: string; regarding: { name: string } }>)
      .filter((e) => e.regarding.name === "weather-registration")
      .map((e) => e.reason)
    expect(new Set(reasons)).toEqual(new Set(["Failed", "Pending", "Submitted", "Confirmed", "Tombstoned"]))
  })
})
