import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Fiber } from "effect"
import { Secret } from "@obol/kube/builtin/Secret"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import { TestClock } from "effect/testing"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parse } from "yaml"
import { obol, offer, output, payTo, requests, sellHttp, layer, untilOutput, writeStatus } from "../utils/Harness.ts"

const ready = [
  { type: "UpstreamHealthy", status: "True", reason: "Healthy" },
  { type: "PaymentGateReady", status: "True", reason: "Admitted" },
  { type: "RoutePublished", status: "True", reason: "Accepted" },
  { type: "Ready", status: "True", reason: "Ready" }
] as const

describe("obol sell http", () => {
  it.effect("creates the offer with one server-side apply under the obol field manager", () =>
    Effect.gen(function* () {
      expect(yield* sellHttp("weather", "--port", "8081")).toBe(0)
      const writes = (yield* requests).filter((r) => r.verb !== "get")
      expect(writes).toHaveLength(1)
      expect(writes[0]).toMatchObject({
        verb: "apply",
        kind: "ServiceOffer",
        name: "weather",
        namespace: "default",
        fieldManager: "obol"
      })
      const created = yield* offer("weather")
      expect(created._tag).toBe("Some")
      const spec = created._tag === "Some" ? created.value.spec : undefined
      expect(spec).toMatchObject({
        type: "http",
        upstream: { service: "weather", port: 8081, healthPath: "/health" },
        payment: { network: "base-sepolia", payTo, maxTimeoutSeconds: 300, price: { perRequest: "0.001" } },
        paused: false
      })
      expect((yield* output).stdout).toEqual(["serviceoffer.obol.org/weather created in namespace default"])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("is idempotent: the same command again changes nothing, changed flags update the offer", () =>
    Effect.gen(function* () {
      yield* sellHttp("weather")
      const first = yield* offer("weather")
      yield* sellHttp("weather")
      const second = yield* offer("weather")
      expect(second._tag === "Some" && second.value.metadata.resourceVersion).toBe(
        first._tag === "Some" && first.value.metadata.resourceVersion
      )
      yield* obol("sell", "http", "weather", "-w", payTo, "--upstream", "weather", "--price", "0.002")
      const third = yield* offer("weather")
      expect(third._tag === "Some" && third.value.spec.payment.price).toEqual({ perRequest: "0.002" })
      expect(third._tag === "Some" && third.value.metadata.generation).toBe(2)
      expect((yield* output).stdout).toEqual([
        "serviceoffer.obol.org/weather created in namespace default",
        "serviceoffer.obol.org/weather unchanged in namespace default",
        "serviceoffer.obol.org/weather configured in namespace default"
      ])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("takes the wallet from X402_WALLET and writes the registration and paused flags", () =>
    Effect.gen(function* () {
      const code = yield* obol(
        "sell",
        "http",
        "weather",
        "-n",
        "shop",
        "--upstream",
        "weather",
        "--per-hour",
        "2",
        "--paused",
        "--register",
        "--register-name",
        "Weather",
        "--register-skills",
        "a,b",
        "--register-skills",
        "c",
        "--register-metadata",
        "k=v",
        "--path",
        "/weather",
        "--upstream-namespace",
        "apis",
        "--max-timeout",
        "60"
      ).pipe(
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: { X402_WALLET: payTo } }))
      )
      expect(code).toBe(0)
      const created = yield* offer("weather", "shop")
      expect(created._tag === "Some" && created.value.spec).toMatchObject({
        upstream: { service: "weather", namespace: "apis" },
        payment: { payTo, maxTimeoutSeconds: 60, price: { perHour: "2" } },
        path: "/weather",
        paused: true,
        registration: { enabled: true, name: "Weather", skills: ["a", "b", "c"], metadata: { k: "v" } }
      })
    }).pipe(Effect.provide(layer()))
  )

  it.effect("writes --provenance-file's fields as spec.provenance, numbers as strings", () =>
    Effect.gen(function* () {
      const file = join(mkdtempSync(join(tmpdir(), "obol-cli-")), "provenance.json")
      writeFileSync(file, JSON.stringify({ framework: "autoresearch", metricValue: 0.93, paramCount: "8B" }))
      expect(yield* sellHttp("weather", "--provenance-file", file)).toBe(0)
      const created = yield* offer("weather")
      expect(created._tag === "Some" && created.value.spec.provenance).toEqual({
        framework: "autoresearch",
        metricValue: "0.93",
        paramCount: "8B"
      })
      writeFileSync(file, JSON.stringify({ nested: { no: 1 } }))
      expect(yield* sellHttp("weather", "--provenance-file", file)).toBe(2)
      expect((yield* output).stderr.at(-1)).toMatch(/must hold one JSON object of string \(or number\) values/u)
    }).pipe(Effect.provide(layer()))
  )

  it.effect(
    "--upstream-auth-secret lets the verifier read that one Secret and has the Secret name the offer, then writes the reference (never a value)",
    () =>
      Effect.gen(function* () {
        yield* KubeClient.KubeClient.use((c) =>
          c.create(Secret, {
            apiVersion: "v1",
            kind: "Secret",
            metadata: {
              name: "litellm-secrets",
              namespace: "shop",
              annotations: { "obol.org/upstream-auth-offers": "chat" }
            },
            data: { LITELLM_MASTER_KEY: Buffer.from("sk-1").toString("base64") }
          })
        )
        const args = ["--upstream-auth-secret", "litellm-secrets", "--upstream-auth-key", "LITELLM_MASTER_KEY"]
        expect(yield* sellHttp("llm", "-n", "shop", ...args)).toBe(0)
        const writes = (yield* requests).filter((r) => r.verb !== "get" && r.verb !== "create")
        expect(writes.map((r) => `${r.verb} ${r.kind} ${r.namespace}/${r.name}`)).toEqual([
          "patch Secret shop/litellm-secrets",
          "apply Role shop/x402-verifier-secret-litellm-secrets",
          "apply RoleBinding shop/x402-verifier-secret-litellm-secrets",
          "apply ServiceOffer shop/llm"
        ])
        const secret = yield* KubeClient.KubeClient.use((c) =>
          c.get(Secret, { namespace: "shop", name: "litellm-secrets" })
        )
        expect(secret.metadata.annotations?.["obol.org/upstream-auth-offers"]).toBe("chat,llm")
        expect((writes[1]!.body as any).rules).toEqual([
          {
            apiGroups: [""],
            resources: ["secrets"],
            resourceNames: ["litellm-secrets"],
            verbs: ["get", "list", "watch"]
          }
        ])
        expect((writes[2]!.body as any).subjects).toEqual([
          { kind: "ServiceAccount", name: "x402-verifier", namespace: "x402" }
        ])
        const created = yield* offer("llm", "shop")
        expect(created._tag === "Some" && created.value.spec.upstream.authorization).toEqual({
          secretKeyRef: { name: "litellm-secrets", key: "LITELLM_MASTER_KEY" },
          scheme: "Bearer"
        })
        expect(JSON.stringify(writes)).not.toContain(Buffer.from("sk-1").toString("base64"))
        // Again: nothing new to grant or annotate.
        yield* sellHttp("llm", "-n", "shop", ...args)
        expect((yield* requests).filter((r) => r.verb === "patch" && r.kind === "Secret").length).toBe(1)
      }).pipe(Effect.provide(layer()))
  )

  it.effect("--upstream-auth-secret naming a Secret that does not exist says so and sends nothing", () =>
    Effect.gen(function* () {
      const args = ["--upstream-auth-secret", "litellm-secrets", "--upstream-auth-key", "LITELLM_MASTER_KEY"]
      expect(yield* sellHttp("llm", "-n", "shop", ...args)).toBe(1)
      expect((yield* requests).filter((r) => r.verb !== "get")).toEqual([])
      expect((yield* output).stderr.join("\n")).toContain(
        "Secret shop/litellm-secrets does not exist; nothing was sent"
      )
    }).pipe(Effect.provide(layer()))
  )

  it.effect("--dry-run prints the manifest and sends nothing", () =>
    Effect.gen(function* () {
      expect(yield* sellHttp("weather", "-n", "shop", "--dry-run")).toBe(0)
      expect(yield* requests).toEqual([])
      const manifest = parse((yield* output).stdout.join("\n"))
      expect(manifest).toMatchObject({
        apiVersion: "obol.org/v1alpha1",
        kind: "ServiceOffer",
        metadata: { name: "weather", namespace: "shop" },
        spec: { payment: { price: { perRequest: "0.001" } } }
      })
      expect(manifest.spec.paused).toBeUndefined()
      const before = (yield* output).stdout.length
      expect(yield* sellHttp("weather", "-n", "shop", "--dry-run", "-o", "json")).toBe(0)
      expect(JSON.parse((yield* output).stdout.slice(before).join("\n"))).toMatchObject({ kind: "ServiceOffer" })
      expect(yield* requests).toEqual([])
    }).pipe(Effect.provide(layer()))
  )

  const bad: ReadonlyArray<readonly [string, ReadonlyArray<string>, RegExp]> = [
    [
      "a wallet that is not an address",
      ["-w", "0x1234", "--upstream", "w", "--price", "1"],
      /--wallet "0x1234" is not an address/u
    ],
    ["no wallet", ["--upstream", "w", "--price", "1"], /--wallet is required/u],
    [
      "an unknown chain",
      ["-w", payTo, "--upstream", "w", "--price", "1", "--chain", "solana"],
      /--chain "solana" is not a known network/u
    ],
    [
      "a price finer than USDC allows",
      ["-w", payTo, "--upstream", "w", "--price", "0.0000001"],
      /has 7 decimal places, but the token has only 6/u
    ],
    [
      "a per-MTok price finer than USDC allows per request",
      ["-w", payTo, "--upstream", "w", "--per-mtok", "0.0001"],
      /finer than the token's 6 decimals/u
    ],
    ["a zero price", ["-w", payTo, "--upstream", "w", "--price", "0"], /zero; a payment gate must charge something/u],
    [
      "a price that is not a decimal",
      ["-w", payTo, "--upstream", "w", "--price", "1e-3"],
      /not a plain decimal number/u
    ],
    [
      "two price flags",
      ["-w", payTo, "--upstream", "w", "--price", "1", "--per-mtok", "2"],
      /give only one price flag, not --price and --per-mtok/u
    ],
    ["no price", ["-w", payTo, "--upstream", "w"], /a price is required/u],
    ["no upstream", ["-w", payTo, "--price", "1"], /--upstream is required/u],
    [
      "an upstream that is not a Service name",
      ["-w", payTo, "--upstream", "My_Svc", "--price", "1"],
      /--upstream: Expected a Service name/u
    ],
    [
      "a port out of range",
      ["-w", payTo, "--upstream", "w", "--price", "1", "--port", "70000"],
      /--port 70000 must be between 1 and 65535/u
    ],
    [
      "a path with spaces",
      ["-w", payTo, "--upstream", "w", "--price", "1", "--path", "/a b"],
      /--path: Expected a URL path/u
    ],
    [
      "an asset without decimals",
      ["-w", payTo, "--upstream", "w", "--price", "1", "--asset", payTo, "--asset-name", "T", "--asset-version", "1"],
      /--asset needs --asset-decimals/u
    ],
    [
      "an asset without its EIP-712 name",
      [
        "-w",
        payTo,
        "--upstream",
        "w",
        "--price",
        "1",
        "--asset",
        payTo,
        "--asset-decimals",
        "18",
        "--asset-version",
        "1"
      ],
      /--asset needs --asset-name/u
    ],
    [
      "asset details without an asset",
      ["-w", payTo, "--upstream", "w", "--price", "1", "--asset-decimals", "18"],
      /--asset-decimals needs --asset/u
    ],
    [
      "a missing provenance file",
      ["-w", payTo, "--upstream", "w", "--price", "1", "--provenance-file", "/nonexistent.json"],
      /--provenance-file \/nonexistent.json: no such file/u
    ],
    ["a bad --wait", ["-w", payTo, "--upstream", "w", "--price", "1", "--wait=soon"], /--wait=soon is not a duration/u],
    [
      "a credential Secret without its key",
      ["-w", payTo, "--upstream", "w", "--price", "1", "--upstream-auth-secret", "litellm-secrets"],
      /--upstream-auth-secret needs --upstream-auth-key/u
    ],
    [
      "a credential for an upfront offer",
      [
        "-w",
        payTo,
        "--upstream",
        "w",
        "--price",
        "1",
        "--settlement",
        "upfront",
        "--upstream-auth-secret",
        "s",
        "--upstream-auth-key",
        "k"
      ],
      /--upstream-auth-secret needs --settlement onSuccess/u
    ],
    [
      "a credential Secret that is not a Secret name",
      [
        "-w",
        payTo,
        "--upstream",
        "w",
        "--price",
        "1",
        "--upstream-auth-secret",
        "My_Secret",
        "--upstream-auth-key",
        "k"
      ],
      /--upstream-auth-secret: Expected a Secret name/u
    ]
  ]

  it.effect.each(bad)("rejects %s with exit 2, one line naming the flag, and sends nothing", ([, args, message]) =>
    Effect.gen(function* () {
      expect(yield* obol("sell", "http", "weather", ...args)).toBe(2)
      expect(yield* requests).toEqual([])
      const { stderr } = yield* output
      expect(stderr.join("\n")).toMatch(message)
      // One problem, one line.
      expect(stderr).toHaveLength(1)
      expect(stderr[0]).toMatch(/^error: /u)
    }).pipe(Effect.provide(layer()))
  )

  it.effect("reports every problem at once", () =>
    Effect.gen(function* () {
      expect(
        yield* obol("sell", "http", "Weather", "-w", "nope", "--chain", "nope", "--price", "1", "--per-hour", "1")
      ).toBe(2)
      const { stderr } = yield* output
      expect(stderr[0]).toBe("error: 5 problems, nothing was sent:")
      expect(stderr.slice(1).map((l) => l.replace(/^ {2}- /u, "").split(" ")[0])).toEqual([
        "<name>",
        "--wallet",
        "--upstream",
        "give",
        "--chain"
      ])
    }).pipe(Effect.provide(layer()))
  )
})

describe("obol sell http --wait", () => {
  it.effect(
    "prints each condition as it changes, with the elapsed time, and ends Ready with the endpoint and price",
    () =>
      Effect.gen(function* () {
        const run = yield* Effect.forkChild(sellHttp("weather", "--wait"))
        yield* untilOutput((o) => o.stdout.some((l) => l.includes("created")))
        yield* TestClock.adjust("120 millis")
        yield* writeStatus("weather", [
          { type: "UpstreamHealthy", status: "False", reason: "NoEndpoints", message: "no ready endpoints" },
          { type: "PaymentGateReady", status: "False", reason: "AwaitingAdmission" }
        ])
        yield* untilOutput((o) => o.stdout.some((l) => l.startsWith("PaymentGateReady False")))
        yield* TestClock.adjust("90 millis")
        yield* writeStatus("weather", ready, { phase: "Ready" })
        expect(yield* Fiber.join(run)).toBe(0)
        expect((yield* output).stdout).toEqual([
          "serviceoffer.obol.org/weather created in namespace default",
          "UpstreamHealthy False NoEndpoints 0.12s - no ready endpoints",
          "PaymentGateReady False AwaitingAdmission 0.12s",
          "UpstreamHealthy True Healthy 0.21s",
          "PaymentGateReady True Admitted 0.21s",
          "RoutePublished True Accepted 0.21s",
          "Ready True Ready 0.21s",
          `Ready: http://obol.stack:8080/services/weather sells for 0.001 USDC/request on base-sepolia, paid to ${payTo}`
        ])
      }).pipe(Effect.provide(layer()))
  )

  it.effect("fails at once on a condition that waiting will not fix", () =>
    Effect.gen(function* () {
      const run = yield* Effect.forkChild(sellHttp("weather", "--wait"))
      yield* untilOutput((o) => o.stdout.some((l) => l.includes("created")))
      yield* writeStatus("weather", [
        {
          type: "PaymentGateReady",
          status: "False",
          reason: "PathConflict",
          message: "path /services/weather is served by shop/other"
        }
      ])
      expect(yield* Fiber.join(run)).toBe(1)
      const { stderr } = yield* output
      expect(stderr[0]).toBe(
        "error: default/weather: PaymentGateReady is False (PathConflict): path /services/weather is served by shop/other"
      )
    }).pipe(Effect.provide(layer()))
  )

  it.effect("times out naming the condition that is stuck and why", () =>
    Effect.gen(function* () {
      const run = yield* Effect.forkChild(sellHttp("weather", "--wait=2m"))
      yield* untilOutput((o) => o.stdout.some((l) => l.includes("created")))
      yield* writeStatus("weather", [
        {
          type: "UpstreamHealthy",
          status: "False",
          reason: "NoEndpoints",
          message: "Service default/weather has no ready endpoints"
        },
        { type: "PaymentGateReady", status: "True", reason: "Admitted" }
      ])
      yield* untilOutput((o) => o.stdout.some((l) => l.startsWith("PaymentGateReady True")))
      yield* TestClock.adjust("2 minutes")
      expect(yield* Fiber.join(run)).toBe(1)
      expect((yield* output).stderr).toEqual([
        "error: default/weather is not Ready after 2m00s: waiting for UpstreamHealthy (NoEndpoints: Service default/weather has no ready endpoints)"
      ])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("times out saying the controller never answered when no status appears", () =>
    Effect.gen(function* () {
      const run = yield* Effect.forkChild(sellHttp("weather", "--wait"))
      yield* untilOutput((o) => o.stdout.some((l) => l.includes("created")))
      yield* TestClock.adjust("5 minutes")
      expect(yield* Fiber.join(run)).toBe(1)
      expect((yield* output).stderr[0]).toMatch(
        /is not Ready after 5m00s: waiting for the serviceoffer-controller to reconcile the offer/u
      )
    }).pipe(Effect.provide(layer()))
  )

  it.effect("ignores conditions computed for an older generation", () =>
    Effect.gen(function* () {
      yield* sellHttp("weather")
      yield* writeStatus("weather", ready, { phase: "Ready" })
      const run = yield* Effect.forkChild(
        obol("sell", "http", "weather", "-w", payTo, "--upstream", "weather", "--price", "0.005", "--wait")
      )
      yield* untilOutput((o) => o.stdout.some((l) => l.includes("configured")))
      yield* TestClock.adjust("1 second")
      expect((yield* output).stdout.filter((l) => l.startsWith("Ready"))).toEqual([])
      yield* writeStatus("weather", ready, { phase: "Ready", generation: 2 })
      expect(yield* Fiber.join(run)).toBe(0)
      expect((yield* output).stdout.at(-1)).toMatch(/^Ready: .* sells for 0.005 USDC\/request/u)
    }).pipe(Effect.provide(layer()))
  )

  it.effect("shows a spinner naming what it waits for on a terminal, and clears it", () =>
    Effect.gen(function* () {
      const run = yield* Effect.forkChild(sellHttp("weather", "--wait"))
      yield* untilOutput((o) => o.stdout.some((l) => l.includes("created")))
      yield* writeStatus("weather", [
        { type: "UpstreamHealthy", status: "False", reason: "NoEndpoints", message: "none" }
      ])
      yield* untilOutput((o) => o.stdout.some((l) => l.startsWith("UpstreamHealthy")))
      yield* TestClock.adjust("300 millis")
      yield* writeStatus("weather", ready, { phase: "Ready" })
      expect(yield* Fiber.join(run)).toBe(0)
      const { status } = yield* output
      expect(
        status.some(
          (s) =>
            s !== undefined &&
            /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /u.test(s) &&
            s.includes("waiting for UpstreamHealthy (NoEndpoints: none)")
        )
      ).toBe(true)
      expect(status.at(-1)).toBeUndefined()
    }).pipe(Effect.provide(layer({ tty: true })))
  )
})

describe("obol sell http --wait, more", () => {
  it.effect(
    "with -o json, stdout carries only the object (after the wait, with its status); progress goes to stderr",
    () =>
      Effect.gen(function* () {
        const run = yield* Effect.forkChild(sellHttp("weather", "--wait", "-o", "json"))
        yield* untilOutput((o) => o.stderr.some((l) => l.includes("created")))
        yield* writeStatus("weather", ready, { phase: "Ready" })
        expect(yield* Fiber.join(run)).toBe(0)
        const { stdout, stderr } = yield* output
        const printed = JSON.parse(stdout.join("\n"))
        expect(printed.status.phase).toBe("Ready")
        expect(stderr).toContain("Ready True Ready 0.00s")
      }).pipe(Effect.provide(layer()))
  )

  it.effect("on an offer stopped with obol sell stop, waits for Paused, not for a Ready that will not come", () =>
    Effect.gen(function* () {
      yield* sellHttp("weather")
      yield* obol("sell", "stop", "weather")
      const run = yield* Effect.forkChild(sellHttp("weather", "--wait"))
      yield* untilOutput((o) => o.stdout.some((l) => l.includes("unchanged")))
      yield* writeStatus("weather", [{ type: "RoutePublished", status: "False", reason: "Paused" }], {
        phase: "Paused"
      })
      expect(yield* Fiber.join(run)).toBe(0)
      expect((yield* output).stdout.at(-1)).toMatch(/^Paused: .* is withdrawn until `obol sell resume weather`/u)
    }).pipe(Effect.provide(layer()))
  )

  it.effect("survives a watch that expires (410 Gone) by listing again", () =>
    Effect.gen(function* () {
      yield* FakeKube.FakeKube.use((f) =>
        f.failNext("watch", {
          error: new KubeError.KubeError({ reason: "Gone", code: 410, message: "too old resource version" })
        })
      )
      const run = yield* Effect.forkChild(sellHttp("weather", "--wait"))
      yield* untilOutput((o) => o.stdout.some((l) => l.includes("created")))
      yield* TestClock.adjust("1 second")
      yield* writeStatus("weather", ready, { phase: "Ready" })
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(run)).toBe(0)
      expect((yield* requests).filter((r) => r.verb === "watch").length).toBeGreaterThanOrEqual(2)
    }).pipe(Effect.provide(layer()))
  )

  it.effect("fails at once when it may not watch, saying which permission is missing", () =>
    Effect.gen(function* () {
      yield* FakeKube.FakeKube.use((f) =>
        f.failNext("watch", {
          error: new KubeError.KubeError({
            reason: "Forbidden",
            code: 403,
            message: "forbidden",
            request: "GET /apis/obol.org/v1alpha1/namespaces/default/serviceoffers?watch=true"
          })
        })
      )
      expect(yield* sellHttp("weather", "--wait")).toBe(1)
      expect((yield* output).stderr[0]).toBe(
        'error: forbidden: you may not watch serviceoffers.obol.org in namespace "default"'
      )
    }).pipe(Effect.provide(layer()))
  )
})

describe("obol sell inference", () => {
  it.effect("writes type inference with the model from --model and the per-MTok price", () =>
    Effect.gen(function* () {
      const code = yield* obol(
        "sell",
        "inference",
        "qwen",
        "-w",
        payTo,
        "--model",
        "qwen3:8b",
        "--runtime",
        "vllm",
        "--upstream",
        "vllm",
        "--upstream-namespace",
        "llm",
        "--per-mtok",
        "1.25",
        "--register",
        "--register-domains",
        "ai"
      )
      expect(code).toBe(0)
      const created = yield* offer("qwen")
      expect(created._tag === "Some" && created.value.spec).toMatchObject({
        type: "inference",
        model: { name: "qwen3:8b", runtime: "vllm" },
        upstream: { service: "vllm", namespace: "llm", port: 11434 },
        payment: { price: { perMTok: "1.25" } },
        registration: { enabled: true, domains: ["ai"] }
      })
    }).pipe(Effect.provide(layer()))
  )

  it.effect("requires --model", () =>
    Effect.gen(function* () {
      expect(yield* obol("sell", "inference", "qwen", "-w", payTo, "--upstream", "ollama", "--per-mtok", "1")).toBe(2)
      expect((yield* output).stderr[0]).toMatch(/--model is required for inference offers/u)
      expect(yield* requests).toEqual([])
    }).pipe(Effect.provide(layer()))
  )
})
