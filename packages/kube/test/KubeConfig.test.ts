import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { TestClock } from "effect/testing"
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

  describe("fromServiceAccount (in a pod, without @kubernetes/client-node)", () => {
    const mounted = (files: Readonly<Record<string, string>>) => {
      const dir = mkdtempSync(join(tmpdir(), "serviceaccount-"))
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
      return dir
    }

    it.effect("builds the API server's URL as client-node does: https, http on 80/8080/8001, IPv6 in brackets", () =>
      Effect.gen(function* () {
        const dir = mounted({ token: "t", "ca.crt": "CA" })
        const server = (host: string, port: string) =>
          Effect.map(KubeConfig.fromServiceAccount({ dir, host, port }), (config) => config.server)
        expect(yield* server("10.96.0.1", "443")).toBe("https://10.96.0.1:443")
        expect(yield* server("10.96.0.1", "8080")).toBe("http://10.96.0.1:8080")
        expect(yield* server("fd00::1", "443")).toBe("https://[fd00::1]:443")
      })
    )

    it.effect("trusts the mounted CA, takes its namespace, and sends the token as a bearer", () =>
      Effect.gen(function* () {
        const dir = mounted({ token: "t0k3n", "ca.crt": "-----CA-----", namespace: "x402\n" })
        const config = yield* KubeConfig.fromServiceAccount({ dir, host: "10.96.0.1", port: "443" })
        expect(config.tls).toEqual({ ca: "-----CA-----" })
        expect(config.namespace).toBe("x402")
        expect(config.source).toBe("in-cluster")
        expect(yield* config.authHeaders).toEqual({ Authorization: "Bearer t0k3n" })
      })
    )

    it.effect("reads a rotated token again once the last read is more than 60 s old, not before", () =>
      Effect.gen(function* () {
        const dir = mounted({ token: "first", "ca.crt": "CA" })
        const config = yield* KubeConfig.fromServiceAccount({ dir, host: "10.96.0.1", port: "443" })
        writeFileSync(join(dir, "token"), "rotated")
        yield* TestClock.adjust("60 seconds")
        expect(yield* config.authHeaders).toEqual({ Authorization: "Bearer first" })
        yield* TestClock.adjust("1 second")
        expect(yield* config.authHeaders).toEqual({ Authorization: "Bearer rotated" })
      })
    )

    it.effect("says it is not in a cluster without the Service host or the token, and defaults the namespace", () =>
      Effect.gen(function* () {
        const dir = mounted({ token: "t", "ca.crt": "CA" })
        const noHost = yield* Effect.flip(KubeConfig.fromServiceAccount({ dir, host: undefined, port: "443" }))
        expect(noHost.reason).toBe("NoConfiguration")
        const noToken = yield* Effect.flip(
          KubeConfig.fromServiceAccount({ dir: mounted({ "ca.crt": "CA" }), host: "10.96.0.1", port: "443" })
        )
        expect(noToken.reason).toBe("NoConfiguration")
        const config = yield* KubeConfig.fromServiceAccount({ dir, host: "10.96.0.1", port: "443" })
        expect(config.namespace).toBe("default")
      })
    )

    it.effect("fails as AuthFailed, naming the cause, when the CA cannot be read", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(
          KubeConfig.fromServiceAccount({ dir: mounted({ token: "t" }), host: "10.96.0.1", port: "443" })
        )
        expect(error.reason).toBe("AuthFailed")
        expect(error.message).toContain("ca.crt")
      })
    )
  })
})
