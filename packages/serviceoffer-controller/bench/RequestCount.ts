/**
 * Client-side request counts for compare.bench.ts: a `KubeClient` that counts every request it
 * sends as `<verb> <resource>[/<subresource>] <outcome>` (the controller-runtime peer's transport
 * counts its requests under the same names, see controller-runtime/main.go), and the arithmetic
 * on such counts.
 *
 * Verbs: get, list (each page), watch (each watch request started), create, apply (server-side
 * apply, of the status subresource too), patch, replace, delete. Outcome: `ok`, or the
 * `KubeError` reason (`NotFound`, `Conflict`, …). It counts calls of the `KubeClient` interface,
 * which sends one HTTP request per call (it has no retries of its own); it does not see requests
 * made around it.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Stream } from "effect"
import * as KubeClient from "@obol/kube/KubeClient"
import type { ResourceKind } from "@obol/kube/ResourceKind"

/**
 * Requests by `<verb> <resource> <outcome>`.
 *
 * @category models
 */
export type Counts = Readonly<Record<string, number>>

/**
 * A live tally; `snapshot` copies it.
 *
 * @category models
 */
export interface Tally {
  readonly add: (key: string) => void
  readonly snapshot: () => Counts
}

/**
 * @category constructors
 */
export const makeTally = (): Tally => {
  const counts = new Map<string, number>()
  return {
    add: (key) => void counts.set(key, (counts.get(key) ?? 0) + 1),
    snapshot: () => Object.fromEntries(counts)
  }
}

const resourceOf = (kind: ResourceKind, subresource?: string) =>
  subresource === undefined ? kind.plural : `${kind.plural}/${subresource}`

/**
 * `client`, counting each request into `tally`.
 *
 * @category constructors
 */
export const counting = (client: KubeClient.Shape, tally: Tally): KubeClient.Shape => {
  const count = <A, E extends { readonly reason: string }, R>(
    what: string,
    effect: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E, R> =>
    effect.pipe(
      Effect.tap(() => Effect.sync(() => tally.add(`${what} ok`))),
      Effect.tapError((error) => Effect.sync(() => tally.add(`${what} ${error.reason}`)))
    )
  return {
    get: (kind, ref) => count(`get ${resourceOf(kind)}`, client.get(kind, ref)),
    list: (kind, options) => count(`list ${resourceOf(kind)}`, client.list(kind, options)),
    watch: (kind, options) =>
      Stream.unwrap(
        Effect.sync(() => {
          tally.add(`watch ${resourceOf(kind)} ok`)
          return client.watch(kind, options)
        })
      ),
    create: (kind, object, options) =>
      count(`create ${resourceOf(kind, options?.subresource)}`, client.create(kind, object, options)),
    apply: (kind, object, options) => count(`apply ${resourceOf(kind)}`, client.apply(kind, object, options)),
    applyStatus: (kind, object, options) =>
      count(`apply ${resourceOf(kind, "status")}`, client.applyStatus(kind, object, options)),
    patch: (kind, ref, patch, options) =>
      count(`patch ${resourceOf(kind, options?.subresource)}`, client.patch(kind, ref, patch, options)),
    replace: (kind, object, options) =>
      count(`replace ${resourceOf(kind, options?.subresource)}`, client.replace(kind, object, options)),
    delete: (kind, ref, options) => count(`delete ${resourceOf(kind)}`, client.delete(kind, ref, options))
  }
}

/**
 * Replaces the `KubeClient` below it with one that counts into `tally`.
 *
 * @category layers
 */
export const layer = (tally: Tally): Layer.Layer<KubeClient.KubeClient, never, KubeClient.KubeClient> =>
  Layer.effect(
    KubeClient.KubeClient,
    Effect.gen(function* () {
      return counting(yield* KubeClient.KubeClient, tally)
    })
  )

/**
 * `after - before`, per key (keys that did not grow are left out).
 *
 * @category combinators
 */
export const diff = (after: Counts, before: Counts): Counts =>
  Object.fromEntries(
    Object.entries(after).flatMap(([key, n]) => {
      const d = n - (before[key] ?? 0)
      return d > 0 ? [[key, d]] : []
    })
  )

/**
 * The sum of the counts whose key passes `keep` (default: all).
 *
 * @category combinators
 */
export const total = (counts: Counts, keep: (key: string) => boolean = () => true): number =>
  Object.entries(counts).reduce((sum, [key, n]) => (keep(key) ? sum + n : sum), 0)

/**
 * Not a watch request (the API server's `apiserver_request_total` counts a watch only when it ends).
 *
 * @category predicates
 */
export const isNotWatch = (key: string): boolean => !key.startsWith("watch ")
