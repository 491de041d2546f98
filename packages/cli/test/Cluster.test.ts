import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Cluster from "@obol/cli/Cluster"

const kubeconfig = () => {
  const file = join(mkdtempSync(join(tmpdir(), "obol-cli-")), "config")
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev
  cluster: { server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true }
- name: prod
  cluster: { server: "https://10.0.0.1:6443", insecure-skip-tls-verify: true }
users:
- name: me
  user: { token: "t" }
contexts:
- name: dev
  context: { cluster: dev, user: me }
- name: prod
  context: { cluster: prod, user: me, namespace: shop }
`
  )
  return file
}

const connect = (target: Cluster.Target) =>
  Cluster.Cluster.use((c) => c.connect(target)).pipe(Effect.scoped, Effect.provide(Cluster.layer))

describe("Cluster.layer", () => {
  it.effect("uses the kubeconfig's current context and its namespace, default when it names none", () =>
    Effect.gen(function* () {
      const connection = yield* connect({ kubeconfig: kubeconfig() })
      expect({ server: connection.server, namespace: connection.namespace }).toEqual({
        server: "https://127.0.0.1:6443",
        namespace: "default"
      })
    })
  )

  it.effect("--context switches cluster and namespace", () =>
    Effect.gen(function* () {
      const connection = yield* connect({ kubeconfig: kubeconfig(), context: "prod" })
      expect({ server: connection.server, namespace: connection.namespace }).toEqual({
        server: "https://10.0.0.1:6443",
        namespace: "shop"
      })
    })
  )

  it.effect("names the kubeconfig it tried when it cannot load one", () =>
    Effect.gen(function* () {
      const failure = yield* Effect.flip(connect({ kubeconfig: "/nonexistent/config" }))
      expect(failure.reason).toBe("Cluster")
      expect(failure.problems[0]).toBe(
        "no cluster to talk to: kubeconfig /nonexistent/config: file not found: /nonexistent/config"
      )
      expect(failure.problems[1]).toMatch(/^tried kubeconfig \/nonexistent\/config; pass --kubeconfig/u)
    })
  )

  it.effect("an unknown context is an error, not a silent fallback", () =>
    Effect.gen(function* () {
      const failure = yield* Effect.flip(connect({ kubeconfig: kubeconfig(), context: "staging" }))
      expect(failure.problems[0]).toMatch(/staging/u)
    })
  )
})
