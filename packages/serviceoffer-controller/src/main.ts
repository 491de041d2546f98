/**
 * The serviceoffer-controller process: Layer composition only. Settings come from the
 * environment (`--help` lists them); leader election decides which replica reconciles; every
 * replica serves /healthz, /readyz and /metrics.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Option } from "effect"
import { HttpRouter } from "effect/http"
import * as EventRecorder from "@obol/controller/EventRecorder"
import * as Health from "@obol/controller/Health"
import * as LeaderElection from "@obol/controller/LeaderElection"
import * as Main from "@obol/controller/Main"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import { randomBytes } from "node:crypto"
import { createServer } from "node:http"
import { hostname } from "node:os"
import * as ServiceOfferController from "./ServiceOfferController.ts"
import * as ServiceOfferReconciler from "./ServiceOfferReconciler.ts"
import * as Settings from "./Settings.ts"
import * as UpstreamProbe from "./UpstreamProbe.ts"

const Process = Layer.unwrap(
  Effect.gen(function* () {
    const settings = yield* Settings.fromEnv
    const identity = Option.getOrElse(settings.identity, () => `${hostname()}-${randomBytes(3).toString("hex")}`)
    const controller = ServiceOfferController.run({
      concurrency: settings.concurrency,
      ...Option.match(settings.namespace, { onNone: () => ({}), onSome: (namespace) => ({ namespace }) })
    })
    const reconcilers = Layer.effectDiscard(
      Effect.forkScoped(
        LeaderElection.run(
          { lease: { namespace: settings.leaseNamespace, name: "serviceoffer-controller" }, identity },
          controller
        )
      )
    )
    const health = HttpRouter.serve(Health.routes, { disableLogger: true }).pipe(
      Layer.provide(NodeHttpServer.layer(createServer, { port: settings.healthPort }))
    )
    const services = Layer.mergeAll(
      ServiceOfferReconciler.ReconcilerSettings.layer(settings),
      UpstreamProbe.layer,
      EventRecorder.layer({ controller: "obol.org/serviceoffer-controller", instance: identity }),
      Health.Health.layer
    )
    return Layer.mergeAll(reconcilers, health).pipe(Layer.provide(services), Layer.provide(NodeKubeClient.layerFromEnv))
  })
)

if (process.argv.includes("--help")) console.log(Settings.help("serviceoffer-controller"))
else Main.launch(Process)
