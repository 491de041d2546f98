/**
 * From PaymentRoute objects to the verifier's route table, deciding per route whether it can be
 * served. A route the verifier cannot serve (a network its facilitator does not support, a
 * facilitator other than the verifier's) is rejected with a reason on its own status; it never
 * stops the other routes from loading.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import type { PaymentRoute } from "@obol/api/PaymentRoute"
import * as Requirements from "@obol/x402/Requirements"
import * as PathMatch from "./PathMatch.ts"
import * as RouteTable from "./RouteTable.ts"

type Object = typeof PaymentRoute.schema.Type

/**
 * A loaded route: what the decision needs, and the generation it was loaded from.
 *
 * @category models
 */
export interface Loaded {
  readonly requirement: Requirements.Route
  readonly generation: number
}

/**
 * @category models
 */
export interface Rejection {
  readonly reason: "UnsupportedNetwork" | "UnsupportedFacilitator"
  readonly message: string
}

/**
 * @category models
 */
export interface Options {
  /** CAIP-2 networks the facilitator supports for the exact scheme; undefined when unknown (accept all). */
  readonly supportedNetworks?: ReadonlySet<string>
  readonly facilitatorUrl: string
}

/**
 * Converts one PaymentRoute, or says why it cannot be served.
 *
 * @category constructors
 */
export const load = (route: Object, options: Options): Result.Result<RouteTable.Route<Loaded>, Rejection> => {
  const spec = route.spec
  if (options.supportedNetworks !== undefined && !options.supportedNetworks.has(spec.network)) {
    return Result.fail({
      reason: "UnsupportedNetwork",
      message: `the facilitator does not support ${spec.network} for the exact scheme (it supports ${[...options.supportedNetworks].join(", ") || "nothing"})`
    })
  }
  if (
    spec.facilitatorURL !== undefined &&
    spec.facilitatorURL.replace(/\/+$/u, "") !== options.facilitatorUrl.replace(/\/+$/u, "")
  ) {
    return Result.fail({
      reason: "UnsupportedFacilitator",
      message: `this verifier settles through ${options.facilitatorUrl}, not ${spec.facilitatorURL}`
    })
  }
  return Result.succeed({
    key: `${route.metadata.namespace}/${route.metadata.name}`,
    offer: `${spec.offer.namespace}/${spec.offer.name}`,
    pattern: PathMatch.compile(spec.pattern),
    value: {
      generation: route.metadata.generation ?? 0,
      requirement: {
        scheme: spec.scheme,
        amount: spec.price,
        network: spec.network as `${string}:${string}`,
        asset: {
          address: spec.asset.address,
          eip712Name: spec.asset.eip712Name,
          eip712Version: spec.asset.eip712Version
        },
        payTo: spec.payTo,
        maxTimeoutSeconds: spec.maxTimeoutSeconds,
        description: spec.description ?? `${spec.offer.namespace}/${spec.offer.name}`
      }
    }
  })
}

/**
 * Builds a table from every route, and the admission status each one should carry.
 *
 * @category constructors
 */
export const build = (routes: ReadonlyArray<Object>, options: Options) => {
  const loaded: Array<RouteTable.Route<Loaded>> = []
  const verdicts = new Map<
    string,
    { readonly admitted: true; readonly generation: number } | ({ readonly admitted: false } & Rejection)
  >()
  for (const route of routes) {
    if (route.metadata.deletionTimestamp !== undefined) continue
    const key = `${route.metadata.namespace}/${route.metadata.name}`
    const result = load(route, options)
    if (Result.isSuccess(result)) {
      loaded.push(result.success)
      verdicts.set(key, { admitted: true, generation: result.success.value.generation })
    } else verdicts.set(key, { admitted: false, ...result.failure })
  }
  return { table: RouteTable.make(loaded), verdicts }
}
