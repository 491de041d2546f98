import { describe, expect, it } from "vitest"
import * as Pod from "../src/Pod.ts"

const image: Pod.ImageConfig = {
  entrypoint: ["/usr/local/bin/node"],
  cmd: ["/app/serviceoffer-controller.mjs"],
  workingDir: "/app",
  env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production"],
  user: "65532:65532"
}

describe("Pod", () => {
  it("starts the program by Kubernetes' rules: command replaces the entrypoint, args the cmd", () => {
    expect(Pod.argv(image, { name: "c" })).toEqual(["/usr/local/bin/node", "/app/serviceoffer-controller.mjs"])
    expect(Pod.argv(image, { name: "c", args: ["/app/x402-verifier.mjs"] })).toEqual([
      "/usr/local/bin/node",
      "/app/x402-verifier.mjs"
    ])
    expect(Pod.argv(image, { name: "c", command: ["/bin/true"] })).toEqual(["/bin/true"])
  })

  it("gives the environment a kubelet would: image env, envFrom, downward API, the API server, values last", () => {
    const env = Pod.environment({
      image,
      container: {
        name: "c",
        envFrom: [{ configMapRef: { name: "settings" } }],
        env: [
          { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
          { name: "FACILITATOR_URL", value: "https://f.example" },
          { name: "KEY", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }
        ]
      },
      pod: { name: "p-1", namespace: "x402", serviceAccountName: "x402-verifier" },
      apiServer: { host: "10.0.0.1", port: 6443 },
      lookup: (kind, name) =>
        kind === "ConfigMap" && name === "settings"
          ? { FACILITATOR_URL: "https://placeholder.invalid", HEALTH_PORT: "8084" }
          : kind === "Secret" && name === "s"
            ? { k: "v" }
            : undefined
    })
    expect(env).toMatchObject({
      NODE_ENV: "production",
      HOSTNAME: "p-1",
      POD_NAME: "p-1",
      POD_NAMESPACE: "x402",
      HEALTH_PORT: "8084",
      FACILITATOR_URL: "https://f.example",
      KEY: "v",
      KUBERNETES_SERVICE_HOST: "10.0.0.1",
      KUBERNETES_SERVICE_PORT: "6443"
    })
  })

  it("refuses a reference to a ConfigMap that does not exist, as a kubelet does", () => {
    expect(() =>
      Pod.environment({
        image,
        container: { name: "c", envFrom: [{ configMapRef: { name: "missing" } }] },
        pod: { name: "p", namespace: "n", serviceAccountName: "a" },
        apiServer: { host: "h", port: 1 },
        lookup: () => undefined
      })
    ).toThrow(/ConfigMap missing does not exist/u)
  })
})
