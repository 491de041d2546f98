/**
 * Adoption of an agent minted before the registrar (obol-stack's monetize.py wrote its id to the
 * ServiceOffer's status.agentId; the controller copies it to `spec.existingAgentId`): the
 * decision (owned, approved, someone else's, missing), the crash-safety of its `setAgentURI`, and
 * delete. Against the MemoryChain; the anvil version is `Adoption.integration.test.ts`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Result } from "effect"
import { TestClock } from "effect/testing"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import { ChainError } from "@obol/chain/ChainError"
import * as Signer from "@obol/chain/Signer"
import * as KubeClient from "@obol/kube/KubeClient"
import * as Tombstone from "@obol/registrar/Tombstone"
import {
  agentRegistry,
  crash,
  get,
  patchSpec,
  phases,
  registry,
  remove,
  request,
  run,
  settle,
  signer,
  start,
  status,
  uri,
  type World,
  world
} from "./utils/World.ts"

/** Another key (anvil's payer): the monetize.py remote-signer that minted in the other cases. */
const stranger = Result.getOrThrow(
  Signer.fromPrivateKey("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
)
const oldURI = "http://obol.stack:8080/.well-known/agent-registration.json"

/** Mints an agent the way monetize.py did, before any registrar runs; returns its id. */
const mintedBefore = (w: World, owner: Signer.Signer, agentURI = oldURI) =>
  Effect.gen(function* () {
    const chain = w.chain.connect({ chainId: 84532, rpcUrl: "http://rpc.invalid", registry })
    return (yield* chain.awaitRegistration(yield* chain.register(owner, agentURI))).agentId
  })

const createAdopting = (name: string, existingAgentId: bigint) =>
  KubeClient.KubeClient.use((c) =>
    c.create(RegistrationRequest, {
      ...request(name),
      spec: { ...request(name).spec, existingAgentId: existingAgentId.toString() }
    })
  )

describe("registrar adoption", () => {
  it.effect(
    "adopts an agent its signer minted: setAgentURI to our URI, Confirmed/Adopted with the agentId, never a second mint",
    () => {
      const w = world()
      return run(
        w,
        Effect.gen(function* () {
          const agentId = yield* mintedBefore(w, signer)
          yield* start
          yield* createAdopting("weather", agentId)
          yield* settle
          const adopted = yield* status("weather")
          expect(adopted).toMatchObject({
            phase: "Confirmed",
            reason: "Adopted",
            agentId: "0",
            agentURI: uri("weather"),
            agentRegistry
          })
          expect(adopted.txHash).toMatch(/^0x[0-9a-f]{64}$/u)
          expect(adopted.errorMessage).toBeUndefined()
          expect(adopted.searchFromBlock).toBeUndefined()
          expect(w.chain.agents(registry)).toEqual([{ owner: signer.address, uri: uri("weather") }])
          expect(w.chain.registered(registry)).toHaveLength(1)
          expect(w.chain.sends).toMatchObject({ register: 1, setAgentURI: 1 })
          expect(phases(w)).toEqual(["Pending", "Submitted", "Confirmed"])
          expect(w.events.at(-1)?.note).toBe(
            `adopted agent 0 in ${agentRegistry}: it now points at ${uri("weather")} (tx ${adopted.txHash})`
          )

          // Nothing more on later runs.
          yield* TestClock.adjust("10 minutes")
          yield* settle
          expect(w.chain.sends).toMatchObject({ register: 1, setAgentURI: 1 })
        })
      )
    }
  )

  it.effect("adopts without a transaction when the agent already points at our URI", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        const agentId = yield* mintedBefore(w, signer, uri("weather"))
        yield* start
        yield* createAdopting("weather", agentId)
        yield* settle
        const adopted = yield* status("weather")
        expect(adopted).toMatchObject({ phase: "Confirmed", reason: "Adopted", agentId: "0", agentURI: uri("weather") })
        expect(adopted.txHash).toBeUndefined()
        expect(w.chain.sends).toMatchObject({ register: 1, setAgentURI: 0 })
        expect(phases(w)).toEqual(["Confirmed"])
      })
    )
  })

  it.effect("adopts an agent owned by another key that approved the signer (isAuthorizedOrOwner)", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        const agentId = yield* mintedBefore(w, stranger)
        w.chain.approve(registry, agentId, signer.address)
        yield* start
        yield* createAdopting("weather", agentId)
        yield* settle
        expect(yield* status("weather")).toMatchObject({ phase: "Confirmed", reason: "Adopted", agentId: "0" })
        expect(w.chain.agents(registry)).toEqual([{ owner: stranger.address, uri: uri("weather") }])
      })
    )
  })

  it.effect(
    "refuses an agent another key owns: Failed/AgentNotOwned naming both addresses and the way out, nothing minted or sent",
    () => {
      const w = world()
      return run(
        w,
        Effect.gen(function* () {
          const agentId = yield* mintedBefore(w, stranger)
          yield* start
          yield* createAdopting("weather", agentId)
          yield* settle
          const refused = yield* status("weather")
          expect(refused).toEqual({
            phase: "Failed",
            reason: "AgentNotOwned",
            errorMessage: `agent 0 (spec.existingAgentId) in ${agentRegistry} is owned by ${stranger.address}, and the registrar's signer ${signer.address} is neither its owner nor approved for it, so it cannot be adopted; nothing was minted. Transfer the agent to ${signer.address} (or approve ${signer.address} for it), or remove status.agentId from the ServiceOffer to mint a new agent`,
            observedGeneration: 1
          })
          expect(w.chain.sends).toMatchObject({ register: 1, setAgentURI: 0 })
          expect(w.chain.agents(registry)).toEqual([{ owner: stranger.address, uri: oldURI }])
          expect(phases(w)).toEqual(["Failed"])
          expect(w.events[0]?.type).toBe("Warning")

          // Not retried on the error backoff; looked at again every minute, so a transfer or an
          // approval is picked up without touching the request.
          const calls = w.chain.calls
          yield* TestClock.adjust("30 seconds")
          yield* settle
          expect(w.chain.calls).toBe(calls)
          w.chain.approve(registry, agentId, signer.address)
          yield* TestClock.adjust("30 seconds")
          yield* settle
          expect(yield* status("weather")).toMatchObject({ phase: "Confirmed", reason: "Adopted", agentId: "0" })
          expect(w.chain.sends).toMatchObject({ register: 1, setAgentURI: 1 })
        })
      )
    }
  )

  it.effect("refuses an agent that does not exist: Failed/AgentNotFound, nothing minted", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        yield* start
        yield* createAdopting("weather", 42n)
        yield* settle
        expect(yield* status("weather")).toMatchObject({
          phase: "Failed",
          reason: "AgentNotFound",
          errorMessage: `agent 42 (spec.existingAgentId) does not exist in ${agentRegistry}, so it cannot be adopted; nothing was minted. If it was minted on another chain or registry, register there; or remove status.agentId from the ServiceOffer to mint a new agent`
        })
        expect(w.chain.sends).toMatchObject({ register: 0, setAgentURI: 0 })
      })
    )
  })

  it.effect("mints a new agent once existingAgentId is removed from a refused request, and drops the reason", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        const agentId = yield* mintedBefore(w, stranger)
        yield* start
        yield* createAdopting("weather", agentId)
        yield* settle
        expect((yield* status("weather")).reason).toBe("AgentNotOwned")
        yield* patchSpec("weather", { existingAgentId: null })
        yield* settle
        const minted = yield* status("weather")
        expect(minted).toMatchObject({ phase: "Confirmed", agentId: "1", agentURI: uri("weather") })
        expect(minted.reason).toBeUndefined()
        expect(w.chain.agents(registry)[1]).toEqual({ owner: signer.address, uri: uri("weather") })
      })
    )
  })

  it.effect(
    "a crash between setAgentURI and the status write: the restart sees our URI and sends nothing again",
    () => {
      const w = world()
      return run(
        w,
        Effect.gen(function* () {
          const agentId = yield* mintedBefore(w, signer)
          w.chain.afterSend = () => Effect.never
          const doomed = yield* start
          yield* createAdopting("weather", agentId)
          yield* settle
          yield* crash(doomed)
          w.chain.afterSend = undefined
          // The agent reached status before the send; the hash never did.
          const before = yield* status("weather")
          expect(before).toMatchObject({ phase: "Pending", agentId: "0" })
          expect(before.txHash).toBeUndefined()

          yield* start
          yield* settle
          expect(yield* status("weather")).toMatchObject({ phase: "Confirmed", reason: "Adopted", agentId: "0" })
          expect(w.chain.sends).toMatchObject({ register: 1, setAgentURI: 1 })
        })
      )
    }
  )

  it.effect("a reverted setAgentURI: Failed with the revert, the hash forgotten, adopted on the retry", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        const agentId = yield* mintedBefore(w, signer)
        w.chain.revertNext("setAgentURI", "Not authorized")
        yield* start
        yield* createAdopting("weather", agentId)
        yield* settle
        const failed = yield* status("weather")
        expect(failed).toMatchObject({
          phase: "Failed",
          agentId: "0",
          errorMessage: "Reverted: reverted: Not authorized"
        })
        expect(failed.txHash).toBeUndefined()
        expect(failed.reason).toBeUndefined()
        yield* TestClock.adjust("2 seconds")
        yield* settle
        expect(yield* status("weather")).toMatchObject({ phase: "Confirmed", reason: "Adopted", agentId: "0" })
        expect(w.chain.sends).toMatchObject({ register: 1, setAgentURI: 2 })
      })
    )
  })

  it.effect("RPC down while adopting: Failed with the reason and retried on the backoff, then adopted", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        const agentId = yield* mintedBefore(w, signer)
        w.chain.failNext("read", new ChainError({ reason: "Rpc", message: "connect ECONNREFUSED" }), 2)
        yield* start
        yield* createAdopting("weather", agentId)
        yield* settle
        expect(yield* status("weather")).toMatchObject({ phase: "Failed", errorMessage: "Rpc: connect ECONNREFUSED" })
        yield* TestClock.adjust("5 seconds")
        yield* settle
        expect(yield* status("weather")).toMatchObject({ phase: "Confirmed", reason: "Adopted", agentId: "0" })
        expect(w.chain.sends.register).toBe(1)
      })
    )
  })

  it.effect("deleting an adopted request tombstones the agent like a minted one", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        const agentId = yield* mintedBefore(w, signer)
        yield* start
        yield* createAdopting("weather", agentId)
        yield* settle
        yield* remove("weather")
        yield* settle
        expect(yield* get("weather")).toEqual(Option.none())
        expect(Tombstone.parse(w.chain.agents(registry)[0]?.uri ?? "")).toMatchObject({
          active: false,
          registrations: [{ agentId: 0, agentRegistry }]
        })
        expect(phases(w)).toContain("Tombstoned")
      })
    )
  })

  it.effect("deleting a request adopted through an approval tombstones it too", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        const agentId = yield* mintedBefore(w, stranger)
        w.chain.approve(registry, agentId, signer.address)
        yield* start
        yield* createAdopting("weather", agentId)
        yield* settle
        yield* remove("weather")
        yield* settle
        expect(yield* get("weather")).toEqual(Option.none())
        expect(Tombstone.parse(w.chain.agents(registry)[0]?.uri ?? "")).toMatchObject({ active: false })
      })
    )
  })

  it.effect("deleting a refused request lets it go without touching the agent", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        const agentId = yield* mintedBefore(w, stranger)
        yield* start
        yield* createAdopting("weather", agentId)
        yield* settle
        yield* remove("weather")
        yield* settle
        expect(yield* get("weather")).toEqual(Option.none())
        expect(w.chain.agents(registry)).toEqual([{ owner: stranger.address, uri: oldURI }])
        expect(w.chain.sends.setAgentURI).toBe(0)
      })
    )
  })

  it.effect("a request that already holds a minted agent ignores a later existingAgentId", () => {
    const w = world()
    return run(
      w,
      Effect.gen(function* () {
        const other = yield* mintedBefore(w, signer)
        yield* start
        yield* KubeClient.KubeClient.use((c) => c.create(RegistrationRequest, request("weather")))
        yield* settle
        expect(yield* status("weather")).toMatchObject({ phase: "Confirmed", agentId: "1" })
        yield* patchSpec("weather", { existingAgentId: other.toString() })
        yield* settle
        expect(yield* status("weather")).toMatchObject({ phase: "Confirmed", agentId: "1" })
        expect(w.chain.sends).toMatchObject({ register: 2, setAgentURI: 0 })
        expect(w.chain.agents(registry)[0]?.uri).toBe(oldURI)
      })
    )
  })

  it.effect("no signer: OffChainOnly, saying the agent is adopted once one is configured", () => {
    const w = world()
    w.signers.clear()
    return run(
      w,
      Effect.gen(function* () {
        yield* start
        yield* createAdopting("weather", 3n)
        yield* settle
        expect(yield* status("weather")).toMatchObject({
          phase: "OffChainOnly",
          errorMessage:
            "no signer configured: Secret obol-system/registrar-signer has no key privateKey; agent 3 is adopted once a signer is configured"
        })
      })
    )
  })
})
