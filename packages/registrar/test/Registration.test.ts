/**
 * The registrar's decisions, one transition per row: given the request (spec and status as values)
 * and what was observed, the next step. Pure: no Kubernetes, no chain, no clock. The reconciler
 * that performs these steps is covered by `Registrar.test.ts` and `Adoption.test.ts`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Option, Result } from "effect"
import { ChainError } from "@obol/chain/ChainError"
import * as Signer from "@obol/chain/Signer"
import { KubeError } from "@obol/kube/KubeError"
import * as Registration from "@obol/registrar/Registration"
import * as Tombstone from "@obol/registrar/Tombstone"
import { agentRegistry, signer, uri } from "./utils/World.ts"

const spec = {
  name: "weather",
  endpoint: "https://seller.example/services/weather",
  agentURI: uri("weather"),
  chain: "base-sepolia"
}
const older = "https://old.example/.well-known/agent-registration.json?offer=sellers/weather"
const hash = `0x${"a".repeat(64)}` as const
const sentHash = `0x${"b".repeat(64)}` as const
const stranger = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as const
const rpc = new ChainError({ reason: "Rpc", message: "connect ECONNREFUSED" })
const reverted = new ChainError({ reason: "Reverted", message: "reverted: Not authorized" })

const inputOf = (overrides: Partial<Registration.Input> = {}): Registration.Input => ({
  spec,
  read: {},
  deleting: false,
  hasFinalizer: true,
  enabled: true,
  target: Result.succeed(agentRegistry),
  secret: { namespace: "obol-system", name: "registrar-signer", key: "privateKey" },
  ...overrides
})
/** A run that has read the status `status` and holds the signer. */
const at = (status: Registration.Status, observed: Registration.Observed = {}) => ({
  input: inputOf({ read: status }),
  state: { status, observed: { signer: Result.succeed(Option.some(signer)), ...observed } }
})
const registration = (agentId: bigint, agentURI = uri("weather"), txHash: `0x${string}` = hash) => ({
  agentId,
  owner: signer.address,
  uri: agentURI,
  txHash,
  blockNumber: 101n
})
const agent = (agentURI: string, owner: `0x${string}` = signer.address) => ({ agentId: 0n, owner, uri: agentURI })
const apply = ({ input, state }: ReturnType<typeof at>) => Registration.apply(input, state)
const cleanup = ({ input, state }: ReturnType<typeof at>) => Registration.cleanup({ ...input, deleting: true }, state)

