import { describe, expect, it } from "@effect/vitest"
import { Option, Result } from "effect"
import * as Chains from "@obol/chain/Chains"

describe("Chains", () => {
  it("resolves a network by name or CAIP-2 id to the configured registry", () => {
    const table = Result.getOrThrow(Chains.fromJson(undefined))
    const sepolia = Option.getOrThrow(Chains.resolve(table, "base-sepolia"))
    expect(sepolia.chainId).toBe(84532)
    expect(sepolia.registry).toBe("0x8004A818BFB912233c491871b3d84c89A494BD9e")
    expect(Option.getOrThrow(Chains.resolve(table, "eip155:84532"))).toBe(sepolia)
    expect(Chains.resolve(table, "eip155:1")).toEqual(Option.none())
  })

  it("lets CHAINS_JSON replace a default (a local anvil as base-sepolia) and add chains", () => {
    const table = Result.getOrThrow(
      Chains.fromJson(
        JSON.stringify([
          {
            names: ["base-sepolia"],
            chainId: 84532,
            rpcUrl: "http://127.0.0.1:8545",
            registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3"
          },
          { names: ["local"], chainId: 31337, rpcUrl: "http://127.0.0.1:9545" }
        ])
      )
    )
    expect(Option.getOrThrow(Chains.resolve(table, "eip155:84532")).rpcUrl).toBe("http://127.0.0.1:8545")
    expect(Option.getOrThrow(Chains.resolve(table, "local")).registry).toBeUndefined()
    expect(Option.getOrThrow(Chains.resolve(table, "base")).chainId).toBe(8453)
    expect(table.filter((c) => c.chainId === 84532)).toHaveLength(1)
  })

  it("names the bad field of a malformed CHAINS_JSON", () => {
    const result = Chains.fromJson(JSON.stringify([{ names: ["x"], chainId: 1, rpcUrl: "ftp://nope" }]))
    expect(Result.match(result, { onFailure: (e) => e, onSuccess: () => "decoded" })).toMatch(/CHAINS_JSON: .*rpcUrl/su)
  })
})
