/**
 * The registrar process: Layer composition only. Settings come from the environment (`--help`
 * lists them); leader election decides which replica sends transactions (two registrars with one
 * key would race for nonces); every replica serves /healthz, /readyz and /metrics.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer, Option } from "effect"
import { HttpRouter } from "effect/http"
import * as ChainClient from "@obol/chain/ChainClient"
import * as EventRecorder from "@obol/controller/EventRecorder"
import * as Health from "@obol/controller/Health"
import * as LeaderElection from "@obol/controller/LeaderElection"
import * as Main from "@obol/controller/Main"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import { createServer } from "node:http"
import * as Registrar from "./Registrar.ts"
import * as RegistrarReconciler from "./RegistrarReconciler.ts"
import * as Settings from "./Settings.ts"
import * as Signers from "./Signers.ts"

const Process = Layer.unwrap(
  Effect.gen(function* () {
    const settings = yield* Settings.fromEnv
    const identity = settings.identity
    const registrar = Layer.effectDiscard(
      Effect.forkScoped(
        LeaderElection.run(
          { lease: { namespace: settings.leaseNamespace, name: "registrar" }, identity },
          Registrar.run({
            concurrency: settings.concurrency,
            backoffMax: settings.backoffMax,
            ...Option.match(settings.namespace, { onNone: () => ({}), onSome: (namespace) => ({ namespace }) })
          })
        )
      )
    )
    const health = HttpRouter.serve(Health.routes, { disableLogger: true }).pipe(
      Layer.provide(NodeHttpServer.layer(createServer, { port: settings.healthPort, ...settings.listen }))
    )
    const services = Layer.mergeAll(
      RegistrarReconciler.RegistrarSettings.layer({
        chains: settings.chains,
        enabled: settings.enabled,
        fieldManager: settings.fieldManager,
        offChainRecheck: settings.offChainRecheck
      }),
      ChainClient.layer({
        requestTimeoutMillis: settings.rpcTimeoutMillis,
        receiptTimeoutMillis: settings.receiptTimeoutMillis
      }),
      Signers.layer({ namespace: settings.signerNamespace, secret: settings.signerSecret }),
      EventRecorder.layer({ controller: "obol.org/registrar", instance: identity }),
      Health.Health.layer
    )
    return Layer.mergeAll(registrar, health).pipe(Layer.provide(services), Layer.provide(NodeKubeClient.layerFromEnv))
  })
)

if (process.argv.includes("--help")) console.log(Settings.help("registrar"))
else Main.launch(Process)