describe("Registration.admit", () => {
  const admit = (overrides: Partial<Registration.Input>, observed: Registration.Observed = {}) => {
    const i = inputOf(overrides)
    return Registration.admit(i, { status: i.read, observed })
  }
  const none = { signer: Result.succeed(Option.none()) }
  const some = { signer: Result.succeed(Option.some(signer)) }

  it("a deleted request without our finalizer: nothing to do", () => {
    expect(admit({ deleting: true, hasFinalizer: false })).toEqual({
      _tag: "Finish",
      effects: [],
      next: { _tag: "AwaitChange" }
    })
  })

  it("registration disabled and nothing sent: OffChainOnly, looked at again later, the signer never read", () => {
    expect(admit({ enabled: false })).toEqual({
      _tag: "Finish",
      effects: [
        {
          _tag: "Write",
          status: {
            phase: "OffChainOnly",
            errorMessage: "registration is disabled in the registrar (REGISTRATION_ENABLED=false)"
          }
        }
      ],
      next: { _tag: "Requeue", after: "OffChainRecheck" }
    })
  })

  it("registration disabled after something was sent: goes on, so the agent is still followed", () => {
    expect(admit({ enabled: false, read: { searchFromBlock: 100 } })).toEqual({
      _tag: "Observe",
      read: { _tag: "Signer" }
    })
  })

  it("an unknown chain: Failed with what to configure (reason dropped), looked at again later", () => {
    expect(
      admit({ target: Result.fail("chain eip155:1 is not configured"), read: { reason: "AgentNotFound" } })
    ).toEqual({
      _tag: "Finish",
      effects: [{ _tag: "Write", status: { phase: "Failed", errorMessage: "chain eip155:1 is not configured" } }],
      next: { _tag: "Requeue", after: "OffChainRecheck" }
    })
  })

  it("an unknown chain while deleting: released without a tombstone, with a Warning", () => {
    expect(admit({ deleting: true, target: Result.fail("chain eip155:1 is not configured") })).toEqual({
      _tag: "Finish",
      effects: [
        {
          _tag: "Publish",
          type: "Warning",
          reason: "TombstoneSkipped",
          note: "chain eip155:1 is not configured; releasing without a tombstone"
        }
      ],
      next: { _tag: "Release" }
    })
  })

  it("reads the signer before anything else", () => {
    expect(admit({})).toEqual({ _tag: "Observe", read: { _tag: "Signer" } })
  })

  it("an unusable signer Secret: Failed with what is wrong, and the run fails", () => {
    const error = new Signer.SignerError({ reason: "InvalidKeystore", message: "Secret x key y: bad keystore" })
    expect(admit({}, { signer: Result.fail(error) })).toEqual({
      _tag: "Finish",
      effects: [{ _tag: "Write", status: { phase: "Failed", errorMessage: "Secret x key y: bad keystore" } }],
      next: { _tag: "Fail", error }
    })
  })

  it("an unreadable signer Secret names the Secret; while deleting it fails without a status write", () => {
    const error = new KubeError({ reason: "Forbidden", message: "forbidden" })
    expect(admit({}, { signer: Result.fail(error) })).toMatchObject({
      effects: [{ status: { errorMessage: "reading Secret obol-system/registrar-signer: forbidden" } }],
      next: { _tag: "Fail", error }
    })
    expect(admit({ deleting: true }, { signer: Result.fail(error) })).toEqual({
      _tag: "Finish",
      effects: [],
      next: { _tag: "Fail", error }
    })
  })

  it("no signer and nothing sent: OffChainOnly naming the Secret and key, and the agent to adopt", () => {
    expect(admit({ spec: { ...spec, existingAgentId: "3" } }, none)).toMatchObject({
      effects: [
        {
          status: {
            phase: "OffChainOnly",
            errorMessage:
              "no signer configured: Secret obol-system/registrar-signer has no key privateKey; agent 3 is adopted once a signer is configured"
          }
        }
      ],
      next: { _tag: "Requeue", after: "OffChainRecheck" }
    })
  })

  it("no signer after something was sent, or a signer: under the finalizer", () => {
    const guard = { _tag: "Finish", effects: [], next: { _tag: "Guard" } }
    expect(admit({ read: { agentId: "0" } }, none)).toEqual(guard)
    expect(admit({ deleting: true }, none)).toEqual(guard)
    expect(admit({}, some)).toEqual(guard)
  })
})

