/**
 * Where pay-on-success routes send paid requests: informers over Services and EndpointSlices, and
 * a lookup from a route's `upstream` (Service, namespace, port) to one ready target, taken
 * round-robin, the way a Gateway sends traffic (`@obol/kube/Endpoints`: ready endpoints only,
 * the target port matched by name from the Service port). Not the Service's DNS name or ClusterIP:
 * those need cluster DNS and kube-proxy, and hide readiness (docs/adr/0010-pay-on-success.md).
 *
 * The process's shared informers (`Informers`) watch every namespace, or only the `WATCH_NAMESPACE` set: an upstream in a
 * namespace outside that set is never found (its requests get 503, nothing charged). Services are
 * cached with their ports only, EndpointSlices with their addresses, conditions and ports.
 *
 * It does not probe health (readiness is what the EndpointSlices say), retry, or choose routes.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option } from "effect"
import type { RouteUpstream } from "@obol/api/PaymentRoute"
import { Health } from "@obol/controller/Health"
import * as Informers from "@obol/controller/Informers"
import * as Reflector from "@obol/controller/Reflector"
import * as Store from "@obol/controller/Store"
import { EndpointSlice, serviceNameLabel } from "@obol/kube/builtin/EndpointSlice"
import { Service } from "@obol/kube/builtin/Service"
import * as Endpoints from "@obol/kube/Endpoints"
import * as KubeClient from "@obol/kube/KubeClient"

/**
 * @category models
 */
export interface Shape {
  /**
   * The origin of the next ready target of `upstream` (round-robin over its ready endpoints), or
   * none when it has no ready endpoint, or the caches have not been listed yet.
   */
  readonly resolve: (upstream: typeof RouteUpstream.Type) => Option.Option<URL>
}

/**
 * @category services
 */
export class Upstreams extends Context.Service<Upstreams, Shape>()("@obol/x402-verifier/Upstreams") {}

/**
 * @category models
 */
export interface Settings {
  /** Namespaces whose Services and EndpointSlices are watched; all when undefined. */
  readonly namespaces?: ReadonlyArray<string>
}

/** The index of slices by the Service they belong to: `namespace/service`. */
const byService = "service"

/** Round-robin positions are kept for at most this many upstreams (then forgotten, and restart at 0). */
const maxPositions = 10_000

/**
 * Lookups from a route's upstream to the current ready targets, given the two kinds' stores.
 *
 * @category constructors
 */
export const fromStores = (
  services: ReadonlyArray<Store.Store<typeof Service.schema.Type>>,
  slices: ReadonlyArray<Store.Store<typeof EndpointSlice.schema.Type>>
): Shape => {
  const positions = new Map<string, number>()
  return {
    resolve: (upstream) => {
      if (![...services, ...slices].every((store) => store.isReady())) return Option.none()
      const key = `${upstream.namespace}/${upstream.service}`
      let service: typeof Service.schema.Type | undefined
      for (const store of services) {
        const found = store.get(key)
        if (Option.isSome(found)) {
          service = found.value
          break
        }
      }
      if (service === undefined) return Option.none()
      const targets = Endpoints.ready(
        service,
        slices.flatMap((store) => store.byIndex(byService, key)),
        upstream.port
      )
      if (targets.length === 0) return Option.none()
      const position = `${key}:${upstream.port}`
      const next = positions.get(position) ?? 0
      if (positions.size >= maxPositions && !positions.has(position)) positions.clear()
      positions.set(position, (next + 1) % targets.length)
      return Option.some(new URL(Endpoints.origin(targets[next % targets.length]!)))
    }
  }
}

/**
 * The lookup over the process's shared informers (`Informers`). Registers a readiness check (both
 * kinds listed, neither watch failing) when `Health` is present.
 *
 * @category layers
 */
export const layer = (settings: Settings = {}): Layer.Layer<Upstreams, never, KubeClient.KubeClient> =>
  Layer.effect(
    Upstreams,
    Effect.gen(function* () {
      const informers = yield* Informers.current
      const selections =
        settings.namespaces === undefined ? [{}] : settings.namespaces.map((namespace) => ({ namespace }))
      const services = yield* Effect.forEach(selections, (s) => informers.informer(Service, s))
      const slices = yield* Effect.forEach(selections, (s) =>
        informers.informer(EndpointSlice, s, {
          [byService]: (slice) => {
            const name = slice.metadata.labels?.[serviceNameLabel]
            return name === undefined ? [] : [`${slice.metadata.namespace}/${name}`]
          }
        })
      )
      const health = yield* Effect.serviceOption(Health)
      if (Option.isSome(health)) {
        yield* health.value.register("x402-verifier upstreams", Reflector.readiness([...services, ...slices]))
      }
      return fromStores(
        services.map((r) => r.store),
        slices.map((r) => r.store)
      )
    })
  )
