import { describe, expect, it } from "vitest"
import * as KubeError from "@obol/kube/KubeError"
import * as Explain from "@obol/cli/Explain"

const server = "https://10.0.0.1:6443"

describe("Explain", () => {
  it("reads verb, resource and namespace from a request line", () => {
    expect(Explain.describeRequest("GET /apis/obol.org/v1alpha1/namespaces/shop/serviceoffers?limit=500")).toEqual({
      verb: "list",
      resource: "serviceoffers.obol.org",
      plural: "serviceoffers",
      group: "obol.org",
      namespace: "shop"
    })
    expect(
      Explain.describeRequest("GET /apis/obol.org/v1alpha1/namespaces/shop/serviceoffers?watch=true&fieldSelector=x")
        ?.verb
    ).toBe("watch")
    expect(
      Explain.describeRequest("PATCH /apis/obol.org/v1alpha1/namespaces/shop/serviceoffers/api/status?fieldManager=x")
    ).toMatchObject({
      verb: "patch",
      resource: "serviceoffers.obol.org/status",
      plural: "serviceoffers/status"
    })
    expect(Explain.describeRequest("DELETE /api/v1/namespaces/shop/services/api")).toMatchObject({
      verb: "delete",
      resource: "services",
      group: ""
    })
  })

  it("turns Forbidden into the RBAC rule that is missing", () => {
    const failure = Explain.kubeError(
      new KubeError.KubeError({
        reason: "Forbidden",
        code: 403,
        message: "forbidden",
        request: "PATCH /apis/obol.org/v1alpha1/namespaces/shop/serviceoffers/api?fieldManager=obol"
      }),
      { server }
    )
    expect(failure.problems).toEqual([
      'forbidden: you may not patch serviceoffers.obol.org in namespace "shop"',
      'ask your cluster administrator for a Role granting verbs ["patch"] on resources ["serviceoffers"] in apiGroups ["obol.org"]'
    ])
    expect(failure.exitCode).toBe(1)
  })

  it("says how to install the CRDs when the API server does not know ServiceOffers", () => {
    const failure = Explain.kubeError(
      new KubeError.KubeError({
        reason: "NotFound",
        code: 404,
        message: "the server could not find the requested resource",
        request: "GET /apis/obol.org/v1alpha1/namespaces/default/serviceoffers"
      }),
      { server }
    )
    expect(failure.problems[0]).toBe(
      `the cluster at ${server} does not know serviceoffers.obol.org: the ServiceOffer CRDs are not installed`
    )
    expect(failure.problems[1]).toMatch(/kubectl apply -f deploy\/crds\//u)
  })

  it("names the server and the kubeconfig when there is no connection", () => {
    const failure = Explain.kubeError(
      new KubeError.KubeError({
        reason: "Transport",
        message: "GET /apis/obol.org/v1alpha1/serviceoffers: connect ECONNREFUSED 10.0.0.1:6443",
        request: "GET /apis/obol.org/v1alpha1/serviceoffers"
      }),
      { server }
    )
    expect(failure.problems[0]).toBe(`cannot reach the API server at ${server}: connect ECONNREFUSED 10.0.0.1:6443`)
  })

  it("lists the fields an invalid object was rejected for", () => {
    const failure = Explain.kubeError(
      new KubeError.KubeError({
        reason: "Invalid",
        code: 422,
        message: "invalid",
        causes: [{ field: "spec.payment.payTo", message: "should match pattern" }]
      }),
      { server }
    )
    expect(failure.problems).toEqual(["the API server rejected the object", "spec.payment.payTo: should match pattern"])
  })
})
