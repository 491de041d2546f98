/**
 * API-server behaviour the controllers rely on, checked on the real thing: generation moves only
 * with spec, status goes through its subresource, and a repeated server-side apply is a no-op.
 */
import { describe, expect, it } from "vitest"
import { request, useNamespace } from "../src/vitest/TestCluster.ts"
import * as Conformance from "@obol/kube/testing/Conformance"

const namespace = useNamespace("api-semantics")
const path = (name: string) => `/apis/obol.org/v1alpha1/namespaces/${namespace()}/serviceoffers/${name}`
const apply = (target: string, body: unknown) =>
  request("PATCH", `${target}?fieldManager=semantics-test&force=true`, body, "application/apply-patch+yaml")

/** A ServiceOffer in this file's namespace, the conformance suite's. */
const offer = (name: string, price = "0.001") => Conformance.offer(namespace(), name, price)

describe("API semantics on the real API server", () => {
  it("bumps generation on a spec write but not on a status write", async () => {
    const created = await apply(path("gen"), offer("gen"))
    expect(created.status, created.body).toBe(201)
    expect(created.json.metadata.generation).toBe(1)

    const status = await apply(`${path("gen")}/status`, {
      apiVersion: "obol.org/v1alpha1",
      kind: "ServiceOffer",
      metadata: { name: "gen", namespace: namespace() },
      status: { observedGeneration: 1, phase: "Pending" }
    })
    expect(status.status, status.body).toBe(200)
    expect(status.json.metadata.generation).toBe(1)
    expect(status.json.metadata.resourceVersion).not.toBe(created.json.metadata.resourceVersion)

    const spec = await apply(path("gen"), offer("gen", "0.002"))
    expect(spec.json.metadata.generation).toBe(2)
    expect(spec.json.status.phase).toBe("Pending")
  })

  it("ignores status sent to the main resource", async () => {
    const created = await apply(path("nostatus"), { ...offer("nostatus"), status: { phase: "Ready" } })
    expect(created.status, created.body).toBe(201)
    expect(created.json.status).toBeUndefined()
  })

  it("leaves resourceVersion unchanged when the same object is applied twice", async () => {
    const first = await apply(path("idem"), offer("idem"))
    const second = await apply(path("idem"), offer("idem"))
    expect(second.status).toBe(200)
    expect(second.json.metadata.resourceVersion).toBe(first.json.metadata.resourceVersion)
    expect(second.json.metadata.generation).toBe(1)
  })
})
