/**
 * Benchmark: sequential `get` of one ServiceOffer against the real kube-apiserver from test-envs,
 * through (1) our KubeClient over Effect's HttpClient, (2) @kubernetes/client-node's
 * CustomObjectsApi, (3) `kubectl get --raw` in a loop. All three go through one counting TCP proxy
 * in front of the API server, so the number of TLS connections each opens is measured the same way.
 *
 * Run: `npm run bench:kube-get -w @obol/test-envs` (starts its own control plane; builds it on
 * first use). Prints requests/s, the ratio to our client, and connections per 100 calls. It lives
 * in test-envs, not in `@obol/kube`, because kube must not depend on test-envs.
 */
import * as k8s from "@kubernetes/client-node"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { execFile } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { promisify } from "node:util"
import { parse, stringify } from "yaml"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeConfig from "@obol/kube/KubeConfig"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import { ControlPlane } from "../src/ControlPlane.ts"
import * as TcpProxy from "../src/TcpProxy.ts"
import { LooseServiceOffer } from "@obol/kube/testing/LooseServiceOffer"

const run = promisify(execFile)
const N = Number(process.env["BENCH_N"] ?? 500)
const N_KUBECTL = Number(process.env["BENCH_N_KUBECTL"] ?? 40)

/** ServiceOffer with `spec` and `status` as open records: the bench needs nothing from `@obol/api`. */
const Offer = LooseServiceOffer

const time = async (n: number, call: () => Promise<unknown>) => {
  const started = performance.now()
  for (let i = 0; i < n; i++) await call()
  const seconds = (performance.now() - started) / 1000
  return n / seconds
}

const main = async () => {
  const scope = Effect.runSync(Scope.make())
  try {
    const control = await Effect.runPromise(
      Layer.buildWithScope(ControlPlane.layer(), scope).pipe(Effect.map((c) => Context.get(c, ControlPlane)))
    )
    const proxy = await Effect.runPromise(TcpProxy.make(control.server).pipe(Scope.provide(scope)))
    const proxied = `https://127.0.0.1:${proxy.port}`
    const kubeconfigText = parse(readFileSync(control.kubeconfig, "utf8"))
    kubeconfigText.clusters[0].cluster.server = proxied
    const kubeconfig = join(control.runDir, "bench.kubeconfig")
    writeFileSync(kubeconfig, stringify(kubeconfigText))

    const ns = "bench"
    await Effect.runPromise(
      control.http.request("POST", "/api/v1/namespaces", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: ns }
      })
    )
    await Effect.runPromise(
      control.http.request("POST", `/apis/obol.org/v1alpha1/namespaces/${ns}/serviceoffers`, {
        apiVersion: "obol.org/v1alpha1",
        kind: "ServiceOffer",
        metadata: { name: "bench" },
        spec: {
          upstream: { service: "demo" },
          payment: {
            network: "base-sepolia",
            payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            price: { perRequest: "1" }
          }
        }
      })
    )
    const results: Array<{ name: string; rps: number; connectionsPer100: number }> = []

    // 1. Our client.
    const ours = await Effect.runPromise(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        const get = () => Effect.runPromise(client.get(Offer, { namespace: ns, name: "bench" }))
        yield* Effect.promise(() => get()) // warm-up: connect once
        proxy.resetCount()
        yield* Effect.promise(() => time(100, get))
        const connectionsPer100 = proxy.connections()
        const rps = yield* Effect.promise(() => time(N, get))
        return { rps, connectionsPer100 }
      }).pipe(Effect.provide(NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layerFromFile(kubeconfig)))))
    )
    results.push({ name: "@obol/kube KubeClient.get", ...ours })

    // 2. client-node CustomObjectsApi.
    const kc = new k8s.KubeConfig()
    kc.loadFromFile(kubeconfig)
    const custom = kc.makeApiClient(k8s.CustomObjectsApi)
    const cnGet = () =>
      custom.getNamespacedCustomObject({
        group: "obol.org",
        version: "v1alpha1",
        namespace: ns,
        plural: "serviceoffers",
        name: "bench"
      })
    await cnGet()
    proxy.resetCount()
    await time(100, cnGet)
    const cnConnections = proxy.connections()
    results.push({
      name: "@kubernetes/client-node CustomObjectsApi",
      rps: await time(N, cnGet),
      connectionsPer100: cnConnections
    })

    // 3. kubectl get --raw, one process per call.
    const path = `/apis/obol.org/v1alpha1/namespaces/${ns}/serviceoffers/bench`
    const kubectlGet = () => run("kubectl", ["--kubeconfig", kubeconfig, "get", "--raw", path])
    proxy.resetCount()
    const kubectlRps = await time(N_KUBECTL, kubectlGet)
    results.push({
      name: "kubectl get --raw (loop)",
      rps: kubectlRps,
      connectionsPer100: (proxy.connections() * 100) / N_KUBECTL
    })

    const baseline = results[0]!.rps
    console.log(`\nsequential get of one ServiceOffer, ${N} calls (kubectl: ${N_KUBECTL}), same run, same machine`)
    console.log("| client | requests/s | vs @obol/kube | TLS connections per 100 calls |")
    console.log("|---|---:|---:|---:|")
    for (const r of results) {
      console.log(
        `| ${r.name} | ${r.rps.toFixed(0)} | ${(r.rps / baseline).toFixed(2)}x | ${r.connectionsPer100.toFixed(0)} |`
      )
    }
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

await main()
