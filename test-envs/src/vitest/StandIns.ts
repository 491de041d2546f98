/**
 * Stand-ins for the components around the serviceoffer-controller, for integration tests that
 * run it without them: the x402 verifier (admitting a PaymentRoute's current generation on its
 * status) and the Gateway (accepting an HTTPRoute on its status), plus a wait for an offer's
 * Ready condition. Each writes exactly what the real component would write, nothing more.
 */
import * as GatewayStandIn from "@obol/kube/testing/GatewayStandIn"
import { expect } from "vitest"
import { eventually, request } from "./TestCluster.ts"

const obol = (namespace: string, plural: string, name: string) =>
  `/apis/obol.org/v1alpha1/namespaces/${namespace}/${plural}/${name}`
const httpRoute = (namespace: string, name: string) =>
  `/apis/gateway.networking.k8s.io/v1/namespaces/${namespace}/httproutes/${name}`

/** Plays the x402 verifier: admits the offer's PaymentRoute at its current generation. */
export const admit = async (namespace: string, offer: string): Promise<void> => {
  const path = obol(namespace, "paymentroutes", `${offer}-payment`)
  const route = await eventually("the PaymentRoute", async () => {
    const r = await request("GET", path)
    return r.status === 200 ? r.json : undefined
  })
  const res = await request(
    "PATCH",
    `${path}/status`,
    { status: { admitted: true, lastAdmittedGeneration: route.metadata.generation } },
    "application/merge-patch+json"
  )
  expect(res.status, res.body).toBe(200)
}

/** Plays the Gateway: marks the offer's HTTPRoute Accepted and ResolvedRefs. */
export const accept = async (namespace: string, offer: string): Promise<void> => {
  const path = httpRoute(namespace, `so-${offer}`)
  await eventually("the HTTPRoute", async () => ((await request("GET", path)).status === 200 ? true : undefined))
  const res = await request(
    "PATCH",
    `${path}/status`,
    { status: GatewayStandIn.acceptedStatus() },
    "application/merge-patch+json"
  )
  expect(res.status, res.body).toBe(200)
}

/** Waits for the offer's Ready condition to be True; returns the offer. */
export const ready = (namespace: string, offer: string) =>
  eventually(`ServiceOffer ${offer} to be Ready`, async () => {
    const r = await request("GET", obol(namespace, "serviceoffers", offer))
    const condition = (r.json?.status?.conditions ?? []).find((c: { type: string }) => c.type === "Ready")
    return condition?.status === "True" ? r.json : undefined
  })
