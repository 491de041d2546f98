import { describe, expect, it } from "@effect/vitest"
import { encodeFunctionData, toEventSelector, toFunctionSelector } from "viem"
import * as IdentityRegistry from "@obol/chain/IdentityRegistry"
import { identityRegistryAbi } from "@obol/chain/IdentityRegistryAbi"

interface Param {
  readonly name: string
  readonly type: string
  readonly indexed?: boolean
}
const shape = (params: ReadonlyArray<Param> | undefined) =>
  JSON.stringify((params ?? []).map((p) => [p.name, p.type, p.indexed ?? false]))

describe("IdentityRegistryAbi", () => {
  it("is a subset of the ABI compiled from our registry contract", () => {
    const compiled = IdentityRegistry.artifact().abi as ReadonlyArray<{ type: string; name?: string }>
    for (const entry of identityRegistryAbi) {
      const match = compiled.find(
        (c) =>
          c.type === entry.type &&
          c.name === entry.name &&
          shape((c as { inputs?: ReadonlyArray<Param> }).inputs) === shape(entry.inputs)
      )
      expect(match, `${entry.type} ${entry.name}`).toBeDefined()
    }
  })

  it("gives the ERC's known selectors and topics (not monetize.py's hand-rolled ones)", () => {
    expect(toFunctionSelector("register(string)")).toBe("0xf2c298be")
    expect(toFunctionSelector("setAgentURI(uint256,string)")).toBe("0x0af28bd3")
    expect(encodeFunctionData({ abi: identityRegistryAbi, functionName: "register", args: ["x"] }).slice(0, 10)).toBe(
      "0xf2c298be"
    )
    expect(toEventSelector("Registered(uint256,string,address)")).toBe(
      "0xca52e62c367d81bb2e328eb795f7c7ba24afb478408a26c0e201d155c449bc4a"
    )
  })
})
