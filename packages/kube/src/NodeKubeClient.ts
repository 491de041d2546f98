/**
 * The Node wiring of {@link KubeClient.layer}: one pooled undici `Agent` that trusts the cluster's
 * CA and presents the client certificate from the {@link KubeConfig.KubeConfig}. Apps pick this in
 * their `main.ts`; libraries and tests depend only on the abstract `KubeClient`.
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer, Redacted } from "effect"
import { HttpClient } from "effect/http"
import * as KubeClient from "./KubeClient.ts"
import * as KubeConfig from "./KubeConfig.ts"

/**
 * `KubeClient` over HTTP for the given configuration.
 *
 * @category layers
 */
export const layer: Layer.Layer<KubeClient.KubeClient, never, KubeConfig.KubeConfig> = Layer.unwrap(
  Effect.gen(function* () {
    const { tls } = yield* KubeConfig.KubeConfig
    const connect = {
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls.key === undefined ? {} : { key: Redacted.value(tls.key) }),
      ...(tls.insecureSkipVerify === true ? { rejectUnauthorized: false } : {})
    }
    // Watches are long-lived; timeouts are set per request in Effect, not on the socket.
    // A client layer of its own, not `NodeHttpClient.layerUndiciOptions`: that one wraps the shared
    // `layerUndiciNoDispatcher` value, which a layer build memoises, so the first HTTP client built
    // in a process would serve every other one too (a facilitator or proxy client getting only the
    // cluster CA, or this client the default agent without it).
    return KubeClient.layer.pipe(
      Layer.provide(
        HttpClient.layerMergedContext(NodeHttpClient.makeUndici).pipe(
          Layer.provide(
            NodeHttpClient.layerDispatcherOptions({
              connect,
              bodyTimeout: 0,
              headersTimeout: 0,
              keepAliveTimeout: 60_000
            })
          )
        )
      )
    )
  })
)

/**
 * `KubeClient` from the standard configuration sources (see `KubeConfig.fromEnv`).
 *
 * @category layers
 */
export const layerFromEnv: Layer.Layer<KubeClient.KubeClient | KubeConfig.KubeConfig, KubeConfig.KubeConfigError> =
  Layer.provideMerge(layer, KubeConfig.layerFromEnv)
