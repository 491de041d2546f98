import { describe, expect, it } from "@effect/vitest"
import * as Conditions from "@obol/controller/Conditions"

const t0 = "2026-11-27T08:00:00Z"
const t1 = "2026-11-27T09:00:00Z"

describe("Conditions", () => {
  it("keeps lastTransitionTime when only reason, message or generation change", () => {
    const first = Conditions.set(
      [],
      { type: "UpstreamHealthy", status: "True", reason: "Healthy", message: "ok", observedGeneration: 1 },
      t0
    )
    const second = Conditions.set(
      first,
      { type: "UpstreamHealthy", status: "True", reason: "Healthy", message: "200 OK", observedGeneration: 2 },
      t1
    )
    expect(second).toEqual([
      {
        type: "UpstreamHealthy",
        status: "True",
        reason: "Healthy",
        message: "200 OK",
        observedGeneration: 2,
        lastTransitionTime: t0
      }
    ])
  })

  it("moves lastTransitionTime when the status flips", () => {
    const first = Conditions.set([], { type: "A", status: "True", reason: "Ok", message: "" }, t0)
    const flipped = Conditions.set(
      first,
      { type: "A", status: "False", reason: "NoEndpoints", message: "no ready endpoints" },
      t1
    )
    expect(flipped[0]?.lastTransitionTime).toBe(t1)
  })

  it("yields an equal list when the same condition is set again, so a status write can be skipped", () => {
    const update = { type: "A", status: "True", reason: "Ok", message: "m", observedGeneration: 3 } as const
    const once = Conditions.set([], update, t0)
    expect(Conditions.set(once, update, t1)).toEqual(once)
  })

  it("keeps the order of types and appends new ones", () => {
    const list = Conditions.setAll(
      [],
      [
        { type: "B", status: "True", reason: "R", message: "" },
        { type: "A", status: "True", reason: "R", message: "" },
        { type: "B", status: "False", reason: "R2", message: "" }
      ],
      t0
    )
    expect(list.map((c) => `${c.type}=${c.status}`)).toEqual(["B=False", "A=True"])
  })

  it("summarizes Ready from the required conditions of the current generation", () => {
    const base = Conditions.setAll(
      [],
      [
        { type: "UpstreamHealthy", status: "True", reason: "Healthy", message: "", observedGeneration: 2 },
        { type: "PaymentGateReady", status: "True", reason: "Admitted", message: "", observedGeneration: 2 }
      ],
      t0
    )
    expect(Conditions.summarize(base, ["UpstreamHealthy", "PaymentGateReady"], 2).status).toBe("True")
    expect(Conditions.summarize(base, ["UpstreamHealthy", "PaymentGateReady"], 3)).toMatchObject({
      status: "False",
      message: "UpstreamHealthy: "
    })
    expect(Conditions.summarize(base, ["UpstreamHealthy", "RoutePublished"], 2)).toMatchObject({
      status: "Unknown",
      reason: "Pending",
      message: "RoutePublished not yet evaluated"
    })
  })

  it("reads conditions", () => {
    const list = Conditions.set([], { type: "A", status: "True", reason: "R", message: "", observedGeneration: 1 }, t0)
    expect(Conditions.isTrue(list, "A")).toBe(true)
    expect(Conditions.isTrue(list, "A", 2)).toBe(false)
    expect(Conditions.isTrue(list, "B")).toBe(false)
    expect(Conditions.remove(list, "A")).toEqual([])
  })
})
