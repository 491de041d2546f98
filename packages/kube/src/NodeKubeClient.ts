/**
 * The Node wiring of {@link KubeClient.layer}: one pair of keep-alive node:http/node:https agents
 * that trust the cluster's CA and present the client certificate from the
 * {@link KubeConfig.KubeConfig}. Apps pick this in their `main.ts`; libraries and tests depend only
 * on the abstract `KubeClient`.
 *
 * node:http, not undici: a process that talks only to the API server then never evaluates undici
 * (1 MB of bundle source and a WebAssembly HTTP parser; docs/benchmarks.md, the verifier's memory).
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
    // Watches are long-lived; timeouts are set per request in Effect, not on the socket. The
    // agents' `timeout` only closes a pooled connection idle for 60 s (Node destroys a socket that
    // times out only while it sits in the free list), before the API server would drop it.
    // A client layer of its own, not `NodeHttpClient.layerNodeHttpOptions`: that one wraps the
    // shared `layerNodeHttpNoAgent` value, which a layer build memoises, so the first HTTP client
    // built in a process would serve every other one too (a facilitator or proxy client getting
    // only the cluster CA, or this client the default agents without it).
    return KubeClient.layer.pipe(
      Layer.provide(
        HttpClient.layerMergedContext(NodeHttpClient.makeNodeHttp).pipe(
          Layer.provide(NodeHttpClient.layerAgentOptions({ ...connect, keepAlive: true, timeout: 60_000 }))
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
