/**
 * The connection a command works through: a `KubeClient` for the cluster the global flags name
 * (`--kubeconfig`, `--context`), the namespace to use when `-n` is absent (the context's, else
 * `default`), and where the configuration came from, for messages.
 *
 * `layer` loads the kubeconfig as kubectl does (the flag, else `KUBECONFIG`, else
 * `~/.kube/config`, else in-cluster) only when a command asks, so `--help`, `completion` and
 * `--dry-run` never need a cluster. `layerTest` hands out the `KubeClient` in context (the
 * FakeKube in unit tests). It sends no requests itself.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, type Scope } from "effect"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeConfig from "@obol/kube/KubeConfig"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import { homedir } from "node:os"
import { join } from "node:path"
import type { CliFailure } from "./CliFailure.ts"
import * as Explain from "./Explain.ts"

/**
 * @category models
 */
export interface Connection {
  readonly client: KubeClient.Shape
  /** The kubeconfig context's namespace, or `default`. */
  readonly namespace: string
  /** The API server's URL, for messages. */
  readonly server: string
}

/**
 * @category models
 */
export interface Target {
  readonly kubeconfig?: string | undefined
  readonly context?: string | undefined
}

/**
 * @category services
 */
export class Cluster extends Context.Service<
  Cluster,
  { readonly connect: (target: Target) => Effect.Effect<Connection, CliFailure, Scope.Scope> }
>()("@obol/cli/Cluster") {}

/**
 * @category layers
 */
export const layer: Layer.Layer<Cluster> = Layer.succeed(Cluster, {
  connect: (target) =>
    Effect.gen(function* () {
      const env = process.env["KUBECONFIG"]
      const home = join(homedir(), ".kube", "config")
      // As kubectl: the flag, else KUBECONFIG, else ~/.kube/config (a --context needs a file), else in-cluster.
      const path =
        target.kubeconfig ?? (env !== undefined && env !== "" ? env : target.context !== undefined ? home : undefined)
      const tried = path !== undefined ? `kubeconfig ${path}` : `${home} and the in-cluster service account`
      const config = yield* (path !== undefined ? KubeConfig.fromFile(path, target.context) : KubeConfig.fromEnv).pipe(
        Effect.mapError((error) => Explain.configError(error, tried))
      )
      const context = yield* Layer.build(NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layer(config))))
      return { client: Context.get(context, KubeClient.KubeClient), namespace: config.namespace, server: config.server }
    })
})

/**
 * Connects to the `KubeClient` in context, as `default` namespace.
 *
 * @category layers
 */
export const layerTest: Layer.Layer<Cluster, never, KubeClient.KubeClient> = Layer.effect(
  Cluster,
  Effect.gen(function* () {
    const client = yield* KubeClient.KubeClient
    return { connect: () => Effect.succeed({ client, namespace: "default", server: "https://fake.test" }) }
  })
)
