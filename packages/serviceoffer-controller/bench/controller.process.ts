/**
 * Our ServiceOffer controller as a process of its own, for compare.bench.ts, so that it runs
 * beside the bench's harness as the controller-runtime peer does (its own event loop, its own
 * CPU time), not inside it: `ServiceOfferController.run` with the settings of
 * propagation.bench.ts (the verifier's Service in the watched namespace, so no ReferenceGrant;
 * upstream probes that always answer healthy; no Events), its `KubeClient` counting every request
 * (`RequestCount`), and on a free loopback port `/readyz` (200 once the controller's caches have
 * synced), `/requests` (the counts as JSON) and `/metrics` (the runtime's, controller-runtime's
 * names), announced on stdout as `stats http://127.0.0.1:<port>`.
 *
 * Environment: `KUBECONFIG`, `WATCH_NAMESPACE`, `CONCURRENCY` (default: the controller's).
 *
 * It is not the production process (`src/main.ts`: leader election, real upstream probes, Events,
 * the health and well-known servers), and it runs nothing but the controller.
 */
import { Effect, Layer } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as EventRecorder from "@obol/controller/EventRecorder"
import * as Health from "@obol/controller/Health"
import * as Main from "@obol/controller/Main"
import * as KubeConfig from "@obol/kube/KubeConfig"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import * as ServiceOfferController from "../src/ServiceOfferController.ts"
import * as ServiceOfferReconciler from "../src/ServiceOfferReconciler.ts"
import * as UpstreamProbe from "../src/UpstreamProbe.ts"
import * as RequestCount from "./RequestCount.ts"

const namespace = process.env["WATCH_NAMESPACE"] ?? "default"
const concurrency = process.env["CONCURRENCY"] === undefined ? undefined : Number(process.env["CONCURRENCY"])

const tally = RequestCount.makeTally()
const checks = new Map<string, Health.Check>()
/** Ready once the controller registered its check and every check passes (its caches synced). */
const ready = () => checks.size > 0 && [...checks.values()].every((check) => check().ready)

const stats = Layer.effectDiscard(
  Effect.gen(function* () {
    // The runtime's metrics (controller-runtime's names: reconciles, reconcile time, queue wait).
    const context = yield* Effect.context<never>()
    yield* Effect.acquireRelease(
      Effect.callback<ReturnType<typeof createServer>>((resume) => {
        const server = createServer((request, response) => {
          if (request.url === "/metrics") {
            response.writeHead(200, { "content-type": "text/plain" }).end(PrometheusMetrics.formatUnsafe(context))
          } else if (request.url === "/requests") {
            response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(tally.snapshot()))
          } else if (request.url === "/readyz") {
            response.writeHead(ready() ? 200 : 503).end(ready() ? "ok\n" : "caches not synced\n")
          } else response.writeHead(404).end()
        })
        server.listen(0, "127.0.0.1", () => {
          console.log(`stats http://127.0.0.1:${(server.address() as AddressInfo).port}`)
          resume(Effect.succeed(server))
        })
      }),
      (server) => Effect.sync(() => server.close())
    )
  })
)

const controller = Layer.effectDiscard(
  Effect.forkScoped(ServiceOfferController.run({ namespace, ...(concurrency === undefined ? {} : { concurrency }) }))
).pipe(
  Layer.provide(
    Layer.mergeAll(
      ServiceOfferReconciler.ReconcilerSettings.layer({
        verifierService: { namespace, name: "x402-verifier", port: 8080 }
      }),
      UpstreamProbe.layerMemory(new Map()),
      EventRecorder.layerNoop,
      Layer.succeed(
        Health.Health,
        Health.Health.of({
          register: (name, check) => Effect.sync(() => void checks.set(name, check)),
          notReady: Effect.sync(() => [...checks].flatMap(([name, c]) => (c().ready ? [] : [name])))
        })
      ),
      RequestCount.layer(tally).pipe(Layer.provide(NodeKubeClient.layer), Layer.provide(KubeConfig.layerFromEnv))
    )
  )
)

Main.launch(Layer.mergeAll(stats, controller))
