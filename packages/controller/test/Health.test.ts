import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import { HttpRouter } from "effect/http"
import { TestClock } from "effect/testing"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as Action from "@obol/controller/Action"
import * as Controller from "@obol/controller/Controller"
import * as Health from "@obol/controller/Health"
import * as Metrics from "@obol/controller/Metrics"
import { Widget } from "./utils/kinds.ts"
import * as Idle from "@obol/controller/testing/Idle"

const settle = Idle.quiesce

/** Serves the health routes for one Health instance, in memory. */
const serve = (health: Health.Shape) => {
  const { handler, dispose } = HttpRouter.toWebHandler(
    Health.routes.pipe(Layer.provide(Layer.succeed(Health.Health, health))),
    {
      disableLogger: true
    }
  )
  const get = (path: string) =>
    Effect.promise(async () => {
      const res = await handler(new Request(`http://health${path}`))
      return { status: res.status, text: await res.text() }
    })
  return { get, dispose: Effect.promise(dispose) }
}

describe("Health", () => {
  it.effect("answers /healthz, and /readyz with the reasons of failing checks", () =>
    Idle.provide(
      Effect.gen(function* () {
        const health = yield* Health.Health
        let ready = false
        yield* health.register("cache", () => (ready ? { ready: true } : { ready: false, reason: "not synced" }))
        const server = serve(health)
        expect(yield* server.get("/healthz")).toEqual({ status: 200, text: "ok\n" })
        expect(yield* server.get("/readyz")).toEqual({ status: 503, text: "cache: not synced\n" })
        ready = true
        expect(yield* server.get("/readyz")).toEqual({ status: 200, text: "ok\n" })
        yield* server.dispose
      }).pipe(Effect.provide(Health.Health.layer))
    )
  )

  it.effect("serves controller-runtime metric names in Prometheus text", () =>
    Idle.provide(
      Effect.gen(function* () {
        yield* Metric.update(
          Metrics.reconcileTotal.pipe(Metric.withAttributes({ controller: "demo", result: "success" })),
          2
        )
        const server = serve(yield* Health.Health)
        const metrics = yield* server.get("/metrics")
        expect(metrics.status).toBe(200)
        expect(metrics.text).toContain('controller_runtime_reconcile_total{controller="demo",result="success"} 2')
        yield* server.dispose
      }).pipe(Effect.provide(Health.Health.layer))
    )
  )

  it.effect("keeps a controller not ready while list/watch is forbidden, saying so, and ready once it syncs", () =>
    Idle.provide(
      Effect.gen(function* () {
        const fake = yield* FakeKube.FakeKube
        const health = yield* Health.Health
        yield* fake.failNext("list", {
          error: KubeError.fromResponse({
            code: 403,
            body: {
              kind: "Status",
              code: 403,
              reason: "Forbidden",
              message: 'widgets.test.obol.org is forbidden: User "system:serviceaccount:ns:ctl" cannot list'
            }
          })
        })
        yield* Controller.run({
          name: "widgets",
          for: Widget,
          reconcile: () => Effect.succeed(Action.awaitChange)
        }).pipe(Effect.forkChild)
        yield* settle
        const notReady = yield* health.notReady
        expect(notReady).toEqual([
          'controller widgets: list/watch of Widget is forbidden: widgets.test.obol.org is forbidden: User "system:serviceaccount:ns:ctl" cannot list'
        ])
        yield* TestClock.adjust("1 second")
        yield* settle
        expect(yield* health.notReady).toEqual([])
      }).pipe(Effect.provide(Layer.mergeAll(Health.Health.layer, Layer.fresh(FakeKube.layer))))
    )
  )
})
