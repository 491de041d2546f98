import { describe, expect, it } from "vitest"
import { Option, Result } from "effect"
import * as Networks from "@obol/x402/Networks"

const local = {
  names: ["base-sepolia"],
  caip2: "eip155:84532",
  usdc: { address: "0x5FbDB2315678afecb367f032d93F642f64180aa3", decimals: 6, eip712Name: "USDC", eip712Version: "2" }
}

describe("Networks.configured", () => {
  it("puts NETWORKS_JSON's networks ahead of the defaults, so they win a shared name", () => {
    const networks = Result.getOrThrow(Networks.configured(JSON.stringify([local])))
    expect(networks).toHaveLength(Networks.defaults.length + 1)
    const found = Networks.find(networks, "base-sepolia")
    expect(Option.map(found, (n) => n.usdc.address)).toEqual(Option.some(local.usdc.address))
  })

  it("is the defaults without a value", () => {
    expect(Networks.configured(undefined)).toEqual(Result.succeed(Networks.defaults))
    expect(Networks.configured("")).toEqual(Result.succeed(Networks.defaults))
  })

  it("says what is wrong with an invalid value", () => {
    const bad = Networks.configured('[{"names": "base"}]')
    expect(Result.isFailure(bad) && bad.failure).toMatch(/^NETWORKS_JSON is invalid: /u)
  })
})