describe("Registration.apply: minting", () => {
  it("a new request reads the block first, then records it and the URI as Pending before anything is sent", () => {
    expect(apply(at({}))).toEqual({ _tag: "Observe", read: { _tag: "Block" } })
    expect(apply(at({ phase: "Failed", reason: "AgentNotOwned" }, { block: Result.succeed(100n) }))).toEqual({
      _tag: "Write",
      status: { phase: "Pending", searchFromBlock: 100, agentURI: uri("weather") }
    })
  })

  it("RPC down while reading the block: Failed with the reason, and the run fails", () => {
    expect(apply(at({}, { block: Result.fail(rpc) }))).toEqual({
      _tag: "Finish",
      effects: [{ _tag: "Write", status: { phase: "Failed", errorMessage: "Rpc: connect ECONNREFUSED" } }],
      next: { _tag: "Fail", error: rpc }
    })
  })

  it("a mint started (txHash missing, searchFromBlock present) looks up by owner and the recorded URI, never sends first", () => {
    const pending = { phase: "Pending" as const, searchFromBlock: 100, agentURI: older }
    expect(apply(at(pending))).toEqual({
      _tag: "Observe",
      read: { _tag: "Lookup", owner: signer.address, uri: older, fromBlock: 100n }
    })
  })

  it("the lookup finds an earlier registration: Confirmed with it, nothing sent", () => {
    const pending = { phase: "Pending" as const, searchFromBlock: 100, agentURI: uri("weather") }
    expect(apply(at(pending, { lookup: Result.succeed(Option.some(registration(0n))) }))).toEqual({
      _tag: "Finish",
      effects: [
        {
          _tag: "Write",
          status: {
            phase: "Confirmed",
            searchFromBlock: 100,
            agentId: "0",
            agentURI: uri("weather"),
            agentRegistry,
            txHash: hash
          },
          note: `found agent 0 registered on chain from an earlier attempt (tx ${hash}); nothing sent again`
        }
      ],
      next: { _tag: "AwaitChange" }
    })
  })

  it("found under an older URI than the spec's: Confirmed, then run again at once to move it", () => {
    const pending = { phase: "Pending" as const, searchFromBlock: 100, agentURI: older }
    expect(apply(at(pending, { lookup: Result.succeed(Option.some(registration(0n, older))) }))).toMatchObject({
      effects: [{ status: { phase: "Confirmed", agentURI: older } }],
      next: { _tag: "Requeue", after: "Now" }
    })
  })

  it("nothing found: checks the registry, then sends register under the signer's lock with Submitted to record", () => {
    const pending = { phase: "Pending" as const, searchFromBlock: 100, agentURI: uri("weather"), errorMessage: "x" }
    const missing = { lookup: Result.succeed(Option.none()) }
    expect(apply(at(pending, missing))).toEqual({ _tag: "Observe", read: { _tag: "Registry" } })
    expect(apply(at(pending, { ...missing, registry: Result.succeed(undefined) }))).toEqual({
      _tag: "Send",
      signer,
      call: { _tag: "Register", uri: uri("weather") },
      submitted: { phase: "Submitted", searchFromBlock: 100, agentURI: uri("weather") },
      note: `sent register(${uri("weather")}) from ${signer.address}`
    })
  })

  it("a registry that does not answer getVersion: Failed, nothing sent", () => {
    const pending = { phase: "Pending" as const, searchFromBlock: 100 }
    expect(apply(at(pending, { lookup: Result.succeed(Option.none()), registry: Result.fail(rpc) }))).toMatchObject({
      effects: [{ status: { phase: "Failed" } }],
      next: { _tag: "Fail", error: rpc }
    })
  })

  it("the signer has a transaction in flight: nothing sent, looked at again after inFlightRecheck", () => {
    const pending = { phase: "Pending" as const, searchFromBlock: 100 }
    const observed = {
      lookup: Result.succeed(Option.none()),
      registry: Result.succeed(undefined),
      sent: Result.succeed({ _tag: "InFlight" as const })
    }
    expect(apply(at(pending, observed))).toMatchObject({
      effects: [{ _tag: "Log", annotations: { signer: signer.address } }],
      next: { _tag: "Requeue", after: "InFlightRecheck" }
    })
  })

  it("a send that fails (no gas): Failed with the reason", () => {
    const pending = { phase: "Pending" as const, searchFromBlock: 100 }
    const error = new ChainError({ reason: "InsufficientFunds", message: "no gas" })
    const observed = {
      lookup: Result.succeed(Option.none()),
      registry: Result.succeed(undefined),
      sent: Result.fail(error)
    }
    expect(apply(at(pending, observed))).toMatchObject({
      effects: [{ status: { phase: "Failed", searchFromBlock: 100, errorMessage: "InsufficientFunds: no gas" } }],
      next: { _tag: "Fail", error }
    })
  })

  it("just sent (hash in status): awaits its registration without asking the node about it", () => {
    const submitted = { phase: "Submitted" as const, searchFromBlock: 100, txHash: sentHash }
    const sent = Result.succeed({ _tag: "Sent" as const, hash: sentHash })
    expect(apply(at(submitted, { sent }))).toEqual({ _tag: "Observe", read: { _tag: "Registration", hash: sentHash } })
  })

  it("the registration mined: Confirmed with agentId 0 (a real id), agentRegistry and the hash", () => {
    const submitted = { phase: "Submitted" as const, searchFromBlock: 100, txHash: hash, agentURI: uri("weather") }
    const observed = {
      transaction: { of: hash, result: Result.succeed("Mined" as const) },
      registration: { of: hash, result: Result.succeed(registration(0n)) }
    }
    expect(apply(at(submitted, observed))).toMatchObject({
      effects: [
        {
          status: { phase: "Confirmed", agentId: "0", agentRegistry, txHash: hash },
          note: `registered as agent 0 in ${agentRegistry} (tx ${hash})`
        }
      ],
      next: { _tag: "AwaitChange" }
    })
  })

  it("a reverted registration: Failed, the hash forgotten so the retry sends again", () => {
    const submitted = { phase: "Submitted" as const, searchFromBlock: 100, txHash: hash }
    const observed = {
      transaction: { of: hash, result: Result.succeed("Mined" as const) },
      registration: { of: hash, result: Result.fail(reverted) }
    }
    expect(apply(at(submitted, observed))).toEqual({
      _tag: "Finish",
      effects: [
        {
          _tag: "Write",
          status: { phase: "Failed", searchFromBlock: 100, errorMessage: "Reverted: reverted: Not authorized" }
        }
      ],
      next: { _tag: "Fail", error: reverted }
    })
  })

  it("a receipt that timed out keeps the hash: the retry waits for the same transaction", () => {
    const submitted = { phase: "Submitted" as const, searchFromBlock: 100, txHash: hash }
    const timeout = new ChainError({ reason: "Timeout", message: "no receipt" })
    const observed = {
      transaction: { of: hash, result: Result.succeed("Pending" as const) },
      registration: { of: hash, result: Result.fail(timeout) }
    }
    expect(apply(at(submitted, observed))).toMatchObject({ effects: [{ status: { phase: "Failed", txHash: hash } }] })
  })

  it("a recorded hash after a restart: asks the node about it first", () => {
    const submitted = { phase: "Submitted" as const, searchFromBlock: 100, txHash: hash }
    expect(apply(at(submitted))).toEqual({ _tag: "Observe", read: { _tag: "Transaction", hash } })
    expect(apply(at(submitted, { transaction: { of: hash, result: Result.succeed("Pending" as const) } }))).toEqual({
      _tag: "Observe",
      read: { _tag: "Registration", hash }
    })
  })

  it("a dropped transaction (unknown to the node): forgotten, then the lookup, then sent again", () => {
    const submitted = { phase: "Submitted" as const, searchFromBlock: 100, txHash: hash }
    const unknown = { transaction: { of: hash, result: Result.succeed("Unknown" as const) } }
    expect(apply(at(submitted, unknown))).toEqual({
      _tag: "Forget",
      status: { phase: "Submitted", searchFromBlock: 100 }
    })
    expect(apply(at({ phase: "Submitted", searchFromBlock: 100 }, unknown))).toMatchObject({
      _tag: "Observe",
      read: { _tag: "Lookup" }
    })
  })

  it("no signer any more after sending: nothing to do until it is back", () => {
    expect(
      Registration.apply(inputOf({ read: { searchFromBlock: 100 } }), {
        status: { searchFromBlock: 100 },
        observed: { signer: Result.succeed(Option.none()) }
      })
    ).toEqual({ _tag: "Finish", effects: [], next: { _tag: "Requeue", after: "OffChainRecheck" } })
  })
})

