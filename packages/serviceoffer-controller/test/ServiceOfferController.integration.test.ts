/**
 * The serviceoffer-controller on the real API server, in-process, with the test playing the x402
 * verifier (writing PaymentRoute admission) and the Gateway (writing HTTPRoute status). The sample
 * offer takes the default pay-on-success, and the verifier's Service lives in a namespace of its
 * own, so the controller's ReferenceGrant there is applied and removed for real.
 */
import { Effect, Fiber, Layer } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { parse } from "yaml"
import * as EventRecorder from "@obol/controller/EventRecorder"
import * as KubeConfig from "@obol/kube/KubeConfig"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import * as StandIns from "@obol/test-envs/vitest/StandIns"
import { eventually, kubectl, request, useNamespace } from "@obol/test-envs/vitest/TestCluster"
import * as ServiceOfferController from "@obol/serviceoffer-controller/ServiceOfferController"
import * as ServiceOfferReconciler from "@obol/serviceoffer-controller/ServiceOfferReconciler"
import * as UpstreamProbe from "@obol/serviceoffer-controller/UpstreamProbe"

const namespace = useNamespace("so-controller")
const verifierNamespace = useNamespace("so-verifier")
const repoRoot = join(import.meta.dirname, "..", "..", "..")
const api = (kind: string, name = "") => {
  const base =
    kind === "httproutes"
      ? `/apis/gateway.networking.k8s.io/v1/namespaces/${namespace()}/httproutes`
      : kind === "middlewares"
        ? `/apis/traefik.io/v1alpha1/namespaces/${namespace()}/middlewares`
        : `/apis/obol.org/v1alpha1/namespaces/${namespace()}/${kind}`
  return name === "" ? base : `${base}/${name}`
}
const exists = async (kind: string, name: string) => (await request("GET", api(kind, name))).status === 200
const grant = () =>
  `/apis/gateway.networking.k8s.io/v1beta1/namespaces/${verifierNamespace()}/referencegrants/so-${namespace()}.weather-api`

let fiber: Fiber.Fiber<never, never> | undefined

beforeAll(() => {
  const layer = Layer.mergeAll(
    NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layerFromFile(inject("kubeconfig"))), Layer.orDie),
    ServiceOfferReconciler.ReconcilerSettings.layer({
      publicBaseUrl: "https://seller.example",
      verifierService: { namespace: verifierNamespace(), name: "x402-verifier", port: 8080 }
    }),
    UpstreamProbe.layerMemory(new Map()),
    EventRecorder.layerNoop
  )
  fiber = Effect.runFork(ServiceOfferController.run({ namespace: namespace() }).pipe(Effect.provide(layer)))
})
afterAll(async () => {
  if (fiber !== undefined) await Effect.runPromise(Fiber.interrupt(fiber))
})

const admit = (name: string) => StandIns.admit(namespace(), name)
const accept = (name: string) => StandIns.accept(namespace(), name)
const ready = (name: string) => StandIns.ready(namespace(), name)

describe("serviceoffer-controller on the real API server", () => {
  it("takes the sample offer from create to Ready, withholding the route until admission", async () => {
    const sample = parse(
      readFileSync(join(repoRoot, "deploy", "samples", "serviceoffer-http-per-request.yaml"), "utf8")
    )
    sample.metadata.namespace = namespace()
    expect((await request("POST", api("serviceoffers"), sample)).status).toBe(201)
    await eventually("the PaymentRoute", async () =>
      (await exists("paymentroutes", "weather-api-payment")) ? true : undefined
    )
    // Pay-on-success: no ForwardAuth Middleware; the verifier's Service is granted to this namespace.
    expect(await exists("middlewares", "x402-weather-api")).toBe(false)
    expect(await exists("httproutes", "so-weather-api")).toBe(false)
    await eventually("the ReferenceGrant", async () =>
      (await request("GET", grant())).json?.spec?.from?.[0]?.namespace === namespace() ? true : undefined
    )
    await admit("weather-api")
    await accept("weather-api")
    const offer = await ready("weather-api")
    expect([offer.status.phase, offer.status.observedGeneration, offer.status.endpoint]).toEqual([
      "Ready",
      1,
      "https://seller.example/services/weather-api"
    ])
  })

  it("propagates a spec edit to the PaymentRoute and restores a child deleted from outside", async () => {
    const patched = await request(
      "PATCH",
      api("serviceoffers", "weather-api"),
      { spec: { payment: { price: { perRequest: "0.25" } } } },
      "application/merge-patch+json"
    )
    expect(patched.status).toBe(200)
    await eventually("the new price on the PaymentRoute", async () => {
      const r = await request("GET", api("paymentroutes", "weather-api-payment"))
      return r.json?.spec?.price === "250000" ? true : undefined
    })
    await admit("weather-api")
    await eventually("the HTTPRoute", async () => ((await exists("httproutes", "so-weather-api")) ? true : undefined))
    expect((await request("DELETE", api("httproutes", "so-weather-api"))).status).toBe(200)
    await eventually("the HTTPRoute to be restored", async () =>
      (await exists("httproutes", "so-weather-api")) ? true : undefined
    )
  })

  it("cleans up every child through the finalizer and the garbage collector on kubectl delete", async () => {
    const deleted = await kubectl([
      "delete",
      "serviceoffer",
      "weather-api",
      "-n",
      namespace(),
      "--wait=true",
      "--timeout=60s"
    ])
    expect(deleted.code, deleted.stderr).toBe(0)
    for (const [kind, name] of [
      ["httproutes", "so-weather-api"],
      ["paymentroutes", "weather-api-payment"]
    ] as const) {
      await eventually(`${kind}/${name} to be gone`, async () => ((await exists(kind, name)) ? undefined : true))
    }
    // No ownerReference can cross namespaces: the finalizer removed the grant before letting go.
    expect((await request("GET", grant())).status).toBe(404)
  })
})
