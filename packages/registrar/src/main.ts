/**
 * The registrar process: Layer composition only. Settings come from the environment (`--help`
 * lists them); leader election decides which replica sends transactions (two registrars with one
 * key would race for nonces); every replica serves /healthz, /readyz and /metrics (`Manager`).
 */
import { Effect, Layer, Option } from "effect"
import * as ChainClient from "@obol/chain/ChainClient"
import * as Main from "@obol/controller/Main"
import * as Manager from "@obol/controller/Manager"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import * as Registrar from "./Registrar.ts"
import * as RegistrarReconciler from "./RegistrarReconciler.ts"
import * as Settings from "./Settings.ts"
import * as Signers from "./Signers.ts"

const Process = Layer.unwrap(
  Effect.gen(function* () {
    const settings = yield* Settings.fromEnv
    return Manager.layer({
      name: "registrar",
      healthPort: settings.healthPort,
      listen: settings.listen,
      leaderElection: { namespace: settings.leaseNamespace, identity: settings.identity },
      events: { instance: settings.identity },
      leaderOnly: Registrar.run({
        concurrency: settings.concurrency,
        backoffMax: settings.backoffMax,
        ...Option.match(settings.namespace, { onNone: () => ({}), onSome: (namespace) => ({ namespace }) })
      })
    }).pipe(
      Layer.provide(
        Layer.mergeAll(
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
          Signers.layer({ namespace: settings.signerNamespace, secret: settings.signerSecret })
        )
      ),
      Layer.provide(NodeKubeClient.layerFromEnv)
    )
  })
)

Main.main(() => Settings.help("registrar"), Process)
