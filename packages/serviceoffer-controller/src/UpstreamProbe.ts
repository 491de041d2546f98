/**
 * Is an offer's upstream serving? And, for inference offers, does it have the model?
 *
 * The live probe goes where Traefik goes: to the addresses of the upstream Service's ready
 * EndpointSlice endpoints (the port matched by name from the Service port), never to the Service's
 * ClusterIP, so it works both in-cluster and from outside it. Where the Service and its
 * EndpointSlices come from is the caller's (`Upstream`): the controller reads its caches, so a
 * probe of a watched namespace costs one HTTP request to the upstream and no API request. Each
 * probe has a timeout; a
 * connection failure or a 5xx answer is unhealthy; no ready endpoint is `NoEndpoints`. Model
 * presence is read from the runtime's model list (`/api/tags` for Ollama, `/v1/models` for vLLM,
 * `/info` for TGI); nothing is ever pulled.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Option } from "effect"
import type { EndpointSlice } from "@obol/kube/builtin/EndpointSlice"
import type { Service } from "@obol/kube/builtin/Service"
import * as Endpoints from "@obol/kube/Endpoints"
import type * as KubeError from "@obol/kube/KubeError"
import type { ServiceOffer } from "@obol/api/ServiceOffer"

/**
 * @category models
 */
export type Result =
  | { readonly healthy: true; readonly message: string }
  | {
      readonly healthy: false
      readonly reason: "NoEndpoints" | "ServiceNotFound" | "Unreachable" | "ServerError" | "ModelMissing"
      readonly message: string
    }

/**
 * Where the probe finds an upstream's Service and its EndpointSlices (the caller decides: the
 * controller's caches, or the API server for a namespace it does not watch).
 *
 * @category models
 */
export interface Upstream {
  /** The Service and the EndpointSlices labelled with its name; None when there is no Service. */
  readonly find: (
    namespace: string,
    name: string
  ) => Effect.Effect<
    Option.Option<{
      readonly service: typeof Service.schema.Type
      readonly slices: ReadonlyArray<typeof EndpointSlice.schema.Type>
    }>,
    KubeError.KubeError
  >
}

/**
 * @category models
 */
export interface Shape {
  readonly upstream: (offer: ServiceOffer, upstream: Upstream) => Effect.Effect<Result>
  /** Only called for inference offers. */
  readonly model: (offer: ServiceOffer, upstream: Upstream) => Effect.Effect<Result>
}

/**
 * @category services
 */
export class UpstreamProbe extends Context.Service<UpstreamProbe, Shape>()(
  "@obol/serviceoffer-controller/UpstreamProbe"
) {}

const timeout = Duration.seconds(3)

/** Ready endpoint addresses and the target port for the offer's upstream. */
const targets = (upstream: Upstream, offer: ServiceOffer) => {
  const namespace = offer.spec.upstream.namespace ?? offer.metadata.namespace ?? "default"
  const name = offer.spec.upstream.service
  return Effect.map(upstream.find(namespace, name), (found) =>
    Option.isNone(found)
      ? { _tag: "ServiceNotFound" as const, namespace, name }
      : {
          _tag: "Targets" as const,
          targets: Endpoints.ready(found.value.service, found.value.slices, offer.spec.upstream.port),
          namespace,
          name
        }
  )
}

const get = (url: string) =>
  Effect.tryPromise({
    try: async (signal) => {
      const res = await fetch(url, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(Duration.toMillis(timeout))])
      })
      return { status: res.status, body: await res.text() }
    },
    catch: (error) => (error instanceof Error ? error.message : String(error))
  })

/**
 * Probes through EndpointSlices with `fetch`.
 *
 * @category layers
 */
export const layer: Layer.Layer<UpstreamProbe> = Layer.sync(UpstreamProbe, () => {
  const probe = (
    offer: ServiceOffer,
    upstream: Upstream,
    path: string,
    check: (status: number, body: string) => Result
  ) =>
    targets(upstream, offer).pipe(
      Effect.flatMap((found): Effect.Effect<Result> => {
        if (found._tag === "ServiceNotFound") {
          return Effect.succeed({
            healthy: false,
            reason: "ServiceNotFound",
            message: `Service ${found.namespace}/${found.name} does not exist`
          })
        }
        const first = found.targets[0]
        if (first === undefined) {
          return Effect.succeed({
            healthy: false,
            reason: "NoEndpoints",
            message: `Service ${found.namespace}/${found.name} has no ready endpoints`
          })
        }
        const url = `${Endpoints.origin(first)}${path}`
        return get(url).pipe(
          Effect.map(({ status, body }) => check(status, body)),
          Effect.catch((message) =>
            Effect.succeed<Result>({ healthy: false, reason: "Unreachable", message: `GET ${url}: ${message}` })
          )
        )
      }),
      Effect.catch((error) =>
        Effect.succeed<Result>({
          healthy: false,
          reason: "Unreachable",
          message: `reading endpoints: ${error.message}`
        })
      )
    )
  return UpstreamProbe.of({
    upstream: (offer, upstream) =>
      probe(offer, upstream, offer.spec.upstream.healthPath, (status) =>
        status >= 500
          ? { healthy: false, reason: "ServerError", message: `health check answered ${status}` }
          : { healthy: true, message: `health check answered ${status}` }
      ),
    model: (offer, upstream) => {
      const model = offer.spec.model
      if (model === undefined)
        return Effect.succeed({ healthy: false, reason: "ModelMissing", message: "no model declared" })
      const path = model.runtime === "ollama" ? "/api/tags" : model.runtime === "vllm" ? "/v1/models" : "/info"
      return probe(offer, upstream, path, (status, body) => {
        if (status >= 400) return { healthy: false, reason: "ServerError", message: `${path} answered ${status}` }
        let names: Array<string> = []
        try {
          const json = JSON.parse(body) as {
            models?: Array<{ name?: string }>
            data?: Array<{ id?: string }>
            model_id?: string
          }
          names = [
            ...(json.models ?? []).map((m) => m.name ?? ""),
            ...(json.data ?? []).map((m) => m.id ?? ""),
            ...(json.model_id === undefined ? [] : [json.model_id])
          ]
        } catch {
          return { healthy: false, reason: "ServerError", message: `${path} did not answer JSON` }
        }
        return names.includes(model.name)
          ? { healthy: true, message: `${model.runtime} serves ${model.name}` }
          : {
              healthy: false,
              reason: "ModelMissing",
              message: `${model.runtime} does not list ${model.name} (has: ${names.join(", ") || "none"})`
            }
      })
    }
  })
})

/**
 * Answers from a table keyed by `namespace/name`, healthy when absent; for tests.
 *
 * @category layers
 */
export const layerMemory = (table: Map<string, { upstream?: Result; model?: Result }>): Layer.Layer<UpstreamProbe> =>
  Layer.succeed(
    UpstreamProbe,
    UpstreamProbe.of({
      upstream: (offer) =>
        Effect.sync(
          () =>
            table.get(`${offer.metadata.namespace}/${offer.metadata.name}`)?.upstream ?? {
              healthy: true,
              message: "ok"
            }
        ),
      model: (offer) =>
        Effect.sync(
          () =>
            table.get(`${offer.metadata.namespace}/${offer.metadata.name}`)?.model ?? { healthy: true, message: "ok" }
        )
    })
  )
