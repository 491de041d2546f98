import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { parse } from "yaml"
import { obol, output, payTo, requests, layer, writeStatus } from "../utils/Harness.ts"

const seed = Effect.gen(function* () {
  yield* obol("sell", "http", "weather", "-w", payTo, "--upstream", "weather", "--price", "0.001")
  yield* obol(
    "sell",
    "inference",
    "qwen",
    "-w",
    payTo,
    "--model",
    "qwen3:8b",
    "--upstream",
    "ollama",
    "--per-mtok",
    "1.25"
  )
  yield* obol("sell", "http", "gpu", "-n", "shop", "-w", payTo, "--upstream", "trainer", "--per-hour", "2")
  yield* writeStatus("weather", [{ type: "Ready", status: "True", reason: "Ready" }], { phase: "Ready" })
})

describe("obol sell list", () => {
  it.effect("shows a table with a human price for every price kind, the endpoint, Ready and age", () =>
    Effect.gen(function* () {
      yield* seed
      yield* TestClock.adjust("3 minutes")
      const before = (yield* output).stdout.length
      expect(yield* obol("sell", "list")).toBe(0)
      const table = (yield* output).stdout.slice(before)
      expect(table[0]).toMatch(/^NAME\s+TYPE\s+MODEL\s+PRICE\s+NETWORK\s+ENDPOINT\s+READY\s+AGE$/u)
      expect(table.slice(1).map((l) => l.split(/\s{3,}/u))).toEqual([
        ["qwen", "inference", "qwen3:8b", "1.25 USDC/MTok", "base-sepolia", "/services/qwen", "Unknown", "3m"],
        [
          "weather",
          "http",
          "<none>",
          "0.001 USDC/request",
          "base-sepolia",
          "http://obol.stack:8080/services/weather",
          "True",
          "3m"
        ]
      ])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("-A lists every namespace with a NAMESPACE column, -o wide adds phase, upstream and payee", () =>
    Effect.gen(function* () {
      yield* seed
      const before = (yield* output).stdout.length
      expect(yield* obol("sell", "list", "-A", "-o", "wide")).toBe(0)
      const table = (yield* output).stdout.slice(before)
      expect(table[0]!.split(/\s{3,}/u)).toEqual([
        "NAMESPACE",
        "NAME",
        "TYPE",
        "MODEL",
        "PRICE",
        "NETWORK",
        "ENDPOINT",
        "READY",
        "PHASE",
        "UPSTREAM",
        "PAY TO",
        "AGE"
      ])
      expect(table.slice(1).map((l) => l.split(/\s{3,}/u).slice(0, 2))).toEqual([
        ["default", "qwen"],
        ["default", "weather"],
        ["shop", "gpu"]
      ])
      expect(table[3]).toContain("2 USDC/hour")
      expect(table[3]).toContain("trainer.shop:8080")
    }).pipe(Effect.provide(layer()))
  )

  it.effect("-o yaml prints a List of the offers, with one LIST request", () =>
    Effect.gen(function* () {
      yield* seed
      const before = (yield* output).stdout.length
      const sent = (yield* requests).length
      expect(yield* obol("sell", "list", "-o", "yaml")).toBe(0)
      const list = parse((yield* output).stdout.slice(before).join("\n"))
      expect(list.kind).toBe("List")
      expect(list.items.map((o: { metadata: { name: string } }) => o.metadata.name)).toEqual(["qwen", "weather"])
      expect(list.items[0].metadata.managedFields).toBeUndefined()
      expect((yield* requests).slice(sent).map((r) => r.verb)).toEqual(["list"])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("says so on stderr when there is nothing to list", () =>
    Effect.gen(function* () {
      expect(yield* obol("sell", "list", "-n", "empty")).toBe(0)
      expect(yield* output).toMatchObject({ stdout: [], stderr: ["No ServiceOffers found in empty namespace."] })
    }).pipe(Effect.provide(layer()))
  )
})
