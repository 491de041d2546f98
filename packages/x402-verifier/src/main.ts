/**
 * The x402-verifier process: Layer composition only. Every replica serves; no leader election
 * (`Manager` with every-replica work only).
 * PORT carries `/verify` (ForwardAuth) and, on every other path, the pay-on-success proxy
 * (`Backend`), which reaches upstreams through node:http.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Duration, Effect, Layer, Option } from "effect"
import { HttpClient, HttpRouter } from "effect/http"
import * as Main from "@obol/controller/Main"
import * as Manager from "@obol/controller/Manager"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import * as Facilitator from "@obol/x402/Facilitator"
import { createServer } from "node:http"
import * as Backend from "./Backend.ts"
import * as Credentials from "./Credentials.ts"
import * as PayOnSuccess from "./PayOnSuccess.ts"
import * as Settings from "./Settings.ts"
import * as Upstreams from "./Upstreams.ts"
import * as Verifier from "./Verifier.ts"

/**
 * The client for the facilitator and the pay-on-success upstreams, on node:http like the cluster
 * client (no undici in the process). node:http has no header or body timeout of its own: the
 * facilitator's calls carry FACILITATOR_TIMEOUT_SECONDS, an upstream has the offer's
 * maxTimeoutSeconds for its status line, and a streamed answer may pause for any time between
 * events without being cut. Connections are kept alive; one idle for 60 s is closed.
 */
const outbound = HttpClient.layerMergedContext(NodeHttpClient.makeNodeHttp).pipe(
  Layer.provide(NodeHttpClient.layerAgentOptions({ keepAlive: true, timeout: 60_000 }))
)

const Process = Layer.unwrap(
  Effect.gen(function* () {
    const settings = yield* Settings.fromEnv
    const verifierSettings = {
      facilitatorUrl: settings.facilitatorUrl,
      fieldManager: settings.fieldManager,
      allowUnknownPaths: settings.allowUnknownPaths,
      ...Option.match(settings.namespaces, { onNone: () => ({}), onSome: (namespaces) => ({ namespaces }) })
    }
    const verify = HttpRouter.serve(Layer.mergeAll(Verifier.routes(verifierSettings), Backend.routes), {
      disableLogger: true
    }).pipe(
      Layer.provide(NodeHttpServer.layer(createServer, { port: settings.port, ...settings.listen })),
      Layer.provide(
        Layer.mergeAll(
          Verifier.informer(verifierSettings),
          Upstreams.layer(verifierSettings),
          PayOnSuccess.InFlight.layer
        )
      ),
      Layer.provideMerge(Credentials.layer)
    )
    return Manager.layer({
      name: "x402-verifier",
      healthPort: settings.healthPort,
      listen: settings.listen,
      everyReplica: verify
    }).pipe(
      Layer.provide(
        Facilitator.layer({
          url: settings.facilitatorUrl,
          timeout: Duration.seconds(settings.facilitatorTimeoutSeconds)
        })
      ),
      Layer.provide(Layer.mergeAll(NodeKubeClient.layerFromEnv, outbound))
    )
  })
)

Main.main(() => Settings.help("x402-verifier"), Process)
