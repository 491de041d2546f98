/**
 * The registrar's unit-test world: FakeKube, a MemoryChain, an in-memory signer Secret and
 * recorded Events, with helpers to start, crash and drive the registrar under `TestClock`.
 */
import { Effect, Fiber, Layer, Option, Result } from "effect"
import { TestClock } from "effect/testing"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import * as Signer from "@obol/chain/Signer"
import * as MemoryChain from "@obol/chain/testing/MemoryChain"
import * as EventRecorder from "@obol/controller/EventRecorder"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as Registrar from "@obol/registrar/Registrar"
import * as RegistrarReconciler from "@obol/registrar/RegistrarReconciler"
import * as Signers from "@obol/registrar/Signers"
import * as Idle from "@obol/controller/testing/Idle"

export const registry = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
export const agentRegistry = `eip155:84532:${registry}`
export const ns = "sellers"
export const signer = Result.getOrThrow(
  Signer.fromPrivateKey("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a")
)
export const uri = (name: string) => `https://seller.example/.well-known/agent-registration.json?offer=${ns}/${name}`

export const request = (name: string) => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "RegistrationRequest",
  metadata: { name: `${name}-registration`, namespace: ns },
  spec: { name, endpoint: `https://seller.example/services/${name}`, agentURI: uri(name), chain: "base-sepolia" }
})

/** Waits until no fiber can run (`Idle.quiesce`; `run` provides the idle signal). */
export const settle = Idle.quiesce

export interface World {
  readonly chain: MemoryChain.MemoryChain
  readonly signers: Map<string, Signer.Signer>
  readonly events: Array<EventRecorder.Published>
}

export const world = (): World => ({
  chain: MemoryChain.make(),
  signers: new Map([["registrar-signer", signer]]),
  events: []
})

export const services = (w: World, settings: Partial<RegistrarReconciler.Settings> = {}) =>
  Layer.mergeAll(
    RegistrarReconciler.RegistrarSettings.layer({
      chains: [{ names: ["base-sepolia"], chainId: 84532, rpcUrl: "http://rpc.invalid", registry }],
      ...settings
    }),
    MemoryChain.layer(w.chain),
    Signers.layerMemory(w.signers),
    EventRecorder.layerMemory(w.events)
  )

/** Starts a registrar. */
export const start = Effect.gen(function* () {
  const fiber = yield* Registrar.run().pipe(Effect.forkChild)
  yield* settle
  return fiber
})

/** Stops a registrar the hard way: a reconcile stuck mid-flight is interrupted after the drain timeout. */
export const crash = (fiber: Fiber.Fiber<unknown, unknown>) =>
  Effect.gen(function* () {
    const stopping = yield* Fiber.interrupt(fiber).pipe(Effect.forkChild)
    yield* settle
    yield* TestClock.adjust("1 minute")
    yield* Fiber.join(stopping)
  })

export const get = (name: string) =>
  KubeClient.KubeClient.use((c) =>
    KubeError.ignoreNotFound(c.get(RegistrationRequest, { namespace: ns, name: `${name}-registration` }))
  )
export const status = (name: string) => Effect.map(get(name), (o) => Option.getOrThrow(o).status ?? {})
export const create = (name: string) => KubeClient.KubeClient.use((c) => c.create(RegistrationRequest, request(name)))
export const patchSpec = (name: string, spec: object) =>
  KubeClient.KubeClient.use((c) =>
    c.patch(RegistrationRequest, { namespace: ns, name: `${name}-registration` }, { type: "merge", patch: { spec } })
  )

/** A registrar running, and one request created and reconciled. */
export const startWith = (name: string) =>
  Effect.gen(function* () {
    yield* start
    yield* create(name)
    yield* settle
  })

export const remove = (name: string) =>
  KubeClient.KubeClient.use((c) => c.delete(RegistrationRequest, { namespace: ns, name: `${name}-registration` }))

/** A registrar whose process dies right after the chain accepted its transaction: before it learns the hash. */
export const startDyingAfterSend = (w: World, name: string) =>
  Effect.gen(function* () {
    w.chain.afterSend = () => Effect.never
    const doomed = yield* start
    yield* create(name)
    yield* settle
    yield* crash(doomed)
    w.chain.afterSend = undefined
  })

export const phases = (w: World) => w.events.map((e) => e.reason)

export const run = <A, E, R>(w: World, body: Effect.Effect<A, E, R>, settings = {}) =>
  body.pipe(Effect.provide(Layer.merge(Layer.fresh(FakeKube.layer), services(w, settings))), Idle.provide)
