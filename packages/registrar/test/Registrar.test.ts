import { describe, expect, it } from "@effect/vitest"
import { Effect, Latch, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as AgentRegistration from "@obol/api/AgentRegistration"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import { ChainError } from "@obol/chain/ChainError"
import * as KubeClient from "@obol/kube/KubeClient"
import * as RegistrarReconciler from "@obol/registrar/RegistrarReconciler"
import * as Tombstone from "@obol/registrar/Tombstone"
import {
  agentRegistry,
  crash,
  create,
  get,
  ns,
  patchSpec,
  phases,
  registry,
  remove,
  request,
  run,
  settle,
  signer,
  start,
  startDyingAfterSend,
  startWith,
  status,
  uri,
  world
} from "./utils/World.ts"

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
          // Backoff 1 s, 2 s, 4 s (±10 %): nothing runs early, each retry runs on time. Retries are
          // due within [0.9, 1.1] s, [2.7, 3.3] s and [6.3, 7.7] s of the first failure.
          const attemptsAfter = function* (millis: number) {
            yield* TestClock.adjust(millis)
            yield* settle
            return w.chain.calls
          }
          expect(yield* attemptsAfter(850)).toBe(1) // 0.85 s
          expect(yield* attemptsAfter(300)).toBe(2) // 1.15 s
          expect(yield* attemptsAfter(1_500)).toBe(2) // 2.65 s
          expect(yield* attemptsAfter(800)).toBe(3) // 3.45 s
          expect(yield* attemptsAfter(2_800)).toBe(3) // 6.25 s
          expect(yield* attemptsAfter(1_500)).toBe(4) // 7.75 s
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

  it.effect(
    "a URI follow-up takes the signer's lock: nothing is sent while another request of the signer is sending",
    () => {
      const w = world()
      const registering = Latch.makeUnsafe()
      return run(
        w,
        Effect.gen(function* () {
          yield* startWith("weather")
          // The next register is accepted by the node and then held before its hash comes back:
          // the signer's lock is taken and its nonce is being used.
          w.chain.afterSend = (operation) => (operation === "register" ? registering.await : Effect.void)
          yield* create("news")
          yield* settle
          const moved = "https://new.example/.well-known/agent-registration.json?offer=sellers/weather"
          yield* patchSpec("weather", { agentURI: moved })
          yield* settle
          expect(w.chain.sends).toMatchObject({ register: 2, setAgentURI: 0 })

          yield* registering.open
          yield* settle
          expect(w.chain.sends).toMatchObject({ register: 2, setAgentURI: 1 })
          expect(yield* status("weather")).toMatchObject({ phase: "Confirmed", agentId: "0", agentURI: moved })
          expect(yield* status("news")).toMatchObject({ phase: "Confirmed", agentId: "1" })
        }).pipe(Effect.ensuring(registering.open))
      )
    }
  )

  it.effect(
    "a tombstone takes the signer's lock: nothing is sent while another request of the signer is sending",
    () => {
      const w = world()
      const registering = Latch.makeUnsafe()
      return run(
        w,
        Effect.gen(function* () {
          yield* startWith("weather")
          w.chain.afterSend = (operation) => (operation === "register" ? registering.await : Effect.void)
          yield* create("news")
          yield* settle
          yield* remove("weather")
          yield* settle
          expect(w.chain.sends).toMatchObject({ register: 2, setAgentURI: 0 })

          yield* registering.open
          yield* settle
          expect(yield* get("weather")).toEqual(Option.none())
          expect(Tombstone.parse(w.chain.agents(registry)[0]?.uri ?? "")).toMatchObject({ active: false })
          expect(w.chain.sends).toMatchObject({ register: 2, setAgentURI: 1 })
        }).pipe(Effect.ensuring(registering.open))
      )
    }
  )

  it.effect("a crash after a URI follow-up was sent: the restart finds the agent moved and sends nothing again", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        const first = yield* start
        yield* create("weather")
        yield* settle
        w.chain.afterSend = (operation) => (operation === "setAgentURI" ? Effect.never : Effect.void)
        const moved = "https://new.example/.well-known/agent-registration.json?offer=sellers/weather"
        yield* patchSpec("weather", { agentURI: moved })
        yield* settle
        yield* crash(first)
        w.chain.afterSend = undefined
        expect(w.chain.sends.setAgentURI).toBe(1)

        yield* start
        yield* TestClock.adjust("10 seconds")
        yield* settle
        expect(w.chain.sends).toMatchObject({ register: 1, setAgentURI: 1 })
        expect(w.chain.agents(registry)).toEqual([{ owner: signer.address, uri: moved }])
        expect(yield* status("weather")).toMatchObject({ phase: "Confirmed", agentId: "0", agentURI: moved })
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
