/**
 * kubectl accepts the committed CRDs. Client-side dry-run needs API discovery even for
 * `--validate=false`, so a minimal discovery endpoint (apiextensions.k8s.io/v1 only) answers on
 * loopback. Schema validation by a real kube-apiserver is in the integration tier.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { promisify } from "node:util"
import { repoRoot } from "./utils/manifests.ts"

const run = promisify(execFile)

const discovery: Record<string, unknown> = {
  "/api": { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] },
  "/api/v1": { kind: "APIResourceList", groupVersion: "v1", resources: [] },
  "/apis": {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [
      {
        name: "apiextensions.k8s.io",
        versions: [{ groupVersion: "apiextensions.k8s.io/v1", version: "v1" }],
        preferredVersion: { groupVersion: "apiextensions.k8s.io/v1", version: "v1" }
      }
    ]
  },
  "/apis/apiextensions.k8s.io/v1": {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: "apiextensions.k8s.io/v1",
    resources: [
      {
        name: "customresourcedefinitions",
        singularName: "customresourcedefinition",
        namespaced: false,
        kind: "CustomResourceDefinition",
        verbs: ["create", "delete", "get", "list", "patch", "update", "watch"]
      }
    ]
  }
}

describe("deploy/crds", () => {
  it("is accepted by kubectl apply --dry-run=client", async () => {
    const server = createServer((req, res) => {
      const body = discovery[(req.url ?? "").split("?")[0]!]
      if (body === undefined) {
        res.writeHead(404, { "content-type": "application/json" })
        res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 }))
        return
      }
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify(body))
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const { port } = server.address() as AddressInfo
    try {
      const { stdout } = await run(
        "kubectl",
        [
          "apply",
          "--dry-run=client",
          "--validate=false",
          "-s",
          `http://127.0.0.1:${port}`,
          "-f",
          join(repoRoot, "deploy", "crds")
        ],
        { env: { ...process.env, KUBECONFIG: "/dev/null" } }
      ).catch((error: NodeJS.ErrnoException & { stderr?: string }) => {
        if (error.code === "ENOENT")
          throw new Error("kubectl is not installed; install it with `apt-get install kubectl`")
        throw new Error(`kubectl rejected deploy/crds:\n${error.stderr ?? error.message}`)
      })
      expect(stdout.trim().split("\n").toSorted()).toEqual([
        "customresourcedefinition.apiextensions.k8s.io/paymentroutes.obol.org created (dry run)",
        "customresourcedefinition.apiextensions.k8s.io/registrationrequests.obol.org created (dry run)",
        "customresourcedefinition.apiextensions.k8s.io/serviceoffers.obol.org created (dry run)"
      ])
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
