/**
 * kube-controller-manager's garbage collector and namespace controller run in the test control
 * plane, so ownerReference cascades and namespace deletion behave as in a cluster.
 */
import { describe, expect, it } from "vitest"
import { eventually, request, useNamespace } from "../src/vitest/TestCluster.ts"

const namespace = useNamespace("gc")

const offer = (name: string, ns: string) => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "ServiceOffer",
  metadata: { name, namespace: ns },
  spec: {
    upstream: { service: "demo" },
    payment: {
      network: "base-sepolia",
      payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      price: { perRequest: "1" }
    }
  }
})

const route = (name: string, ns: string, owner: { name: string; uid: string }) => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "PaymentRoute",
  metadata: {
    name,
    namespace: ns,
    ownerReferences: [
      {
        apiVersion: "obol.org/v1alpha1",
        kind: "ServiceOffer",
        name: owner.name,
        uid: owner.uid,
        controller: true,
        blockOwnerDeletion: true
      }
    ]
  },
  spec: {
    offer: { name: owner.name },
    pattern: `/services/${owner.name}/*`,
    price: "1000000",
    priceModel: "perRequest",
    payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    network: "eip155:84532",
    asset: {
      address: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
      decimals: 6,
      eip712Name: "USDC",
      eip712Version: "2"
    },
    maxTimeoutSeconds: 300
  }
})

describe("garbage collection on the real control plane", () => {
  it("deletes an owned child after its owner is deleted", async () => {
    const ns = namespace()
    const owner = await request("POST", `/apis/obol.org/v1alpha1/namespaces/${ns}/serviceoffers`, offer("owner", ns))
    expect(owner.status, owner.body).toBe(201)
    const child = await request(
      "POST",
      `/apis/obol.org/v1alpha1/namespaces/${ns}/paymentroutes`,
      route("owner-payment", ns, { name: "owner", uid: owner.json.metadata.uid })
    )
    expect(child.status, child.body).toBe(201)

    const deleted = await request("DELETE", `/apis/obol.org/v1alpha1/namespaces/${ns}/serviceoffers/owner`)
    expect(deleted.status).toBe(200)
    await eventually("the child PaymentRoute to be collected", async () => {
      const res = await request("GET", `/apis/obol.org/v1alpha1/namespaces/${ns}/paymentroutes/owner-payment`)
      return res.status === 404 ? true : undefined
    })
  })

  it("completes a namespace deletion that still holds custom resources", async () => {
    const ns = `${namespace()}-doomed`
    expect(
      (await request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }))
        .status
    ).toBe(201)
    expect(
      (await request("POST", `/apis/obol.org/v1alpha1/namespaces/${ns}/serviceoffers`, offer("inside", ns))).status
    ).toBe(201)
    expect((await request("DELETE", `/api/v1/namespaces/${ns}`)).status).toBe(200)
    await eventually("the namespace to be gone", async () => {
      const res = await request("GET", `/api/v1/namespaces/${ns}`)
      return res.status === 404 ? true : undefined
    })
  })
})