describe("Registration.apply: confirmed", () => {
  const confirmed = {
    phase: "Confirmed" as const,
    agentId: "0",
    agentURI: uri("weather"),
    agentRegistry,
    txHash: hash,
    searchFromBlock: 100
  }

  it("agentId 0 with the spec's URI: the status kept, nothing read or sent", () => {
    expect(apply(at(confirmed))).toEqual({
      _tag: "Finish",
      effects: [{ _tag: "Write", status: confirmed }],
      next: { _tag: "AwaitChange" }
    })
  })

  it("a new spec URI: the agent read, setAgentURI under the lock with Submitted to record, then Confirmed with URIUpdated", () => {
    const moved = { ...confirmed, agentURI: older }
    const elsewhere = { agent: Result.succeed(Option.some(agent(older))) }
    expect(apply(at(moved))).toEqual({ _tag: "Observe", read: { _tag: "Agent", agentId: 0n } })
    expect(apply(at(moved, elsewhere))).toEqual({
      _tag: "Send",
      signer,
      call: { _tag: "SetAgentURI", agentId: 0n, uri: uri("weather") },
      submitted: { ...confirmed, phase: "Submitted" },
      note: `sent setAgentURI(0, ${uri("weather")}) from ${signer.address}`
    })
    // What the reconciler holds after the send: Submitted with the new hash.
    const submitted = { ...confirmed, phase: "Submitted" as const, txHash: sentHash }
    const sent = { ...elsewhere, sent: Result.succeed({ _tag: "Sent" as const, hash: sentHash }) }
    expect(apply({ input: inputOf({ read: moved }), state: at(submitted, sent).state })).toEqual({
      _tag: "Observe",
      read: { _tag: "Receipt", hash: sentHash }
    })
    const note = `agent 0 now points at ${uri("weather")} (tx ${sentHash})`
    expect(
      apply({
        input: inputOf({ read: moved }),
        state: at(submitted, { ...sent, receipt: { of: sentHash, result: Result.succeed(undefined) } }).state
      })
    ).toEqual({
      _tag: "Finish",
      effects: [
        { _tag: "Write", status: { ...confirmed, txHash: sentHash }, note },
        { _tag: "Publish", type: "Normal", reason: "URIUpdated", note }
      ],
      next: { _tag: "AwaitChange" }
    })
  })

  it("the signer has a transaction in flight: no URI follow-up sent, looked at again after inFlightRecheck", () => {
    const moved = { ...confirmed, agentURI: older }
    const observed = {
      agent: Result.succeed(Option.some(agent(older))),
      sent: Result.succeed({ _tag: "InFlight" as const })
    }
    expect(apply(at(moved, observed))).toMatchObject({ next: { _tag: "Requeue", after: "InFlightRecheck" } })
  })

  it("a follow-up that already landed (its hash lost in a crash) is confirmed, never sent again", () => {
    const moved = { ...confirmed, agentURI: older }
    const note = `agent 0 now points at ${uri("weather")}`
    expect(apply(at(moved, { agent: Result.succeed(Option.some(agent(uri("weather")))) }))).toEqual({
      _tag: "Finish",
      effects: [
        { _tag: "Write", status: confirmed, note },
        { _tag: "Publish", type: "Normal", reason: "URIUpdated", note }
      ],
      next: { _tag: "AwaitChange" }
    })
  })

  it("a follow-up recorded before a restart: asked about, its receipt awaited, then the agent read again", () => {
    const submitted = { ...confirmed, phase: "Submitted" as const, txHash: sentHash }
    const mined = { transaction: { of: sentHash, result: Result.succeed("Mined" as const) } }
    expect(apply(at(submitted))).toEqual({ _tag: "Observe", read: { _tag: "Transaction", hash: sentHash } })
    expect(apply(at(submitted, mined))).toEqual({ _tag: "Observe", read: { _tag: "Receipt", hash: sentHash } })
    const landed = { ...mined, receipt: { of: sentHash, result: Result.succeed(undefined) } }
    expect(apply(at(submitted, landed))).toEqual({ _tag: "Observe", read: { _tag: "Agent", agentId: 0n } })
    expect(
      apply(at(submitted, { ...landed, agent: Result.succeed(Option.some(agent(uri("weather")))) }))
    ).toMatchObject({
      effects: [{ _tag: "Write", status: { ...confirmed, txHash: sentHash } }, { reason: "URIUpdated" }],
      next: { _tag: "AwaitChange" }
    })
    expect(apply(at(submitted, { transaction: { of: sentHash, result: Result.succeed("Unknown" as const) } }))).toEqual(
      {
        _tag: "Forget",
        status: { phase: "Submitted", agentId: "0", agentURI: uri("weather"), agentRegistry, searchFromBlock: 100 }
      }
    )
  })

  it("a failed URI follow-up: Failed with the reason, the agent kept", () => {
    const moved = { ...confirmed, agentURI: older }
    expect(apply(at(moved, { sent: Result.fail(rpc) }))).toMatchObject({
      effects: [{ status: { phase: "Failed", agentId: "0", agentURI: older } }],
      next: { _tag: "Fail", error: rpc }
    })
  })

  it("a registry changed after confirmation is reported once, never registered again", () => {
    const other = "eip155:84532:0x8004A818BFB912233c491871b3d84c89A494BD9e"
    const message = `registered as agent 0 in ${agentRegistry}, but the request now names ${other}; delete and recreate the request to register there`
    const run = (status: Registration.Status) =>
      Registration.apply(
        { ...inputOf({ read: status }), target: Result.succeed(other) },
        { status, observed: { signer: Result.succeed(Option.some(signer)) } }
      )
    expect(run(confirmed)).toEqual({
      _tag: "Finish",
      effects: [
        { _tag: "Publish", type: "Warning", reason: "RegistryChanged", note: message },
        { _tag: "Write", status: { ...confirmed, errorMessage: message } }
      ],
      next: { _tag: "AwaitChange" }
    })
    expect(run({ ...confirmed, errorMessage: message })).toMatchObject({ effects: [{ _tag: "Write" }] })
  })
})

