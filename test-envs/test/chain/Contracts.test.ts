import { describe, expect, it } from "@effect/vitest"
import * as Contracts from "../../src/chain/Contracts.ts"

describe("Contracts", () => {
  it("committed artifacts are what solc makes of the committed sources", () => {
    expect(Contracts.check()).toEqual([])
  }, 60_000)

  it("TestUSDC offers both EIP-3009 transferWithAuthorization overloads", () => {
    const overloads = Contracts.artifact("TestUSDC")
      .abi.filter((entry) => entry.type === "function" && entry.name === "transferWithAuthorization")
      .map((entry) => (entry.type === "function" ? entry.inputs.map((input) => input.type).join(",") : ""))
    expect(overloads.toSorted()).toEqual([
      "address,address,uint256,uint256,uint256,bytes32,bytes",
      "address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32"
    ])
  })
})
