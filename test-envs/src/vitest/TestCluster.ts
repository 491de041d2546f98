/**
 * What an integration test file uses to reach the shared control plane: an admin HTTP client, a
 * `kubectl` runner bound to the kubeconfig, and a namespace of its own (created before the file's
 * tests, deleted after, so files never see each other's objects).
 */
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, inject } from "vitest"
import * as KubeHttp from "../KubeHttp.ts"

/** The admin client for the shared control plane. */
export const http = (): KubeHttp.KubeHttp =>
  KubeHttp.make({
    server: inject("server"),
    caFile: inject("caFile"),
    certFile: inject("certFile"),
    keyFile: inject("keyFile")
  })

/** Runs one request and returns its response; fails the test on transport errors. */
export const request = (method: string, path: string, body?: unknown, contentType?: string) =>
  Effect.runPromise(http().request(method, path, body, contentType))

export interface KubectlResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs kubectl against the shared control plane; never throws on a non-zero exit. */
export const kubectl = (args: ReadonlyArray<string>, stdin?: string): Promise<KubectlResult> =>
  new Promise((resolve, reject) => {
    const child = execFile(
      "kubectl",
      ["--kubeconfig", inject("kubeconfig"), ...args],
      { maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null && (error as NodeJS.ErrnoException).code === "ENOENT") {
          reject(new Error("kubectl is not installed (apt-get install kubectl)"))
          return
        }
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
        resolve({ code, stdout, stderr })
      }
    )
    if (stdin !== undefined) child.stdin?.end(stdin)
  })

/**
 * Gives the calling test file a namespace of its own. Call at the top level of the file; the
 * returned function yields the namespace name inside tests.
 */
export const useNamespace = (prefix: string): (() => string) => {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`
  beforeAll(async () => {
    const res = await request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } })
    if (res.status !== 201) throw new Error(`creating namespace ${name} failed: ${res.status} ${res.body}`)
  })
  afterAll(async () => {
    await request("DELETE", `/api/v1/namespaces/${name}`)
  })
  return () => name
}

/**
 * Polls `check` until it returns a value other than `undefined`, for state the cluster reaches
 * asynchronously (garbage collection, namespace deletion). Fails with `what` after `timeoutMs`.
 * This waits for convergence; it asserts nothing about speed.
 */
export const eventually = async <A>(
  what: string,
  check: () => Promise<A | undefined>,
  timeoutMs = 60_000
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`)
}

/**
 * Compacts etcd up to its current revision, so every earlier resourceVersion is gone: watches
 * from one fail with 410 Gone, as after a real cluster's periodic compaction.
 */
export const compactEtcd = async (): Promise<void> => {
  const etcd = inject("etcdUrl")
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${etcd}${path}`, { method: "POST", body: JSON.stringify(body) })
    if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`)
    return (await res.json()) as { header?: { revision?: string } }
  }
  const { header } = await post("/v3/kv/range", { key: Buffer.from("/").toString("base64") })
  await post("/v3/kv/compaction", { revision: header?.revision, physical: true })
}
