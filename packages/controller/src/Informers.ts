/**
 * Shared informers (client-go's `SharedInformerFactory`, controller-runtime's cache): one
 * `Reflector` per kind and selection per process, started on first use and kept for the life of
 * the `Informers` service, whose store and changes every reader shares. The serviceoffer-controller
 * process's reconciler and its well-known server read the same ServiceOffer cache from one watch,
 * and a replica that loses and regains leadership finds its caches still warm.
 *
 * Contract:
 * - `informer(kind, options)` returns the same informer for the same kind and equal watcher
 *   options (namespace, selectors, paging, timeouts); different options get their own watch.
 *   Its watch runs in the service's scope, not the caller's: it outlives a controller that stops.
 * - `subscribe` (scoped to the subscriber) hands out every change after the subscription, each
 *   already in the store (`Reflector.Change`). A subscriber that arrives after the first list
 *   starts with a `Restarted` holding the store's contents (no `vanished`), so it sees every
 *   object, as a late client-go event handler gets its adds. A change may reach it twice around
 *   that snapshot; consumers are level-based and must not mind.
 * - Indexes asked for by any reader are added to the one store (`Store.Writer.addIndexes`): one
 *   name means one index function for every reader.
 * - Watch errors stay on the informer (`error`), for each reader's readiness check
 *   (`Reflector.readiness` takes informers too): the service registers no check of its own.
 *
 * It does not decide what a change means (that is `Triggers`), queue anything, or write.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, PubSub, Scope, Stream } from "effect"
import * as KubeClient from "@obol/kube/KubeClient"
import type * as KubeError from "@obol/kube/KubeError"
import type { ResourceKind } from "@obol/kube/ResourceKind"
import * as Reflector from "./Reflector.ts"
import type * as Store from "./Store.ts"
import type * as Watcher from "./Watcher.ts"

type ObjectOf<K extends ResourceKind> = K["schema"]["Type"] & Store.KubeObject

/**
 * @category models
 */
export interface Informer<A extends Store.KubeObject> {
  /** The kind's name, for messages. */
  readonly kind: string
  readonly store: Store.Store<A>
  /** The last list/watch failure, until the next successful event. */
  readonly error: () => KubeError.KubeError | undefined
  /** Changes from now on, preceded by the store's contents when it has them (see the contract). */
  readonly subscribe: Effect.Effect<Stream.Stream<Reflector.Change<A>>, never, Scope.Scope>
}

/**
 * @category models
 */
export interface Shape {
  /** The informer of `kind` under `options`, started on first use; `indexes` added to its store. */
  readonly informer: <K extends ResourceKind>(
    kind: K,
    options?: Watcher.Options,
    indexes?: Record<string, (object: ObjectOf<K>) => ReadonlyArray<string>>
  ) => Effect.Effect<Informer<ObjectOf<K>>>
}

/** Equal options give equal identities, whatever the order of their fields. */
const identity = (kind: ResourceKind, options: Watcher.Options) =>
  `${kind.apiVersion}/${kind.kind}?${JSON.stringify(Object.entries(options).toSorted(([a], [b]) => (a < b ? -1 : 1)))}`

/**
 * Informers over `client` whose watches run until `scope` closes.
 *
 * @category constructors
 */
export const make = (client: KubeClient.Shape, scope: Scope.Scope): Effect.Effect<Shape> =>
  Effect.sync(() => {
    const started = new Map<string, Reflector.Reflector<Store.KubeObject> & Informer<Store.KubeObject>>()
    const start = (kind: ResourceKind, options: Watcher.Options) =>
      Effect.gen(function* () {
        const reflector: Reflector.Reflector<Store.KubeObject> = yield* Reflector.make(client, kind, options)
        const changes = yield* PubSub.unbounded<Reflector.Change<Store.KubeObject>>()
        yield* reflector.events.pipe(
          Stream.runForEach((change) => PubSub.publish(changes, change)),
          Effect.forkIn(scope)
        )
        const subscribe = Effect.map(PubSub.subscribe(changes), (subscription) => {
          // Taken after subscribing: a change in between is in both, never in neither.
          const snapshot: ReadonlyArray<Reflector.Change<Store.KubeObject>> = reflector.store.isReady()
            ? [{ _tag: "Restarted", objects: reflector.store.list(), vanished: [] }]
            : []
          return Stream.concat(Stream.fromIterable(snapshot), Stream.fromSubscription(subscription))
        })
        return { ...reflector, subscribe }
      })
    return {
      informer: (kind, options = {}, indexes) =>
        Effect.gen(function* () {
          const id = identity(kind, options)
          let informer = started.get(id)
          if (informer === undefined) {
            informer = yield* start(kind, options)
            started.set(id, informer)
          }
          if (indexes !== undefined) informer.addIndexes(indexes as never)
          return informer as never
        })
    }
  })

/**
 * @category services
 */
export class Informers extends Context.Service<Informers, Shape>()("@obol/controller/Informers") {
  /** One set of informers for the process, over its `KubeClient`, stopped with the layer. */
  static readonly layer: Layer.Layer<Informers, never, KubeClient.KubeClient> = Layer.effect(
    Informers,
    Effect.gen(function* () {
      return yield* make(yield* KubeClient.KubeClient, yield* Effect.scope)
    })
  )
}

/**
 * The process's `Informers` when it provides them, else private ones for the current scope
 * (a controller or server run on its own, as in tests).
 *
 * @category constructors
 */
export const current: Effect.Effect<Shape, never, KubeClient.KubeClient | Scope.Scope> = Effect.gen(function* () {
  const shared = yield* Effect.serviceOption(Informers)
  if (shared._tag === "Some") return shared.value
  return yield* make(yield* KubeClient.KubeClient, yield* Effect.scope)
})
