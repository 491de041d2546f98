/**
 * The Manager: what every controller process has besides its own work, composed once. It serves
 * `/healthz`, `/readyz` and `/metrics` on the health port (every replica), provides the `Health`
 * registry, the process's shared `Informers` (so leader-only and every-replica work read one cache
 * per kind, and a replica that regains leadership finds it warm) and (for processes that publish
 * them) the `EventRecorder`, and runs the process's work:
 * `leaderOnly` work only while this replica holds the Lease (`LeaderElection`), `everyReplica`
 * work on every replica. A process's `main.ts` becomes its settings, its work, and `Main.main`.
 *
 * Contract: `leaderOnly` runs forked under leader election and is interrupted when leadership is
 * lost; without `leaderElection` it runs on every replica. The layer needs a `KubeClient`.
 *
 * It does not read settings (the process does, with `Setting`), build the process's own servers
 * (those are `everyReplica` layers), or launch anything (`Main.main`).
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import type * as KubeClient from "@obol/kube/KubeClient"
import { createServer } from "node:http"
import * as EventRecorder from "./EventRecorder.ts"
import * as Health from "./Health.ts"
import * as Informers from "./Informers.ts"
import * as LeaderElection from "./LeaderElection.ts"

/**
 * @category models
 */
export interface Options<R, E2, R2> {
  /** The process's name: its Lease, and its Events' reporting controller `obol.org/<name>`. */
  readonly name: string
  /** Port of /healthz, /readyz and /metrics. */
  readonly healthPort: number
  /** Where the HTTP servers listen (`Setting.listen`). */
  readonly listen: { readonly host?: string }
  /** Run `leaderOnly` only while holding the Lease `name` in this namespace, as `identity`. */
  readonly leaderElection?: { readonly namespace: string; readonly identity: string }
  /** Publish Events (events.k8s.io/v1) as this instance, e.g. the pod name. */
  readonly events?: { readonly instance: string }
  /** Work for the leader only (the reconcilers). */
  readonly leaderOnly?: Effect.Effect<unknown, never, R>
  /** Work for every replica (servers, informers). */
  readonly everyReplica?: Layer.Layer<never, E2, R2>
}

/**
 * The process as one Layer (see the module header).
 *
 * @category layers
 */
export const layer = <R = never, E2 = never, R2 = never>(
  options: Options<R, E2, R2>
): Layer.Layer<
  never,
  E2,
  KubeClient.KubeClient | Exclude<R | R2, Health.Health | EventRecorder.EventRecorder | Informers.Informers>
> => {
  const health = HttpRouter.serve(Health.routes, { disableLogger: true }).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { port: options.healthPort, ...options.listen }))
  )
  const election = options.leaderElection
  const leaderOnly =
    options.leaderOnly === undefined
      ? Layer.empty
      : Layer.effectDiscard(
          Effect.forkScoped(
            election === undefined
              ? options.leaderOnly
              : LeaderElection.run(
                  { lease: { namespace: election.namespace, name: options.name }, identity: election.identity },
                  options.leaderOnly
                )
          )
        )
  const events =
    options.events === undefined
      ? EventRecorder.layerNoop
      : EventRecorder.layer({ controller: `obol.org/${options.name}`, instance: options.events.instance })
  return Layer.mergeAll(health, leaderOnly, options.everyReplica ?? Layer.empty).pipe(
    Layer.provide(Layer.mergeAll(Informers.Informers.layer, events)),
    Layer.provide(Health.Health.layer)
  ) as never
}
