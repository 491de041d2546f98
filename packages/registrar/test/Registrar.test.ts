import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Result, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as AgentRegistration from "@obol/api/AgentRegistration"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import * as ChainClient from "@obol/chain/ChainClient"
import { ChainError } from "@obol/chain/ChainError"
import * as Signer from "@obol/chain/Signer"
import * as MemoryChain from "@obol/chain/testing/MemoryChain"
import * as EventRecorder from "@obol/controller/EventRecorder"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as Registrar from "@obol/registrar/Registrar"
import * as RegistrarReconciler from "@obol/registrar/RegistrarReconciler"
import * as Signers from "@obol/registrar/Signers"
import * as Tombstone from "@obol/registrar/Tombstone"

const registry = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
const agentRegistry = `eip155:84532:${registry}`
const ns = "sellers"
const signer = Result.getOrThrow(
  Signer.fromPrivateKey("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a")
)
const uri = (name: string) => `https://seller.example/.well-known/agent-registration.json?offer=${ns}/${name}`

const request = (name: string) => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "RegistrationRequest",
  metadata: { name: `${name}-registration`, namespace: ns },
  spec: { name, endpoint: `https://seller.example/services/${name}`, agentURI: uri(name), chain: "base-sepolia" }
})

const settle = Effect.gen(function* () {
  for (let i = 0; i < 200; i++) yield* Effect.yieldNow
})

interface World {
  readonly chain: MemoryChain.MemoryChain
  readonly signers: Map<string, Signer.Signer>
  readonly events: Array<EventRecorder.Published>
}

const world = (): World => ({
  chain: MemoryChain.make(),
  signers: new Map([["registrar-signer", signer]]),
  events: []
})

const services = (w: World, settings: Partial<RegistrarReconciler.Settings> = {}) =>
  Layer.mergeAll(
    RegistrarReconciler.RegistrarSettings.layer({
      chains: [{ names: ["base-sepolia"], chainId: 84532, rpcUrl: "http://rpc.invalid", registry }],
      ...settings
    }),
    ChainClient.layerMemory(w.chain),
    Signers.layerMemory(w.signers),
    EventRecorder.layerMemory(w.events)
  )

/** Starts a registrar. */
const start = Effect.gen(function* () {
  const fiber = yield* Registrar.run().pipe(Effect.forkChild)
  yield* settle
  return fiber
})

/** Stops a registrar the hard way: a reconcile stuck mid-flight is interrupted after the drain timeout. */
const crash = (fiber: Fiber.Fiber<unknown, unknown>) =>
  Effect.gen(function* () {
    const stopping = yield* Fiber.interrupt(fiber).pipe(Effect.forkChild)
    yield* settle
    yield* TestClock.adjust("1 minute")
    yield* Fiber.join(stopping)
  })

const get = (name: string) =>
  KubeClient.KubeClient.use((c) =>
    KubeError.ignoreNotFound(c.get(RegistrationRequest, { namespace: ns, name: `${name}-registration` }))
  )
const status = (name: string) => Effect.map(get(name), (o) => Option.getOrThrow(o).status ?? {})
const create = (name: string) => KubeClient.KubeClient.use((c) => c.create(RegistrationRequest, request(name)))
const patchSpec = (name: string, spec: object) =>
  KubeClient.KubeClient.use((c) =>
    c.patch(RegistrationRequest, { namespace: ns, name: `${name}-registration` }, { type: "merge", patch: { spec } })
  )

/** A registrar running, and one request created and reconciled. */
const startWith = (name: string) =>
  Effect.gen(function* () {
    yield* start
    yield* create(name)
    yield* settle
  })

const remove = (name: string) =>
  KubeClient.KubeClient.use((c) => c.delete(RegistrationRequest, { namespace: ns, name: `${name}-registration` }))

