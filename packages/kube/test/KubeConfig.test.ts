import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as KubeConfig from "@obol/kube/KubeConfig"

const write = (name: string, text: string) => {
  const file = join(mkdtempSync(join(tmpdir(), "kubeconfig-")), name)
  writeFileSync(file, text)
  return file
}

const kubeconfig = (contexts: string) => `
apiVersion: v1
kind: Config
clusters:
- name: one
  cluster: { server: "https://10.0.0.1:6443/", insecure-skip-tls-verify: true }
users:
- name: alice
  user: { token: "secret-token" }
${contexts}
`

describe("KubeConfig", () => {
  it.effect("loads a kubeconfig file: server, namespace and a bearer token that never shows in the shape", () =>
    Effect.gen(function* () {
      const file = write(
        "config",
        kubeconfig(`contexts:
- name: ctx
  context: { cluster: one, user: alice, namespace: sellers }
current-context: ctx`)
      )
      const config = yield* KubeConfig.fromFile(file)
      expect(config.server).toBe("https://10.0.0.1:6443")
      expect(config.namespace).toBe("sellers")
      expect(config.tls.insecureSkipVerify).toBe(true)
      expect(yield* config.authHeaders).toEqual({ Authorization: "Bearer secret-token" })
      expect(JSON.stringify({ ...config, authHeaders: undefined })).not.toContain("secret-token")
    })
  )

  it.effect("switches to a named context", () =>
    Effect.gen(function* () {
      const file = write(
        "config",
        kubeconfig(`contexts:
- name: a
  context: { cluster: one, user: alice, namespace: first }
- name: b
  context: { cluster: one, user: alice, namespace: second }
current-context: a`)
      )
      expect((yield* KubeConfig.fromFile(file, "b")).namespace).toBe("second")
    })
  )

  it.effect("fails clearly when the current context names no cluster, instead of falling back to localhost:8080", () =>
    Effect.gen(function* () {
      const file = write(
        "config",
        `apiVersion: v1
kind: Config
clusters: []
users: []
contexts: []
current-context: ""`
      )
      const error = yield* Effect.flip(KubeConfig.fromFile(file))
      expect(error.reason).toBe("NoCluster")
      expect(error.message).toContain("names no cluster")
    })
  )

  it.effect("fails clearly for a missing file", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(KubeConfig.fromFile("/nonexistent/kubeconfig"))
      expect(error.reason).toBe("InvalidConfiguration")
      expect(error.message).toContain("file not found: /nonexistent/kubeconfig")
    })
  )

  it.effect("takes explicit options with a Redacted token", () =>
    Effect.gen(function* () {
      const config = KubeConfig.fromOptions({ server: "https://127.0.0.1:1/", token: Redacted.make("t0k3n") })
      expect(config.server).toBe("https://127.0.0.1:1")
      expect(yield* config.authHeaders).toEqual({ Authorization: "Bearer t0k3n" })
      expect(String(Redacted.make("t0k3n"))).not.toContain("t0k3n")
    })
  )
})
