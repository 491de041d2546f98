/**
 * The serviceoffer-controller process: Layer composition only. Settings come from the
 * environment (`--help` lists them); leader election decides which replica reconciles (and
 * publishes the well-known route); every replica serves /healthz, /readyz and /metrics, and the
 * public /.well-known/agent-registration.json from its own cache.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer, Option } from "effect"
import { HttpRouter } from "effect/http"
import * as EventRecorder from "@obol/controller/EventRecorder"
import * as Health from "@obol/controller/Health"
import * as LeaderElection from "@obol/controller/LeaderElection"
import * as Main from "@obol/controller/Main"
import { HTTPRoute } from "@obol/kube/builtin/HTTPRoute"
import * as KubeClient from "@obol/kube/KubeClient"
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
    const identity = settings.identity
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

    const publishWellKnown = KubeClient.KubeClient.use((client) =>
      client.apply(
        HTTPRoute,
        WellKnown.httpRoute({
          namespace: settings.controllerNamespace,
          service: settings.controllerService,
          port: settings.wellKnownPort,
          gateway: settings.gateway
        }),
        { fieldManager: settings.fieldManager, force: true }
      )
    ).pipe(
      Effect.catch((error) =>
        Effect.logWarning("Publishing the well-known HTTPRoute failed").pipe(
          Effect.annotateLogs({ error: error.message })
        )
      )
    )
    const reconcilers = Layer.effectDiscard(
      Effect.forkScoped(
        LeaderElection.run(
          { lease: { namespace: settings.leaseNamespace, name: "serviceoffer-controller" }, identity },
          Effect.andThen(
            publishWellKnown,
            ServiceOfferController.run({ concurrency: settings.concurrency, ...watchNamespace })
          )
        )
      )
    )
    const health = HttpRouter.serve(Health.routes, { disableLogger: true }).pipe(
      Layer.provide(NodeHttpServer.layer(createServer, { port: settings.healthPort, ...settings.listen }))
    )
    const identityDocument = {
      name: settings.agent.name,
      description: settings.agent.description,
      publicBaseUrl: settings.publicBaseUrl,
      ...Option.match(settings.agent.image, { onNone: () => ({}), onSome: (image) => ({ image }) })
    }
    const wellKnown = HttpRouter.serve(WellKnown.routes(identityDocument, watchNamespace), {
      disableLogger: true
    }).pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: settings.wellKnownPort, ...settings.listen })))
    const services = Layer.mergeAll(
      ServiceOfferReconciler.ReconcilerSettings.layer(settings),
      UpstreamProbe.layer,
      EventRecorder.layer({ controller: "obol.org/serviceoffer-controller", instance: identity }),
      Health.Health.layer
    )
    return Layer.mergeAll(reconcilers, health, wellKnown).pipe(
      Layer.provide(services),
      Layer.provide(NodeKubeClient.layerFromEnv)
    )
  })
)

if (process.argv.includes("--help")) console.log(Settings.help("serviceoffer-controller"))
else Main.launch(Process)
