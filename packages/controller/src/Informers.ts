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
 * - `changes`, a stream that subscribes when run (the subscription ends with the run, so a
 *   reader that stops leaves nothing queued), hands out every change after that, each already in
 *   the store (`Reflector.Change`). A reader that arrives after the first list starts with a
 *   `Restarted` holding the store's contents (no `vanished`), so it sees every object, as a late
 *   client-go event handler gets its adds. A change may reach it twice around that snapshot;
 *   consumers are level-based and must not mind.
 * - Informers are told apart by kind, Schema (a metadata-only view is its own informer) and
 *   watcher options; two first callers at once share one.
 * - Indexes asked for by any reader are added to the one store (`Store.Writer.addIndexes`): one
 *   name means one index function for every reader.
 * - Watch errors stay on the informer (`error`), for each reader's readiness check
 *   (`Reflector.readiness` takes informers too): the service registers no check of its own. An
 *   informer that stopped on a defect reports that for good instead of looking ready and stale.
 *
 * Known limit: a reader that arrives while its informer's watch is failing (a replica that lost
 * and regains leadership across a network partition) starts from the store as it was, which may be
 * stale until the watch recovers; its readiness check says so meanwhile.
 *
 * It does not decide what a change means (that is `Triggers`), queue anything, or write.
 *
 * @since 0.1.0
 */
import { Cause, Context, Deferred, Effect, Exit, Layer, PubSub, Scope, Stream } from "effect"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
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
  /**
   * The last list/watch failure, until the next successful event; for good once the informer
   * itself stopped on a defect (its store then never changes again).
   */
  readonly error: () => KubeError.KubeError | undefined
  /**
   * Changes from when the stream is run, preceded by the store's contents when it has them (see
   * the contract). The subscription lives exactly as long as the run.
   */
  readonly changes: Stream.Stream<Reflector.Change<A>>
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

/** Each Schema a number, so a metadata-only view of a kind is not its full view. */
const schemaIds = new WeakMap<object, number>()
let schemaCount = 0
const schemaId = (schema: object) => {
  let id = schemaIds.get(schema)
  if (id === undefined) schemaIds.set(schema, (id = ++schemaCount))
  return id
}

/** Equal kinds, Schemas and options give equal identities, whatever the order of the options' fields. */
const identity = (kind: ResourceKind, options: Watcher.Options) =>
  `${kind.apiVersion}/${kind.kind}#${schemaId(kind.schema)}?${JSON.stringify(Object.entries(options).toSorted(([a], [b]) => (a < b ? -1 : 1)))}`

type Started = Reflector.Reflector<Store.KubeObject> & Informer<Store.KubeObject>

/**
 * Informers over `client` whose watches run until `scope` closes.
 *
 * @category constructors
 */
export const make = (client: KubeClient.Shape, scope: Scope.Scope): Effect.Effect<Shape> =>
  Effect.sync(() => {
    /** One slot per identity, taken before anything is started, so two first callers share one watch. */
    const started = new Map<string, Deferred.Deferred<Started>>()
    const start = (kind: ResourceKind, options: Watcher.Options) =>
      Effect.gen(function* () {
        const reflector: Reflector.Reflector<Store.KubeObject> = yield* Reflector.make(client, kind, options)
        const changes = yield* PubSub.unbounded<Reflector.Change<Store.KubeObject>>()
        let stopped: KubeError.KubeError | undefined
        yield* reflector.events.pipe(
          Stream.runForEach((change) => PubSub.publish(changes, change)),
          Effect.onExit((exit) =>
            Exit.hasInterrupts(exit) || Exit.isSuccess(exit)
              ? Effect.void
              : Effect.sync(() => {
                  // A defect (an index function that throws): the store is frozen; say so for good.
                  stopped = new KubeError.KubeError({
                    reason: "Decode",
                    message: `the ${kind.kind} informer stopped: ${Cause.pretty(exit.cause)}`
                  })
                }).pipe(Effect.andThen(Effect.logError(`The ${kind.kind} informer stopped`)))
          ),
          Effect.forkIn(scope)
        )
        const subscribed = Stream.unwrap(
          Effect.map(PubSub.subscribe(changes), (subscription) => {
            // Taken after subscribing: a change in between is in both, never in neither.
            const snapshot: ReadonlyArray<Reflector.Change<Store.KubeObject>> = reflector.store.isReady()
              ? [{ _tag: "Restarted", objects: reflector.store.list(), vanished: [] }]
              : []
            return Stream.concat(Stream.fromIterable(snapshot), Stream.fromSubscription(subscription))
          })
        )
        return { ...reflector, error: () => stopped ?? reflector.error(), changes: subscribed } satisfies Started
      })
    return {
      informer: (kind, options = {}, indexes) =>
        Effect.uninterruptible(
          Effect.gen(function* () {
            const id = identity(kind, options)
            let slot = started.get(id)
            if (slot === undefined) {
              const fresh = yield* Deferred.make<Started>()
              started.set(id, fresh)
              slot = fresh
              yield* Deferred.complete(fresh, start(kind, options))
            }
            const informer = yield* Deferred.await(slot)
            if (indexes !== undefined) informer.addIndexes(indexes as never)
            return informer as never
          })
        )
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
