import { describe, expect, it } from "@effect/vitest"
import * as UpstreamAuthorization from "@obol/api/UpstreamAuthorization"

describe("UpstreamAuthorization", () => {
  it("reads the offers annotation as a comma-separated list of offer names", () => {
    expect(UpstreamAuthorization.offersOf(" chat, llm ,,")).toEqual(["chat", "llm"])
    expect(UpstreamAuthorization.offersOf(undefined)).toEqual([])
  })

  it("puts the scheme before the value, or sends the value alone for an empty scheme", () => {
    expect(UpstreamAuthorization.headerValue({ scheme: "Bearer" }, "sk-1")).toBe("Bearer sk-1")
    expect(UpstreamAuthorization.headerValue({ scheme: "" }, "sk-1")).toBe("sk-1")
  })
})
