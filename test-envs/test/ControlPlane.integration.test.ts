import { describe, expect, it } from "vitest"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { parse } from "yaml"
import { kubectl, request, useNamespace } from "../src/vitest/TestCluster.ts"

const repoRoot = join(import.meta.dirname, "..", "..")
const namespace = useNamespace("control-plane")

describe("the test control plane", () => {
  it("is kube-apiserver v1.37.2, built from Go modules", async () => {
    const version = await request("GET", "/version")
    expect(version.json.gitVersion).toBe("v1.37.2")
  })

  it("has our CRDs, the Gateway API standard CRDs and the traefik.io CRDs installed and Established", async () => {
    const crds = await request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    const established = new Set(
      crds.json.items
        .filter((crd: any) => crd.status.conditions.some((c: any) => c.type === "Established" && c.status === "True"))
        .map((crd: any) => crd.metadata.name)
    )
    for (const name of [
      "serviceoffers.obol.org",
      "paymentroutes.obol.org",
      "registrationrequests.obol.org",
      "httproutes.gateway.networking.k8s.io",
      "gateways.gateway.networking.k8s.io",
      "gatewayclasses.gateway.networking.k8s.io",
      "middlewares.traefik.io"
    ]) {
      expect(established, name).toContain(name)
    }
  })

  it("shows the ServiceOffer printer columns in kubectl get so", async () => {
    const sample = readFileSync(join(repoRoot, "deploy", "samples", "serviceoffer-http-per-request.yaml"), "utf8")
    const manifest = parse(sample)
    manifest.metadata.namespace = namespace()
    const applied = await kubectl(["apply", "-f", "-"], JSON.stringify(manifest))
    expect(applied.stderr).toBe("")
    // The controller writes status.price (the price that applies, whatever its kind); play it here.
    const status = await kubectl([
      "patch",
      "so",
      "weather-api",
      "-n",
      namespace(),
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { price: "0.001 USDC/request" } })
    ])
    expect(status.code, status.stderr).toBe(0)
    const table = await kubectl(["get", "so", "-n", namespace()])
    const [header, row] = table.stdout.trim().split("\n")
    expect(header?.split(/\s+/)).toEqual(["NAME", "TYPE", "MODEL", "PRICE", "NETWORK", "READY", "AGE"])
    // The sample has no model, so MODEL prints blank and splitting on whitespace skips it.
    expect(row?.split(/\s+/).slice(0, 5)).toEqual(["weather-api", "http", "0.001", "USDC/request", "base-sepolia"])
  })

  it("explains ServiceOffer fields with the Schema's descriptions", async () => {
    const explained = await kubectl(["explain", "serviceoffer.spec.payment"])
    expect(explained.code).toBe(0)
    expect(explained.stdout).toContain("How buyers pay: x402 scheme, network, recipient, price and token.")
    expect(explained.stdout).toContain("Address that receives payments (0x + 40 hex digits).")
    const price = await kubectl(["explain", "serviceoffer.spec.payment.price.perRequest"])
    expect(price.stdout).toContain('Price of one request, e.g. "0.001" (USDC).')
  })
})
