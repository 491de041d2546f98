/**
 * The Registered condition as a pure function of the RegistrationRequest's status.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ServiceOfferReconciler from "@obol/serviceoffer-controller/ServiceOfferReconciler"

const from = (status: object | undefined, offerStatus: object = {}) => {
  const registered = ServiceOfferReconciler.registeredFrom({ status } as never, { status: offerStatus } as never)
  return `${registered.status}/${registered.reason} agent=${registered.agentId ?? "-"} tx=${registered.txHash ?? "-"}`
}

describe("ServiceOfferReconciler.registeredFrom", () => {
  it.each([
    [undefined, {}, "False/Pending agent=- tx=-"],
    [{ phase: "Submitted", txHash: "0x1" }, {}, "False/Submitted agent=- tx=0x1"],
    [{ phase: "Confirmed", agentId: "7", txHash: "0x1" }, {}, "True/Confirmed agent=7 tx=0x1"],
    // Adopted: monetize.py's minting transaction stays; the registrar's is only its setAgentURI.
    [
      { phase: "Confirmed", reason: "Adopted", agentId: "7", txHash: "0xset" },
      { registrationTxHash: "0xmint" },
      "True/Adopted agent=7 tx=0xmint"
    ],
    [{ phase: "Confirmed", reason: "Adopted", agentId: "7", txHash: "0xset" }, {}, "True/Adopted agent=7 tx=0xset"],
    [{ phase: "OffChainOnly" }, {}, "True/OffChainOnly agent=- tx=-"],
    [{ phase: "Failed", reason: "AgentNotOwned" }, {}, "False/AgentNotOwned agent=- tx=-"],
    [{ phase: "Failed", reason: "AgentNotFound" }, {}, "False/AgentNotFound agent=- tx=-"],
    [{ phase: "Failed", errorMessage: "rpc down" }, {}, "False/RegistrationFailed agent=- tx=-"]
  ])("%j (offer status %j) is %s", (status, offerStatus, expected) => {
    expect(from(status, offerStatus)).toBe(expected)
  })
})