/** A registrar whose process dies right after the chain accepted its transaction: before it learns the hash. */
const startDyingAfterSend = (w: World, name: string) =>
  Effect.gen(function* () {
    w.chain.afterSend = () => Effect.never
    const doomed = yield* start
    yield* create(name)
    yield* settle
    yield* crash(doomed)
    w.chain.afterSend = undefined
  })

const phases = (w: World) => w.events.map((e) => e.reason)

const run = <A, E, R>(w: World, body: Effect.Effect<A, E, R>, settings = {}) =>
  body.pipe(Effect.provide(Layer.merge(Layer.fresh(FakeKube.layer), services(w, settings))))

describe("registrar", () => {
  it.effect(
    "registers: Pending, then Submitted with the hash, then Confirmed with agentId 0, an Event for each",
    () => {
      const w = world()
      return run(
        w,
        Effect.gen(function* () {
          yield* start
          yield* create("weather")
          yield* settle
          expect(yield* status("weather")).toMatchObject({
            phase: "Confirmed",
            agentId: "0",
            agentURI: uri("weather"),
            agentRegistry,
            txHash: w.chain.registered(registry)[0]?.txHash,
            observedGeneration: 1
          })
          expect(phases(w)).toEqual(["Pending", "Submitted", "Confirmed"])
          expect(w.events.at(-1)?.note).toContain("registered as agent 0")
          expect(Option.getOrThrow(yield* get("weather")).metadata.finalizers).toEqual([RegistrarReconciler.finalizer])
          expect(w.chain.agents(registry)).toEqual([{ owner: signer.address, uri: uri("weather") }])
        })
      )
    }
  )

  it.effect("agentId 0 is a real id: a confirmed request is never registered again, also after a restart", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        const first = yield* start
        yield* create("zero")
        yield* settle
        yield* crash(first)
        yield* start
        yield* TestClock.adjust("10 minutes")
        yield* settle
        expect(w.chain.sends.register).toBe(1)
        expect((yield* status("zero")).agentId).toBe("0")
      })
    )
  })

  it.effect(
    "RPC down: Failed with the reason, retried on a capped exponential schedule, Confirmed once it is back",
    () => {
      const w = world()
      w.chain.down = true
      return run(
        w,
        Effect.gen(function* () {
          yield* start
          yield* create("weather")
          yield* settle
          expect(w.chain.calls).toBe(1)
          expect(yield* status("weather")).toMatchObject({ phase: "Failed" })
          expect((yield* status("weather")).errorMessage).toMatch(/^Rpc: .*connect ECONNREFUSED/u)
          // Backoff 1 s, 2 s, 4 s (±10 %): nothing runs early, each retry runs on time.
          const attemptsAfter = function* (millis: number) {
            yield* TestClock.adjust(millis)
            yield* settle
            return w.chain.calls
          }
          expect(yield* attemptsAfter(850)).toBe(1)
          expect(yield* attemptsAfter(300)).toBe(2)
          expect(yield* attemptsAfter(1_500)).toBe(2)
          expect(yield* attemptsAfter(800)).toBe(3)
          expect(yield* attemptsAfter(3_000)).toBe(3)
          expect(yield* attemptsAfter(1_500)).toBe(4)
          w.chain.down = false
          yield* TestClock.adjust("9 seconds")
          yield* settle
          expect(yield* status("weather")).toMatchObject({ phase: "Confirmed", agentId: "0" })
          expect((yield* status("weather")).errorMessage).toBeUndefined()
          expect(phases(w)).toEqual(["Failed", "Pending", "Submitted", "Confirmed"])
          expect(w.events[0]?.type).toBe("Warning")
        })
      )
    }
  )

  it.effect("a revert: Failed with the revert reason, nothing minted, and the retry registers once", () => {
    const w = world()
    w.chain.revertNext("register", "Not authorized")
    return run(
      w,
      Effect.gen(function* () {
        yield* startWith("weather")
        const failed = yield* status("weather")
        expect(failed.phase).toBe("Failed")
        expect(failed.errorMessage).toBe("Reverted: reverted: Not authorized")
        expect(failed.txHash).toBeUndefined()
        expect(w.chain.agents(registry)).toHaveLength(0)
        yield* TestClock.adjust("2 seconds")
        yield* settle
        expect(yield* status("weather")).toMatchObject({ phase: "Confirmed", agentId: "0" })
        expect(w.chain.sends.register).toBe(2)
        expect(w.chain.agents(registry)).toHaveLength(1)
      })
    )
  })

  it.effect("a crash between send and status write: the restart finds the registration and never mints twice", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        yield* startDyingAfterSend(w, "weather")
        expect(w.chain.sends.register).toBe(1)
        const before = yield* status("weather")
        expect(before.phase).toBe("Pending")
        expect(before.txHash).toBeUndefined()
        expect(before.searchFromBlock).toBe(100)

        yield* start
        yield* settle
        expect(yield* status("weather")).toMatchObject({ phase: "Confirmed", agentId: "0" })
        expect(w.chain.sends.register).toBe(1)
        expect(w.chain.registered(registry)).toHaveLength(1)
        expect(w.events.at(-1)?.note).toContain("from an earlier attempt")
      })
    )
  })

  it.effect("a crash after send followed by a new agentURI still finds the sent registration, then moves it", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        yield* startDyingAfterSend(w, "weather")
        const moved = "https://new.example/.well-known/agent-registration.json?offer=sellers/weather"
        yield* patchSpec("weather", { agentURI: moved })
        yield* start
        yield* TestClock.adjust("1 second")
        yield* settle
        expect(w.chain.sends.register).toBe(1)
        expect(w.chain.agents(registry)).toEqual([{ owner: signer.address, uri: moved }])
        expect(yield* status("weather")).toMatchObject({ phase: "Confirmed", agentId: "0", agentURI: moved })
      })
    )
  })

  it.effect("a registry changed after confirmation is reported, never registered a second time silently", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        yield* startWith("weather")
        const other = "0x8004A818BFB912233c491871b3d84c89A494BD9e"
        yield* patchSpec("weather", { registry: other })
        yield* settle
        expect(w.chain.sends).toMatchObject({ register: 1, setAgentURI: 0 })
        expect(yield* status("weather")).toMatchObject({
          phase: "Confirmed",
          agentId: "0",
          errorMessage: `registered as agent 0 in ${agentRegistry}, but the request now names eip155:84532:${other}; delete and recreate the request to register there`
        })
        expect(phases(w)).toContain("RegistryChanged")
      })
    )
  })

  it.effect("no signer: OffChainOnly without a finalizer, and registered once a signer appears", () => {
    const w = world()
    w.signers.clear()
    return run(
      w,
      Effect.gen(function* () {
        yield* startWith("weather")
        const offChain = Option.getOrThrow(yield* get("weather"))
        expect(offChain.status).toMatchObject({
          phase: "OffChainOnly",
          errorMessage: "no signer configured: Secret obol-system/registrar-signer has no key privateKey"
        })
        expect(offChain.metadata.finalizers).toBeUndefined()
        expect(w.chain.calls).toBe(0)

        w.signers.set("registrar-signer", signer)
        yield* TestClock.adjust("1 minute")
        yield* settle
        expect(yield* status("weather")).toMatchObject({ phase: "Confirmed", agentId: "0" })
      })
    )
  })

  it.effect("registration disabled: OffChainOnly, nothing sent", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        yield* startWith("weather")
        expect((yield* status("weather")).phase).toBe("OffChainOnly")
        expect(w.chain.calls).toBe(0)
      }),
      { enabled: false }
    )
  })

  it.effect("deletion tombstones the agent with an active:false data document, then releases the finalizer", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        yield* startWith("weather")
        yield* remove("weather")
        yield* settle
        expect(yield* get("weather")).toEqual(Option.none())
        const tomb = w.chain.agents(registry)[0]?.uri ?? ""
        expect(tomb).toMatch(/^data:application\/json;base64,/u)
        const doc = Schema.decodeUnknownSync(AgentRegistration.AgentRegistration)(Tombstone.parse(tomb))
        expect(doc).toMatchObject({ active: false, x402Support: false, registrations: [{ agentId: 0, agentRegistry }] })
        expect(phases(w)).toContain("Tombstoned")
      })
    )
  })

  it.effect("deletion after a crash before the hash was recorded still finds and tombstones the agent", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        yield* startDyingAfterSend(w, "weather")
        yield* remove("weather")
        yield* start
        yield* settle
        expect(yield* get("weather")).toEqual(Option.none())
        expect(Tombstone.parse(w.chain.agents(registry)[0]?.uri ?? "")).toMatchObject({ active: false })
        expect(w.chain.sends.register).toBe(1)
      })
    )
  })

  it.effect(
    "deletion with a reverted transaction on record still finds the earlier registration and tombstones it",
    () => {
      const w = world()
      return run(
        w,
        Effect.gen(function* () {
          // An earlier attempt minted agent 0 and crashed; a later send reverted and left its hash behind.
          const chain = w.chain.connect({ chainId: 84532, rpcUrl: "http://rpc.invalid", registry })
          yield* chain.register(signer, uri("weather"))
          w.chain.revertNext("register", "boom")
          const reverted = yield* chain.register(signer, uri("weather"))
          const client = yield* KubeClient.KubeClient
          const created = yield* client.create(RegistrationRequest, {
            ...request("weather"),
            metadata: { ...request("weather").metadata, finalizers: [RegistrarReconciler.finalizer] }
          })
          yield* client.patch(
            RegistrationRequest,
            { namespace: ns, name: created.metadata.name ?? "" },
            { type: "merge", patch: { status: { phase: "Submitted", txHash: reverted, searchFromBlock: 100 } } },
            { subresource: "status" }
          )
          yield* remove("weather")
          yield* start
          yield* settle
          expect(yield* get("weather")).toEqual(Option.none())
          expect(Tombstone.parse(w.chain.agents(registry)[0]?.uri ?? "")).toMatchObject({ active: false })
        })
      )
    }
  )

  it.effect("a tombstone that cannot be sent keeps the finalizer and retries", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        yield* startWith("weather")
        w.chain.failNext("setAgentURI", new ChainError({ reason: "InsufficientFunds", message: "no gas" }))
        yield* remove("weather")
        yield* settle
        expect(Option.isSome(yield* get("weather"))).toBe(true)
        expect(w.chain.agents(registry)[0]?.uri).toBe(uri("weather"))
        yield* TestClock.adjust("2 seconds")
        yield* settle
        expect(yield* get("weather")).toEqual(Option.none())
        expect(Tombstone.parse(w.chain.agents(registry)[0]?.uri ?? "")).toMatchObject({ active: false })
      })
    )
  })

  it.effect("a new agentURI (the public URL moved) is followed on chain with setAgentURI", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        yield* startWith("weather")
        const moved = "https://new.example/.well-known/agent-registration.json?offer=sellers/weather"
        yield* patchSpec("weather", { agentURI: moved })
        yield* settle
        expect(w.chain.agents(registry)[0]?.uri).toBe(moved)
        expect(yield* status("weather")).toMatchObject({ phase: "Confirmed", agentId: "0", agentURI: moved })
        expect(w.chain.sends.register).toBe(1)
        expect(phases(w)).toContain("URIUpdated")
      })
    )
  })

  it.effect("an unknown chain is Failed with what to configure", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        yield* start
        yield* KubeClient.KubeClient.use((c) =>
          c.create(RegistrationRequest, { ...request("x"), spec: { ...request("x").spec, chain: "eip155:1" } })
        )
        yield* settle
        expect(yield* status("x")).toMatchObject({
          phase: "Failed",
          errorMessage: "chain eip155:1 is not configured in the registrar (CHAINS_JSON)"
        })
      })
    )
  })
})
