import { describe, expect, it } from "vitest"
import * as Format from "@obol/cli/Format"

describe("Format", () => {
  it("writes ages as kubectl does", () => {
    expect(
      [
        0,
        45_000,
        119_000,
        200_000,
        600_000,
        42 * 60_000,
        5 * 3_600_000 + 600_000,
        30 * 3_600_000,
        3 * 86_400_000 + 4 * 3_600_000,
        400 * 86_400_000
      ].map(Format.age)
    ).toEqual(["0s", "45s", "119s", "3m20s", "10m", "42m", "5h10m", "30h", "3d4h", "400d"])
  })

  it("writes elapsed times with the precision that matters", () => {
    expect([210, 9_999, 12_340, 125_000].map(Format.elapsed)).toEqual(["0.21s", "10.00s", "12.3s", "2m05s"])
  })

  it("reads durations as kubectl's --timeout does, and refuses anything else", () => {
    expect(["90", "90s", "5m", "1h30m", "2m30s", "500ms", "1.5s"].map(Format.parseDuration)).toEqual([
      90_000, 90_000, 300_000, 5_400_000, 150_000, 500, 1500
    ])
    expect(["", "soon", "5 m", "m5", "5x"].map(Format.parseDuration)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined
    ])
  })

  it("summarises every price kind in the token's symbol", () => {
    expect(Format.priceSummary({ perRequest: "0.001" })).toBe("0.001 USDC/request")
    expect(Format.priceSummary({ perMTok: "1.25", perHour: "2" }, "EURC")).toBe("1.25 EURC/MTok, 2 EURC/hour")
    expect(Format.priceSummary({})).toBe("<none>")
  })

  it("aligns tables and fills empty cells", () => {
    expect(
      Format.table(
        ["name", "price"],
        [
          ["a", ""],
          ["longer", "1"]
        ]
      )
    ).toBe("NAME     PRICE\na        <none>\nlonger   1")
  })
})
