/**
 * Runs a process as a ServiceAccount holding only the rules of a deploy manifest: reads the
 * manifest's ClusterRole and Role rules, grants them in the test's namespace (RoleBindings, so
 * nothing leaks cluster-wide), and writes a kubeconfig with a bound token for that account.
 * A process that needs a verb the manifest forgot fails with Forbidden, and so does the test.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, inject } from "vitest"
import { parseAllDocuments, stringify } from "yaml"
import { request } from "./TestCluster.ts"

const rbac = "/apis/rbac.authorization.k8s.io/v1"

const created = async (path: string, body: unknown) => {
  const res = await request("POST", path, body)
  expect(res.status, `${path}: ${res.body}`).toBe(201)
}

/**
 * Creates the account in `namespace` holding exactly `roles` (each granted by a RoleBinding, so
 * nothing leaks cluster-wide); returns a bound token for it.
 *
 * @category constructors
 */
export const tokenFor = async (options: {
  readonly namespace: string
  readonly account: string
  readonly roles: ReadonlyArray<{ readonly rules?: unknown }>
}): Promise<string> => {
  const { namespace, account } = options
  await created(`/api/v1/namespaces/${namespace}/serviceaccounts`, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: account }
  })
  for (const [i, role] of options.roles.entries()) {
    const name = `${account}-${i}`
    await created(`${rbac}/namespaces/${namespace}/roles`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name },
      rules: role.rules
    })
    await created(`${rbac}/namespaces/${namespace}/rolebindings`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name: account, namespace }]
    })
  }
  const token = await request("POST", `/api/v1/namespaces/${namespace}/serviceaccounts/${account}/token`, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { expirationSeconds: 3600 }
  })
  expect(token.status, token.body).toBe(201)
  return token.json.status.token
}

/**
 * Creates the account with the manifest's rules in `namespace`; returns its kubeconfig path.
 */
export const kubeconfigFor = async (options: {
  readonly namespace: string
  readonly account: string
  readonly manifest: string
}): Promise<string> => {
  const documents = parseAllDocuments(readFileSync(options.manifest, "utf8")).map((d) => d.toJS()) as Array<{
    kind: string
    rules?: unknown
  }>
  const roles = documents.filter((d) => d.kind === "ClusterRole" || d.kind === "Role")
  expect(roles.length, `${options.manifest} has no roles`).toBeGreaterThan(0)
  const token = await tokenFor({ namespace: options.namespace, account: options.account, roles })
  const kubeconfig = join(mkdtempSync(join(tmpdir(), `${options.account}-sa-`)), "kubeconfig")
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "test", cluster: { server: inject("server"), "certificate-authority": inject("caFile") } }],
      users: [{ name: "sa", user: { token } }],
      contexts: [{ name: "sa", context: { cluster: "test", user: "sa" } }],
      "current-context": "sa"
    })
  )
  return kubeconfig
}
