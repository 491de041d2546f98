/**
 * Example controller: for every `ConfigMapGenerator` (examples.obol.org/v1, CRD beside this file)
 * keep a ConfigMap `<name>-generated` holding `spec.content`, owned by the generator so the
 * garbage collector removes it with its owner. It shows the whole runtime in one file:
 * `Controller` with `for` and `owns`, server-side apply of a child and of status, leader election,
 * health and metrics, and a `main` that only composes Layers.
 *
 * Run it against a cluster:
 *   kubectl apply -f packages/controller/examples/configmapgenerator-crd.yaml
 *   KUBECONFIG=... node packages/controller/examples/ConfigMapGenerator.ts
 * Settings (environment): HEALTH_PORT (default 8081), LEASE_NAMESPACE (default "default"),
 * POD_NAME (identity for leader election; default hostname plus a random suffix).
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Config, Effect, Layer, Schema } from "effect"
import { HttpRouter } from "effect/http"
import { ConfigMap } from "@obol/kube/builtin/ConfigMap"
import * as KubeClient from "@obol/kube/KubeClient"
import { ObjectMeta } from "@obol/kube/ObjectMeta"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import * as ResourceKind from "@obol/kube/ResourceKind"
import { randomBytes } from "node:crypto"
import { createServer } from "node:http"
import { hostname } from "node:os"
import * as Action from "../src/Action.ts"
import * as Controller from "../src/Controller.ts"
import * as Health from "../src/Health.ts"
import * as LeaderElection from "../src/LeaderElection.ts"
import * as Main_ from "../src/Main.ts"

export const ConfigMapGenerator = ResourceKind.make({
  group: "examples.obol.org",
  version: "v1",
  kind: "ConfigMapGenerator",
  plural: "configmapgenerators",
  namespaced: true,
  statusSubresource: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("examples.obol.org/v1"),
    kind: Schema.Literal("ConfigMapGenerator"),
    metadata: ObjectMeta,
    spec: Schema.Struct({ content: Schema.String }),
    status: Schema.optionalKey(Schema.Struct({ observedGeneration: Schema.optionalKey(Schema.Int) }))
  })
})

const fieldManager = "configmap-generator"

/** Level-based: compute the desired ConfigMap from the generator and apply it; then the status. */
export const reconcile = Effect.fn("ConfigMapGenerator.reconcile")(function* (
  generator: typeof ConfigMapGenerator.schema.Type
) {
  const client = yield* KubeClient.KubeClient
  const { name = "", namespace = "default", uid = "", generation = 0 } = generator.metadata
  yield* client.apply(
    ConfigMap,
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: `${name}-generated`,
        namespace,
        ownerReferences: [
          {
            apiVersion: ConfigMapGenerator.apiVersion,
            kind: ConfigMapGenerator.kind,
            name,
            uid,
            controller: true,
            blockOwnerDeletion: true
          }
        ]
      },
      data: { content: generator.spec.content }
    },
    { fieldManager, force: true }
  )
  if (generator.status?.observedGeneration !== generation) {
    yield* client.applyStatus(
      ConfigMapGenerator,
      {
        apiVersion: ConfigMapGenerator.apiVersion,
        kind: ConfigMapGenerator.kind,
        metadata: { name, namespace },
        status: { observedGeneration: generation }
      },
      { fieldManager }
    )
  }
  return Action.requeueAfter("5 minutes")
})

/** The controller, without leader election. */
export const controller = Controller.run({
  name: "configmapgenerator",
  for: ConfigMapGenerator,
  owns: [ConfigMap],
  reconcile,
  concurrency: 2
})

/** The controller under leader election on a Lease, plus nothing else. */
export const leaderElected = (options: { readonly leaseNamespace: string; readonly identity: string }) =>
  LeaderElection.run(
    { lease: { namespace: options.leaseNamespace, name: "configmapgenerator" }, identity: options.identity },
    controller
  )

const settings = Config.all({
  healthPort: Config.Port("HEALTH_PORT").pipe(Config.withDefault(8081)),
  leaseNamespace: Config.String("LEASE_NAMESPACE").pipe(Config.withDefault("default")),
  identity: Config.String("POD_NAME").pipe(Config.withDefault(`${hostname()}-${randomBytes(3).toString("hex")}`))
})

const Main = Layer.unwrap(
  Effect.gen(function* () {
    const { healthPort, leaseNamespace, identity } = yield* settings
    const work = Layer.effectDiscard(Effect.forkScoped(leaderElected({ leaseNamespace, identity })))
    const server = HttpRouter.serve(Health.routes, { disableLogger: true }).pipe(
      Layer.provide(NodeHttpServer.layer(createServer, { port: healthPort, host: "127.0.0.1" }))
    )
    return Layer.mergeAll(work, server).pipe(
      Layer.provide(Health.Health.layer),
      Layer.provide(NodeKubeClient.layerFromEnv)
    )
  })
)

if (import.meta.main) Main_.launch(Main)
