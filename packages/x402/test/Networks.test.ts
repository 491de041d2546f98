import { describe, expect, it } from "@effect/vitest"
import { Option, Result } from "effect"
import * as Networks from "@obol/x402/Networks"

const local = {
  names: ["base-sepolia"],
  caip2: "eip155:84532",
  usdc: { address: "0x5FbDB2315678afecb367f032d93F642f64180aa3", decimals: 6, eip712Name: "USDC", eip712Version: "2" }
}

/** Every name obol-stack resolved, with the CAIP-2 id it resolved to. */
const obolStackNames: ReadonlyArray<readonly [string, string]> = [
  ["base", "eip155:8453"],
  ["base-mainnet", "eip155:8453"],
  ["base-sepolia", "eip155:84532"],
  ["polygon", "eip155:137"],
  ["polygon-mainnet", "eip155:137"],
  ["polygon-amoy", "eip155:80002"],
  ["avalanche", "eip155:43114"],
  ["avalanche-mainnet", "eip155:43114"],
  ["avalanche-fuji", "eip155:43113"]
]

/** Circle's USDC on each chain and its EIP-712 domain (sources in `Networks.defaults`). */
const usdc: ReadonlyArray<readonly [string, Networks.Token]> = [
  [
    "eip155:84532",
    { address: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", decimals: 6, eip712Name: "USDC", eip712Version: "2" }
  ],
  [
    "eip155:8453",
    { address: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", decimals: 6, eip712Name: "USD Coin", eip712Version: "2" }
  ],
  [
    "eip155:80002",
    { address: "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582", decimals: 6, eip712Name: "USDC", eip712Version: "2" }
  ],
  [
    "eip155:137",
    { address: "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", decimals: 6, eip712Name: "USD Coin", eip712Version: "2" }
  ],
  [
    "eip155:43113",
    { address: "0x5425890298aed601595a70AB815c96711a31Bc65", decimals: 6, eip712Name: "USD Coin", eip712Version: "2" }
  ],
  [
    "eip155:43114",
    { address: "0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E", decimals: 6, eip712Name: "USD Coin", eip712Version: "2" }
  ]
]

const caip2Of = (networks: ReadonlyArray<Networks.Network>, name: string) =>
  Option.map(Networks.find(networks, name), (n) => n.caip2)

describe("Networks.defaults", () => {
  it.each(obolStackNames)("resolves %s, a name obol-stack accepted, to %s", (name, caip2) => {
    expect(caip2Of(Networks.defaults, name)).toEqual(Option.some(caip2))
  })

  it("knows exactly the names obol-stack resolved, each once", () => {
    expect(Networks.names(Networks.defaults).toSorted()).toEqual(obolStackNames.map(([name]) => name).toSorted())
  })

  it("makes an alias a second name of the same network, not a second network", () => {
    const aliases: ReadonlyArray<readonly [string, string]> = [
      ["base", "base-mainnet"],
      ["polygon", "polygon-mainnet"],
      ["avalanche", "avalanche-mainnet"]
    ]
    for (const [name, alias] of aliases) {
      expect(Networks.find(Networks.defaults, alias)).toEqual(Networks.find(Networks.defaults, name))
    }
    expect(new Set(Networks.defaults.map((n) => n.caip2)).size).toBe(Networks.defaults.length)
  })

  it.each(usdc)("resolves the CAIP-2 id %s itself, to Circle's USDC there with its EIP-712 domain", (caip2, token) => {
    const network = Networks.find(Networks.defaults, caip2)
    expect(Option.map(network, (n) => n.caip2)).toEqual(Option.some(caip2))
    expect(Option.map(network, (n) => n.usdc)).toEqual(Option.some(token))
  })

  it('names the EIP-712 domain per token, not per kind of chain: Avalanche Fuji\'s testnet USDC is "USD Coin"', () => {
    const name = (network: string) => Option.map(Networks.find(Networks.defaults, network), (n) => n.usdc.eip712Name)
    expect(name("base-sepolia")).toEqual(Option.some("USDC"))
    expect(name("polygon-amoy")).toEqual(Option.some("USDC"))
    expect(name("avalanche-fuji")).toEqual(Option.some("USD Coin"))
  })

  it("finds nothing for a chain it does not know, by name or by CAIP-2 id", () => {
    expect(Networks.find(Networks.defaults, "solana")).toEqual(Option.none())
    expect(Networks.find(Networks.defaults, "ethereum")).toEqual(Option.none())
    expect(Networks.find(Networks.defaults, "eip155:1")).toEqual(Option.none())
  })
})

describe("Networks.configured", () => {
  it("puts NETWORKS_JSON's networks ahead of the defaults, so they win a shared name", () => {
    const networks = Result.getOrThrow(Networks.configured(JSON.stringify([local])))
    expect(networks).toHaveLength(Networks.defaults.length + 1)
    const found = Networks.find(networks, "base-sepolia")
    expect(Option.map(found, (n) => n.usdc.address)).toEqual(Option.some(local.usdc.address))
  })

  it("keeps every default name when NETWORKS_JSON adds a chain of its own", () => {
    const anvil = { ...local, names: ["anvil"], caip2: "eip155:31337" }
    const networks = Result.getOrThrow(Networks.configured(JSON.stringify([anvil])))
    expect(caip2Of(networks, "anvil")).toEqual(Option.some("eip155:31337"))
    expect(caip2Of(networks, "eip155:31337")).toEqual(Option.some("eip155:31337"))
    for (const [name, caip2] of obolStackNames) {
      expect(caip2Of(networks, name)).toEqual(Option.some(caip2))
    }
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
