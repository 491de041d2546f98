/**
 * The generated CRDs, installed into a real kube-apiserver, accept what the Schemas accept and
 * reject the rest with the API server's own messages.
 */
import { describe, expect, it } from "vitest"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { parse } from "yaml"
import { request, useNamespace } from "../src/vitest/TestCluster.ts"

const repoRoot = join(import.meta.dirname, "..", "..")
const namespace = useNamespace("crd-validation")
const offers = () => `/apis/obol.org/v1alpha1/namespaces/${namespace()}/serviceoffers`

const manifest = (relative: string) => {
  const object = parse(readFileSync(join(repoRoot, relative), "utf8"))
  object.metadata.namespace = namespace()
  return object
}

const minimal = (name: string): any => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "ServiceOffer",
  metadata: { name },
  spec: {
    upstream: { service: "demo" },
    payment: {
      network: "base-sepolia",
      payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      price: { perRequest: "0.001" }
    }
  }
})

describe("the ServiceOffer CRD on a real API server", () => {
  const samples = readdirSync(join(repoRoot, "deploy", "samples")).filter((f) => f.startsWith("serviceoffer-"))

  it.each(samples)("accepts the sample %s", async (file) => {
    const created = await request("POST", offers(), manifest(`deploy/samples/${file}`))
    expect(created.status, created.body).toBe(201)
  })

  it("accepts an obol-stack manifest with every original field and reads it back with nothing pruned", async () => {
    const original = manifest("packages/api/test/fixtures/obol-stack-serviceoffer.yaml")
    const { status, ...withoutStatus } = original
    const created = await request("POST", offers(), withoutStatus)
    expect(created.status, created.body).toBe(201)
    const read = await request("GET", `${offers()}/${original.metadata.name}`)
    expect(read.json.spec).toEqual({
      ...original.spec,
      paused: false,
      payment: { ...original.spec.payment, settlement: "onSuccess" }
    })
    // The status subresource ignores status on create; write it through /status and read it back.
    const withStatus = await request("PUT", `${offers()}/${original.metadata.name}/status`, { ...read.json, status })
    expect(withStatus.status, withStatus.body).toBe(200)
    expect(withStatus.json.status).toEqual(status)
  })

  it("applies the obol-stack defaults", async () => {
    const created = await request("POST", offers(), minimal("defaults"))
    expect(created.json.spec).toMatchObject({
      type: "http",
      paused: false,
      upstream: { port: 11434, healthPath: "/health" },
      payment: { scheme: "exact", maxTimeoutSeconds: 300, settlement: "onSuccess" }
    })
  })

  const invalid: ReadonlyArray<readonly [string, (o: any) => void, string]> = [
    [
      "payTo pattern",
      (o) => (o.spec.payment.payTo = "0x1234"),
      `spec.payment.payTo: Invalid value: "0x1234": spec.payment.payTo in body should match '^0x[0-9a-fA-F]{40}$'`
    ],
    [
      "path pattern",
      (o) => (o.spec.path = "services/x"),
      `spec.path: Invalid value: "services/x": spec.path in body should match '^\\/[a-zA-Z0-9/_.-]*$'`
    ],
    [
      "decimal price pattern",
      (o) => (o.spec.payment.price.perRequest = "1e-3"),
      `spec.payment.price.perRequest: Invalid value: "1e-3": spec.payment.price.perRequest in body should match`
    ],
    [
      "network pattern",
      (o) => (o.spec.payment.network = "Base Sepolia"),
      `spec.payment.network: Invalid value: "Base Sepolia"`
    ],
    ["service name pattern", (o) => (o.spec.upstream.service = ""), `spec.upstream.service: Invalid value: ""`],
    [
      "upstream namespace pattern",
      (o) => (o.spec.upstream.namespace = "Not_A_Namespace"),
      `spec.upstream.namespace: Invalid value: "Not_A_Namespace"`
    ],
    [
      "healthPath pattern",
      (o) => (o.spec.upstream.healthPath = "health"),
      `spec.upstream.healthPath: Invalid value: "health"`
    ],
    [
      "asset address pattern",
      (o) => (o.spec.payment.asset = { address: "0xabc", decimals: 6, eip712Name: "USDC", eip712Version: "2" }),
      `spec.payment.asset.address: Invalid value: "0xabc"`
    ],
    [
      "asset decimals upper bound",
      (o) =>
        (o.spec.payment.asset = {
          address: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
          decimals: 37,
          eip712Name: "USDC",
          eip712Version: "2"
        }),
      "spec.payment.asset.decimals: Invalid value: 37: spec.payment.asset.decimals in body should be less than or equal to 36"
    ],
    [
      "type enum",
      (o) => (o.spec.type = "rpc"),
      `spec.type: Unsupported value: "rpc": supported values: "inference", "fine-tuning", "http"`
    ],
    [
      "runtime enum",
      (o) => (o.spec.model = { name: "m", runtime: "llamacpp" }),
      `spec.model.runtime: Unsupported value: "llamacpp": supported values: "ollama", "vllm", "tgi"`
    ],
    ["scheme enum", (o) => (o.spec.payment.scheme = "upto"), `spec.payment.scheme: Unsupported value: "upto"`],
    [
      "port lower bound",
      (o) => (o.spec.upstream.port = 0),
      "spec.upstream.port: Invalid value: 0: spec.upstream.port in body should be greater than or equal to 1"
    ],
    [
      "port upper bound",
      (o) => (o.spec.upstream.port = 65536),
      "spec.upstream.port: Invalid value: 65536: spec.upstream.port in body should be less than or equal to 65535"
    ],
    [
      "maxTimeoutSeconds lower bound",
      (o) => (o.spec.payment.maxTimeoutSeconds = 0),
      "spec.payment.maxTimeoutSeconds: Invalid value: 0: spec.payment.maxTimeoutSeconds in body should be greater than or equal to 1"
    ],
    [
      "maxTimeoutSeconds upper bound",
      (o) => (o.spec.payment.maxTimeoutSeconds = 3601),
      "spec.payment.maxTimeoutSeconds: Invalid value: 3601: spec.payment.maxTimeoutSeconds in body should be less than or equal to 3600"
    ],
    [
      "CEL: at least one price",
      (o) => (o.spec.payment.price = { perEpoch: "1" }),
      "spec.payment.price: Invalid value: at least one of perRequest, perMTok or perHour must be set"
    ],
    [
      "CEL: inference needs a model",
      (o) => (o.spec.type = "inference"),
      "spec.model: Invalid value: model is required when type is inference"
    ],
    [
      "CEL: upstream credentials need pay-on-success",
      (o) => {
        o.spec.upstream.authorization = { secretKeyRef: { name: "litellm-secrets", key: "LITELLM_MASTER_KEY" } }
        o.spec.payment.settlement = "upfront"
      },
      "spec.upstream.authorization: Invalid value: upstream.authorization needs settlement onSuccess"
    ],
    ["required upstream", (o) => delete o.spec.upstream, "spec.upstream: Required value"]
  ]

  it.each(invalid)("rejects a violated %s with the API server's message", async (_, breakIt, message) => {
    const offer = minimal("invalid")
    breakIt(offer)
    const res = await request("POST", `${offers()}?dryRun=All`, offer)
    expect(res.status, res.body).toBe(422)
    expect(res.json.message).toContain(message)
  })
})
