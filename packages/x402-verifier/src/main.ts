/**
 * The x402-verifier process: Layer composition only. Every replica serves; no leader election.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Duration, Effect, Layer, Option } from "effect"
import { HttpRouter } from "effect/http"
import * as Health from "@obol/controller/Health"
import * as Main from "@obol/controller/Main"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import * as Facilitator from "@obol/x402/Facilitator"
import { createServer } from "node:http"
import * as Settings from "./Settings.ts"
import * as Verifier from "./Verifier.ts"

const Process = Layer.unwrap(
  Effect.gen(function* () {
    const settings = yield* Settings.fromEnv
    const verifierSettings = {
      facilitatorUrl: settings.facilitatorUrl,
      fieldManager: settings.fieldManager,
      allowUnknownPaths: settings.allowUnknownPaths,
      ...Option.match(settings.namespaces, { onNone: () => ({}), onSome: (namespaces) => ({ namespaces }) })
    }
    const verify = HttpRouter.serve(Verifier.routes(verifierSettings), { disableLogger: true }).pipe(
      Layer.provide(NodeHttpServer.layer(createServer, { port: settings.port, ...settings.listen }))
    )
    const health = HttpRouter.serve(Health.routes, { disableLogger: true }).pipe(
      Layer.provide(NodeHttpServer.layer(createServer, { port: settings.healthPort, ...settings.listen }))
    )
    const facilitator = Facilitator.layer({
      url: settings.facilitatorUrl,
      timeout: Duration.seconds(settings.facilitatorTimeoutSeconds)
    }).pipe(Layer.provide(NodeHttpClient.layerUndici))
    return Layer.mergeAll(verify, health).pipe(
      Layer.provide(Verifier.informer(verifierSettings)),
      Layer.provide(Layer.mergeAll(facilitator, Health.Health.layer)),
      Layer.provide(NodeKubeClient.layerFromEnv)
    )
  })
)

if (process.argv.includes("--help")) console.log(Settings.help("x402-verifier"))
else Main.launch(Process)
