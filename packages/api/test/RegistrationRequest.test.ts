import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as CustomResource from "@obol/api/CustomResource"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"

const request = (): any => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "RegistrationRequest",
  metadata: { name: "qwen-registration", namespace: "llm" },
  spec: {
    name: "Qwen",
    endpoint: "https://seller.example/services/qwen",
    agentURI: "https://seller.example/.well-known/agent-registration.json?offer=llm/qwen",
    chain: "base-sepolia"
  }
})

describe("RegistrationRequest", () => {
  it("decodes a request with a confirmed status; agent ids start at 0", () => {
    const confirmed = request()
    confirmed.status = {
      phase: "Confirmed",
      agentId: "0",
      txHash: `0x${"ab".repeat(32)}`,
      searchFromBlock: 12,
      observedGeneration: 1
    }
    const result = CustomResource.decodeResult(RegistrationRequest, confirmed, { strict: true })
    expect(Result.isSuccess(result) ? result.success.status?.agentId : result.failure.message).toBe("0")
  })

  it("requires an agentURI that resolves to a document (https, http, ipfs or a JSON data URI)", () => {
    const missing = request()
    delete missing.spec.agentURI
    const ftp = request()
    ftp.spec.agentURI = "ftp://seller.example/doc.json"
    const problems = (r: any) => {
      const result = CustomResource.decodeResult(RegistrationRequest, r)
      return Result.isFailure(result) ? result.failure.problems.map((p) => p.path) : []
    }
    expect(problems(missing)).toEqual(["spec.agentURI"])
    expect(problems(ftp)).toEqual(["spec.agentURI"])
    const data = request()
    data.spec.agentURI = "data:application/json;base64,eyJhY3RpdmUiOmZhbHNlfQ=="
    expect(problems(data)).toEqual([])
  })

  it("rejects an unknown phase and a non-decimal agent id", () => {
    const bad = request()
    bad.status = { phase: "Done", agentId: "0x1" }
    const result = CustomResource.decodeResult(RegistrationRequest, bad)
    expect(Result.isFailure(result) && result.failure.problems.map((p) => p.path)).toEqual([
      "status.phase",
      "status.agentId"
    ])
  })

  it("accepts provenance, metadata and an existing agent to adopt, and the adoption reasons in status", () => {
    const adopting = request()
    adopting.spec.metadata = { owner: "obol" }
    adopting.spec.provenance = { framework: "autoresearch", metricName: "val_bpb", metricValue: "0.9812" }
    adopting.spec.existingAgentId = "0"
    adopting.status = { phase: "Failed", reason: "AgentNotOwned", errorMessage: "agent 0 is owned by someone else" }
    const result = CustomResource.decodeResult(RegistrationRequest, adopting, { strict: true })
    expect(Result.isSuccess(result) ? result.success.spec : result.failure.message).toMatchObject({
      provenance: { framework: "autoresearch", metricName: "val_bpb", metricValue: "0.9812" },
      existingAgentId: "0"
    })
    expect(Result.isSuccess(result) && result.success.status?.reason).toBe("AgentNotOwned")
  })

  it("rejects a non-decimal existing agent id and an unknown reason", () => {
    const bad = request()
    bad.spec.existingAgentId = "0x2a"
    bad.status = { phase: "Failed", reason: "Nope" }
    const result = CustomResource.decodeResult(RegistrationRequest, bad)
    expect(Result.isFailure(result) && result.failure.problems.map((p) => p.path)).toEqual([
      "spec.existingAgentId",
      "status.reason"
    ])
  })
})
