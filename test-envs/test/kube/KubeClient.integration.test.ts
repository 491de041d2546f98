/**
 * `@obol/kube`'s conformance suite against the real kube-apiserver, through the HTTP client
 * (`NodeKubeClient.layer`) configured from the control plane's kubeconfig. Its run against the
 * in-memory FakeKube is `packages/kube/test/KubeClient.conformance.test.ts`; it lives here because
 * kube must not depend on test-envs (see test-envs/README.md).
 */
import { Effect, Layer, Redacted } from "effect"
import { inject } from "vitest"
import { readFileSync } from "node:fs"
import * as KubeConfig from "@obol/kube/KubeConfig"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import { conformance } from "@obol/kube/testing/Conformance"
import { compactEtcd, request, useNamespace } from "../../src/vitest/TestCluster.ts"

const namespace = useNamespace("kube-conformance")

const clientLayer = () =>
  NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layerFromFile(inject("kubeconfig"))), Layer.orDie)

conformance({
  name: "kube-apiserver",
  layer: clientLayer,
  namespace,
  forgetHistory: Effect.promise(compactEtcd),
  eventualGc: true,
  unprivileged: (ns) =>
    Layer.unwrap(
      Effect.gen(function* () {
        const sa = yield* Effect.promise(() =>
          request("POST", `/api/v1/namespaces/${ns}/serviceaccounts`, {
            apiVersion: "v1",
            kind: "ServiceAccount",
            metadata: { name: "nobody" }
          })
        )
        if (sa.status !== 201 && sa.status !== 409)
          return yield* Effect.die(new Error(`creating ServiceAccount: ${sa.body}`))
        const token = yield* Effect.promise(() =>
          request("POST", `/api/v1/namespaces/${ns}/serviceaccounts/nobody/token`, {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenRequest",
            spec: { expirationSeconds: 600 }
          })
        )
        if (token.status !== 201) return yield* Effect.die(new Error(`TokenRequest: ${token.status} ${token.body}`))
        const config = KubeConfig.fromOptions({
          server: inject("server"),
          tls: { ca: readFileSync(inject("caFile"), "utf8") },
          token: Redacted.make(token.json.status.token as string)
        })
        return NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layer(config)))
      })
    )
})
