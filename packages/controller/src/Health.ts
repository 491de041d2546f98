/**
 * Liveness, readiness and metrics for a controller process, as HTTP routes:
 *
 * - `/healthz`: 200 while the process runs;
 * - `/readyz`: 200 once every registered check passes; otherwise 503 with one line per failing
 *   check, e.g. `controller serviceoffer: list/watch of ServiceOffer is forbidden: …` (so a
 *   missing RBAC rule shows up as "not ready, and why" instead of an idle, healthy-looking pod);
 * - `/metrics`: every Effect metric in Prometheus text (the controller-runtime names of `Metrics`).
 *
 * Controllers register themselves when a `Health` service is present. The routes are a Layer for
 * `HttpRouter`; which server serves them is chosen in `main.ts`.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"

/**
 * One readiness check: ready, or not with a human reason.
 *
 * @category models
 */
export type Check = () => { readonly ready: true } | { readonly ready: false; readonly reason: string }

/**
 * @category models
 */
export interface Shape {
  readonly register: (name: string, check: Check) => Effect.Effect<void>
  /** Failing checks' reasons; empty when ready. */
  readonly notReady: Effect.Effect<ReadonlyArray<string>>
}

/**
 * @category services
 */
export class Health extends Context.Service<Health, Shape>()("@obol/controller/Health") {
  /** A fresh registry of checks. */
  static readonly layer: Layer.Layer<Health> = Layer.sync(Health, () => {
    const checks = new Map<string, Check>()
    return Health.of({
      register: (name, check) => Effect.sync(() => void checks.set(name, check)),
      notReady: Effect.sync(() =>
        [...checks].flatMap(([name, check]) => {
          const result = check()
          return result.ready ? [] : [`${name}: ${result.reason}`]
        })
      )
    })
  })
}

/**
 * `/healthz`, `/readyz` and `/metrics` for an `HttpRouter`.
 *
 * @category layers
 */
export const routes = Layer.unwrap(
  Effect.gen(function* () {
    const health = yield* Health
    return Layer.mergeAll(
      HttpRouter.add("GET", "/healthz", HttpServerResponse.text("ok\n")),
      HttpRouter.add(
        "GET",
        "/readyz",
        Effect.map(health.notReady, (reasons) =>
          reasons.length === 0
            ? HttpServerResponse.text("ok\n")
            : HttpServerResponse.text(`${reasons.join("\n")}\n`, { status: 503 })
        )
      ),
      HttpRouter.add(
        "GET",
        "/metrics",
        Effect.map(PrometheusMetrics.format(), (text) =>
          HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
        )
      )
    )
  })
)
