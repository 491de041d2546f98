/**
 * The children of every sample offer are accepted by the real API server (server-side dry run),
 * with the Gateway API, traefik.io and our CRDs installed.
 */
import { Result } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import * as CustomResource from "@obol/api/CustomResource"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import { request, useNamespace } from "@obol/test-envs/vitest/TestCluster"
import * as Children from "@obol/serviceoffer-controller/Children"

const namespace = useNamespace("children")
const repoRoot = join(import.meta.dirname, "..", "..", "..")

const paths: Record<string, string> = {
  Middleware: "/apis/traefik.io/v1alpha1/namespaces/{ns}/middlewares",
  PaymentRoute: "/apis/obol.org/v1alpha1/namespaces/{ns}/paymentroutes",
  HTTPRoute: "/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes",
  ReferenceGrant: "/apis/gateway.networking.k8s.io/v1beta1/namespaces/{ns}/referencegrants",
  RegistrationRequest: "/apis/obol.org/v1alpha1/namespaces/{ns}/registrationrequests"
}

describe("children on the real API server", () => {
  it.each([
    "deploy/samples/serviceoffer-http-per-request.yaml",
    "deploy/samples/serviceoffer-inference-per-mtok.yaml",
    "deploy/samples/serviceoffer-upfront.yaml",
    "packages/api/test/fixtures/obol-stack-serviceoffer.yaml"
  ])("accepts every child of %s", async (sample) => {
    const raw = parse(readFileSync(join(repoRoot, sample), "utf8"))
    raw.metadata = { ...raw.metadata, namespace: namespace(), uid: "00000000-0000-4000-8000-000000000001" }
    delete raw.status
    const offer = CustomResource.decodeResult(ServiceOffer, raw)
    if (Result.isFailure(offer)) throw new Error(offer.failure.message)
    const desired = Children.desired(offer.success, Children.defaultSettings)
    if (Result.isFailure(desired)) throw new Error(desired.failure.message)
    const pin = { route: "route-uid", generation: 1 }
    const grant = Children.referenceGrant(offer.success, Children.defaultSettings)
    const children =
      Children.settlementOf(offer.success) === "upfront"
        ? [
            Children.middleware(offer.success, Children.defaultSettings, pin),
            desired.success.paymentRoute,
            desired.success.httpRoute,
            desired.success.registrationRequest
          ]
        : [
            desired.success.paymentRoute,
            Children.httpRoute(offer.success, Children.defaultSettings, pin),
            // Applied in the verifier's namespace; checked here in the test's own.
            grant === undefined ? undefined : { ...grant, metadata: { ...grant.metadata, namespace: namespace() } },
            desired.success.registrationRequest
          ]
    for (const child of children.filter((c) => c !== undefined)) {
      const res = await request(
        "POST",
        `${paths[child.kind]!.replace("{ns}", namespace())}?dryRun=All&fieldValidation=Strict`,
        child
      )
      expect(res.status, `${child.kind}: ${res.body}`).toBe(201)
    }
  })
})