describe("Registration.apply: adoption", () => {
  const adopting = (status: Registration.Status, observed: Registration.Observed = {}) => {
    const run = at(status, observed)
    return Registration.apply({ ...run.input, spec: { ...spec, existingAgentId: "0" } }, run.state)
  }
  const checked = { registry: Result.succeed(undefined) }

  it("an existingAgentId and no mint started: checks the registry, then reads that agent instead of minting", () => {
    expect(adopting({})).toEqual({ _tag: "Observe", read: { _tag: "Registry" } })
    expect(adopting({}, checked)).toEqual({ _tag: "Observe", read: { _tag: "Agent", agentId: 0n } })
  })

  it("a mint already started (searchFromBlock on record) is finished first, existingAgentId aside", () => {
    expect(adopting({ phase: "Pending", searchFromBlock: 100 })).toMatchObject({ read: { _tag: "Lookup" } })
  })

  it("an agent the request already holds comes before the spec's", () => {
    expect(adopting({ phase: "Failed", agentId: "7" }, checked)).toEqual({
      _tag: "Observe",
      read: { _tag: "Agent", agentId: 7n }
    })
  })

  it("the agent does not exist: Failed/AgentNotFound, the whole status replaced, looked at again later", () => {
    expect(
      adopting({ phase: "Pending", agentId: "0" }, { ...checked, agent: Result.succeed(Option.none()) })
    ).toMatchObject({
      _tag: "Finish",
      effects: [{ _tag: "Write", status: { phase: "Failed", reason: "AgentNotFound" } }],
      next: { _tag: "Requeue", after: "OffChainRecheck" }
    })
  })

  it("someone else's agent: asks whether the signer is approved; not approved is Failed/AgentNotOwned", () => {
    const theirs = { ...checked, agent: Result.succeed(Option.some(agent(older, stranger))) }
    expect(adopting({}, theirs)).toEqual({
      _tag: "Observe",
      read: { _tag: "Authorized", spender: signer.address, agentId: 0n }
    })
    const refused = adopting({}, { ...theirs, authorized: Result.succeed(false) })
    expect(refused).toMatchObject({
      effects: [{ status: { phase: "Failed", reason: "AgentNotOwned" } }],
      next: { _tag: "Requeue", after: "OffChainRecheck" }
    })
    expect(JSON.stringify(refused)).toContain(stranger)
  })

  it("an agent already at our URI: Confirmed/Adopted without a transaction", () => {
    expect(adopting({}, { ...checked, agent: Result.succeed(Option.some(agent(uri("weather")))) })).toEqual({
      _tag: "Finish",
      effects: [
        {
          _tag: "Write",
          status: { phase: "Confirmed", reason: "Adopted", agentId: "0", agentURI: uri("weather"), agentRegistry },
          note: `adopted agent 0 in ${agentRegistry}; it already points at ${uri("weather")}`
        }
      ],
      next: { _tag: "AwaitChange" }
    })
  })

  it("an agent elsewhere: recorded as Pending first, then setAgentURI under the lock, then Confirmed/Adopted with its hash", () => {
    const ours = { ...checked, agent: Result.succeed(Option.some(agent(older))) }
    const recorded = { phase: "Pending" as const, agentId: "0", agentURI: uri("weather"), agentRegistry }
    expect(adopting({}, ours)).toEqual({ _tag: "Write", status: recorded })
    expect(adopting(recorded, ours)).toEqual({
      _tag: "Send",
      signer,
      call: { _tag: "SetAgentURI", agentId: 0n, uri: uri("weather") },
      submitted: { ...recorded, phase: "Submitted" },
      note: `sent setAgentURI(0, ${uri("weather")}) from ${signer.address} to adopt agent 0`
    })
    const submitted = { ...recorded, phase: "Submitted" as const, txHash: sentHash }
    const sent = { ...ours, sent: Result.succeed({ _tag: "Sent" as const, hash: sentHash }) }
    expect(adopting(submitted, sent)).toEqual({ _tag: "Observe", read: { _tag: "Receipt", hash: sentHash } })
    expect(
      adopting(submitted, { ...sent, receipt: { of: sentHash, result: Result.succeed(undefined) } })
    ).toMatchObject({
      effects: [{ status: { phase: "Confirmed", reason: "Adopted", agentId: "0", txHash: sentHash } }],
      next: { _tag: "AwaitChange" }
    })
  })

  it("a reverted setAgentURI: Failed with the agent kept and the hash forgotten", () => {
    const submitted = {
      phase: "Submitted" as const,
      agentId: "0",
      agentURI: uri("weather"),
      agentRegistry,
      txHash: sentHash
    }
    const observed = {
      ...checked,
      agent: Result.succeed(Option.some(agent(older))),
      sent: Result.succeed({ _tag: "Sent" as const, hash: sentHash }),
      receipt: { of: sentHash, result: Result.fail(reverted) }
    }
    expect(adopting(submitted, observed)).toEqual({
      _tag: "Finish",
      effects: [
        {
          _tag: "Write",
          status: {
            phase: "Failed",
            agentId: "0",
            agentURI: uri("weather"),
            agentRegistry,
            errorMessage: "Reverted: reverted: Not authorized"
          }
        }
      ],
      next: { _tag: "Fail", error: reverted }
    })
  })

  it("a setAgentURI recorded before a restart: asked about, its receipt awaited, then the agent read again", () => {
    const submitted = { phase: "Submitted" as const, agentId: "0", txHash: hash }
    const mined = { transaction: { of: hash, result: Result.succeed("Mined" as const) } }
    expect(adopting(submitted)).toEqual({ _tag: "Observe", read: { _tag: "Transaction", hash } })
    expect(adopting(submitted, mined)).toEqual({ _tag: "Observe", read: { _tag: "Receipt", hash } })
    expect(adopting(submitted, { ...mined, receipt: { of: hash, result: Result.succeed(undefined) } })).toEqual({
      _tag: "Observe",
      read: { _tag: "Registry" }
    })
    expect(adopting(submitted, { transaction: { of: hash, result: Result.succeed("Unknown" as const) } })).toEqual({
      _tag: "Forget",
      status: { phase: "Submitted", agentId: "0" }
    })
  })
})

