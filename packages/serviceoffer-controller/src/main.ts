/**
 * The serviceoffer-controller process: Layer composition only. Settings come from the
 * environment (`--help` lists them); leader election decides which replica reconciles (and
 * publishes the well-known route); every replica serves /healthz, /readyz and /metrics
 * (`Manager`), and the public /.well-known/agent-registration.json from its own cache.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer, Option } from "effect"
import { HttpRouter } from "effect/http"
import * as Main from "@obol/controller/Main"
import * as Manager from "@obol/controller/Manager"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import { createServer } from "node:http"
import * as Children from "./Children.ts"
import * as ServiceOfferController from "./ServiceOfferController.ts"
import * as ServiceOfferReconciler from "./ServiceOfferReconciler.ts"
import * as Settings from "./Settings.ts"
import * as UpstreamProbe from "./UpstreamProbe.ts"
import * as WellKnown from "./WellKnown.ts"

const Process = Layer.unwrap(
  Effect.gen(function* () {
    const settings = yield* Settings.fromEnv
    if (settings.publicBaseUrl === Children.defaultSettings.publicBaseUrl) {
      // The default only resolves inside obol-stack; registrations would put it on chain.
      yield* Effect.logWarning(
        `PUBLIC_BASE_URL is not set: endpoints and registration documents use ${settings.publicBaseUrl}, which buyers outside obol-stack cannot reach`
      )
    }
    const watchNamespace = Option.match(settings.namespace, {
      onNone: () => ({}),
      onSome: (namespace) => ({ namespace })
    })
    const wellKnown = HttpRouter.serve(
      WellKnown.routes(
        {
          name: settings.agent.name,
          description: settings.agent.description,
          publicBaseUrl: settings.publicBaseUrl,
          ...Option.match(settings.agent.image, { onNone: () => ({}), onSome: (image) => ({ image }) })
        },
        watchNamespace
      ),
      { disableLogger: true }
    ).pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: settings.wellKnownPort, ...settings.listen })))
    return Manager.layer({
      name: "serviceoffer-controller",
      healthPort: settings.healthPort,
      listen: settings.listen,
      leaderElection: { namespace: settings.leaseNamespace, identity: settings.identity },
      events: { instance: settings.identity },
      leaderOnly: Effect.andThen(
        WellKnown.publish(settings),
        ServiceOfferController.run({ concurrency: settings.concurrency, ...watchNamespace })
      ),
      everyReplica: wellKnown
    }).pipe(
      Layer.provide(Layer.mergeAll(ServiceOfferReconciler.ReconcilerSettings.layer(settings), UpstreamProbe.layer)),
      Layer.provide(NodeKubeClient.layerFromEnv)
    )
  })
)

Main.main(() => Settings.help("serviceoffer-controller"), Process)