describe("Registration.cleanup", () => {
  const tombstone = Tombstone.uri({ name: "weather", agentId: 0n, agentRegistry })

  it("nothing was ever sent: released at once", () => {
    expect(cleanup(at({ phase: "OffChainOnly" }))).toEqual({ _tag: "Finish", effects: [], next: { _tag: "Release" } })
  })

  it("no signer: the finalizer is kept, with a Warning, and looked at again later", () => {
    expect(
      Registration.cleanup(inputOf({ deleting: true, read: { agentId: "0" } }), {
        status: { agentId: "0" },
        observed: { signer: Result.succeed(Option.none()) }
      })
    ).toMatchObject({
      effects: [{ _tag: "Publish", type: "Warning", reason: "TombstoneBlocked" }],
      next: { _tag: "Hold", after: "OffChainRecheck" }
    })
  })

  it("a known agent (agentId 0 included) is read, tombstoned, and the request released", () => {
    const known = { phase: "Confirmed" as const, agentId: "0" }
    const ours = { agent: Result.succeed(Option.some(agent(uri("weather")))) }
    expect(cleanup(at(known))).toEqual({ _tag: "Observe", read: { _tag: "Agent", agentId: 0n } })
    expect(cleanup(at(known, ours))).toEqual({
      _tag: "Send",
      signer,
      call: { _tag: "SetAgentURI", agentId: 0n, uri: tombstone },
      submitted: { phase: "Submitted", agentId: "0" },
      note: `sent setAgentURI(0, the active:false tombstone) from ${signer.address}`
    })
    const sent = { ...ours, sent: Result.succeed({ _tag: "Sent" as const, hash: sentHash }) }
    expect(cleanup(at(known, sent))).toEqual({ _tag: "Observe", read: { _tag: "Receipt", hash: sentHash } })
    expect(cleanup(at(known, { ...sent, receipt: { of: sentHash, result: Result.succeed(undefined) } }))).toEqual({
      _tag: "Finish",
      effects: [
        {
          _tag: "Publish",
          type: "Normal",
          reason: "Tombstoned",
          note: `agent 0 in ${agentRegistry} now points at an active:false document`
        }
      ],
      next: { _tag: "Release" }
    })
  })

  it("the signer has a transaction in flight: no tombstone sent, the finalizer kept, looked at again", () => {
    const observed = {
      agent: Result.succeed(Option.some(agent(uri("weather")))),
      sent: Result.succeed({ _tag: "InFlight" as const })
    }
    expect(cleanup(at({ agentId: "0" }, observed))).toEqual({
      _tag: "Finish",
      effects: [],
      next: { _tag: "Hold", after: "InFlightRecheck" }
    })
  })

  it("an agent already tombstoned is not sent again", () => {
    const known = { agentId: "0" }
    expect(cleanup(at(known, { agent: Result.succeed(Option.some(agent(tombstone))) }))).toMatchObject({
      effects: [{ reason: "Tombstoned" }],
      next: { _tag: "Release" }
    })
  })

  it("an agent that no longer exists is released without a tombstone", () => {
    expect(cleanup(at({ agentId: "0" }, { agent: Result.succeed(Option.none()) }))).toEqual({
      _tag: "Finish",
      effects: [],
      next: { _tag: "Release" }
    })
  })

  it("an agent the signer may no longer manage is released without a tombstone, with a Warning", () => {
    const theirs = { agent: Result.succeed(Option.some(agent(uri("weather"), stranger))) }
    expect(cleanup(at({ agentId: "0" }, theirs))).toEqual({
      _tag: "Observe",
      read: { _tag: "Authorized", spender: signer.address, agentId: 0n }
    })
    expect(cleanup(at({ agentId: "0" }, { ...theirs, authorized: Result.succeed(false) }))).toMatchObject({
      effects: [{ _tag: "Publish", type: "Warning", reason: "TombstoneSkipped" }],
      next: { _tag: "Release" }
    })
  })

  it("only a hash on record: the agent comes from its registration", () => {
    const submitted = { phase: "Submitted" as const, txHash: hash, searchFromBlock: 100 }
    const mined = { transaction: { of: hash, result: Result.succeed("Mined" as const) } }
    expect(cleanup(at(submitted))).toEqual({ _tag: "Observe", read: { _tag: "Transaction", hash } })
    expect(cleanup(at(submitted, mined))).toEqual({ _tag: "Observe", read: { _tag: "Registration", hash } })
    expect(
      cleanup(at(submitted, { ...mined, registration: { of: hash, result: Result.succeed(registration(0n)) } }))
    ).toEqual({ _tag: "Observe", read: { _tag: "Agent", agentId: 0n } })
  })

  it("a reverted hash on record: an earlier attempt is looked up from searchFromBlock", () => {
    const submitted = { phase: "Submitted" as const, txHash: hash, searchFromBlock: 100, agentURI: older }
    const observed = {
      transaction: { of: hash, result: Result.succeed("Mined" as const) },
      registration: { of: hash, result: Result.fail(reverted) }
    }
    expect(cleanup(at(submitted, observed))).toEqual({
      _tag: "Observe",
      read: { _tag: "Lookup", owner: signer.address, uri: older, fromBlock: 100n }
    })
  })

  it("a crash before the hash was recorded: the lookup finds the agent; found nothing, released", () => {
    const pending = { phase: "Pending" as const, searchFromBlock: 100 }
    expect(cleanup(at(pending))).toMatchObject({ read: { _tag: "Lookup", uri: uri("weather"), fromBlock: 100n } })
    expect(cleanup(at(pending, { lookup: Result.succeed(Option.some(registration(0n))) }))).toEqual({
      _tag: "Observe",
      read: { _tag: "Agent", agentId: 0n }
    })
    expect(cleanup(at(pending, { lookup: Result.succeed(Option.none()) }))).toEqual({
      _tag: "Finish",
      effects: [],
      next: { _tag: "Release" }
    })
  })

  it("a dropped hash and no mint started: released", () => {
    const submitted = { phase: "Submitted" as const, txHash: hash }
    expect(cleanup(at(submitted, { transaction: { of: hash, result: Result.succeed("Unknown" as const) } }))).toEqual({
      _tag: "Finish",
      effects: [],
      next: { _tag: "Release" }
    })
  })

  it("a chain error fails the run without a status write; the finalizer stays", () => {
    expect(cleanup(at({ agentId: "0" }, { agent: Result.fail(rpc) }))).toEqual({
      _tag: "Finish",
      effects: [],
      next: { _tag: "Fail", error: rpc }
    })
  })
})

describe("Registration.changeEvent", () => {
  it("a phase change is an Event named after the phase; Failed is a Warning carrying the error", () => {
    expect(Registration.changeEvent({}, { phase: "Pending" })).toEqual({
      _tag: "Publish",
      type: "Normal",
      reason: "Pending",
      note: "phase Pending"
    })
    expect(Registration.changeEvent({ phase: "Pending" }, { phase: "Failed", errorMessage: "Rpc: down" })).toEqual({
      _tag: "Publish",
      type: "Warning",
      reason: "Failed",
      note: "Rpc: down"
    })
  })

  it("an unchanged phase and error is no Event; a changed error is one, with the note given", () => {
    expect(Registration.changeEvent({ phase: "Confirmed" }, { phase: "Confirmed", agentURI: older })).toBeUndefined()
    expect(
      Registration.changeEvent({ phase: "Confirmed" }, { phase: "Confirmed", errorMessage: "moved" }, "note")
    ).toMatchObject({ reason: "Confirmed", note: "note" })
  })
})
