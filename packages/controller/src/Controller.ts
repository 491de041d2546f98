/**
 * A level-based controller: watch a primary kind (`for`), the kinds it creates (`owns`) and any
 * others (`watches`), keep each in a `Store`, queue the keys of primary objects that need
 * attention in a `Scheduler`, and run `reconcile` with the *current* cached object.
 *
 * Expected flow, as named stages:
 * 1. **Follow**: each kind's shared informer (`Informers`: one watch and store per kind in the
 *    process, kept warm across leadership changes) hands the controller its changes.
 * 2. **Trigger** (`Triggers`): `self` queues primary keys (every object on a (re)list; on a change,
 *    only when the predicate says so: by default generation, deletion timestamp, finalizers or
 *    labels, so our own status writes do not loop); `owners` queues an owned object's controller
 *    owner; `mapped` queues the keys a mapper returns. An event that only echoes one of this
 *    controller's own writes (its resourceVersion is the one our write returned: `Echoes`) queues
 *    nothing: the reconcile that wrote it already knew, and a reconcile that wants another pass
 *    asks for it.
 *    Keys are queued with a priority (`Triggers.priority`): a primary object seen for the first
 *    time runs ahead of every other due key, a relist's keys behind them.
 * 3. **Sync**: no reconcile runs before every kind's first full list is in its store and has
 *    queued the keys it names (so a key named by several kinds' lists runs once).
 * 4. **Reconcile** (span `Controller.reconcile` with the controller and key): read the object from
 *    the store (gone: nothing to do); if the cache is older than our own last write, hold the key
 *    until the watch brings that write; otherwise run `reconcile(object)`.
 * 5. **Outcome** (`Outcome.of`, a pure policy): an `Action` is success (requeue after a delay, or
 *    wait for a change); a `Terminal` failure is counted, logged and published as a Warning Event,
 *    never retried; any other failure or defect is retried with per-key backoff.
 *
 * Guarantees: a key is never reconciled twice at once; at most `concurrency` reconciles run;
 * reconcile sees the object as stored, never an event. The reconciler's Kubernetes writes go
 * through a `KubeClient` that records what we wrote (the fresh-read guard).
 *
 * Caveats: the reconciler must be idempotent: it may run again at any time, and it never learns
 * why it runs (kube-rs hides the reason on purpose, and so do we). It must not count on its own
 * writes to run it again (controller-runtime and kube-rs re-run on them; we do not): after a
 * write whose outcome it has to see, it returns `requeueAfter`.
 *
 * @since 0.1.0
 */
import { Clock, Deferred, Duration, Effect, Exit, Layer, Metric, Option, Stream } from "effect"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import type { ResourceKind } from "@obol/kube/ResourceKind"
import type * as Action from "./Action.ts"
import * as Echoes from "./Echoes.ts"
import { EventRecorder } from "./EventRecorder.ts"
import { Health } from "./Health.ts"
import * as Metrics from "./Metrics.ts"
import * as Informers from "./Informers.ts"
import * as Outcome from "./Outcome.ts"
import * as Reflector from "./Reflector.ts"
import * as Scheduler from "./Scheduler.ts"
import * as Store from "./Store.ts"
import * as Triggers from "./Triggers.ts"
import * as Watcher from "./Watcher.ts"
import * as WriteTracker from "./WriteTracker.ts"

type ObjectOf<K extends ResourceKind> = K["schema"]["Type"] & Store.KubeObject

/**
 * A kind watched for the controller, with a function from its objects to primary keys.
 *
 * @category models
 */
export interface Watched<K extends ResourceKind = ResourceKind> {
  readonly kind: K
  /** The primary keys an object of this kind concerns; `context` reads the caches (and indexes). */
  readonly map: (object: ObjectOf<K>, context: Context) => ReadonlyArray<Store.Key>
  /** Indexes of this kind's store (`context.store(kind).byIndex(name, value)`). */
  readonly indexes?: Record<string, (object: ObjectOf<K>) => ReadonlyArray<string>>
}

/**
 * What reconcile gets besides the object: read access to every watched kind's cache.
 *
 * @category models
 */
export interface Context {
  readonly store: <K extends ResourceKind>(kind: K) => Store.Store<ObjectOf<K>>
}

/**
 * @category models
 */
export interface Options<P extends ResourceKind, E, R> {
  /** Used in logs and metric labels (`controller="<name>"`). */
  readonly name: string
  readonly for: P
  readonly owns?: ReadonlyArray<ResourceKind>
  readonly watches?: ReadonlyArray<Watched<any>>
  readonly reconcile: (object: ObjectOf<P>, context: Context) => Effect.Effect<Action.Action, E, R>
  /** Keys reconciled at once. Default 1. */
  readonly concurrency?: number
  /** Watch one namespace only. Default: all. */
  readonly namespace?: string
  /** Filter primary objects by label. */
  readonly labelSelector?: string
  /** Indexes of the primary store (`context.store(for).byIndex(name, value)`), e.g. for mappers. */
  readonly indexes?: Record<string, (object: ObjectOf<P>) => ReadonlyArray<string>>
  /**
   * `generation` (default): changes that only touch status or unrelated metadata do not queue
   * the object. `any`: every change does. A function decides per change (`previous` is undefined
   * for an object not seen before); compose it with `Triggers.generationChanged` to widen the default.
   */
  readonly predicate?: "generation" | "any" | Triggers.Predicate
  readonly watcher?: Watcher.Options
  readonly scheduler?: Omit<Scheduler.Options, "name" | "concurrency">
  /**
   * A key whose cache entry is older than our own write runs when the watch brings that write;
   * this re-check covers an event that never comes (a relist). Default 50 ms.
   */
  readonly freshReadPoll?: Duration.Input
}

const kindId = (kind: ResourceKind) => `${kind.apiVersion}/${kind.kind}`

/**
 * The client a reconcile writes through: it notes the resourceVersion of every object written
 * (so the watch event that echoes it does not queue the primary again) and, for the primary kind,
 * the fresh-read guard's newest write.
 */
const tracked = (
  client: KubeClient.Shape,
  primary: ResourceKind,
  tracker: WriteTracker.WriteTracker,
  echoes: Echoes.Echoes
): KubeClient.Shape => {
  const primaryId = kindId(primary)
  const note = <A>(kind: ResourceKind, effect: Effect.Effect<A, KubeError.KubeError>) =>
    Effect.tap(effect, (object) =>
      Effect.sync(() => {
        const { metadata } = object as Store.KubeObject
        if (metadata === undefined) return
        const id = kindId(kind)
        const key = Store.keyOf(object as Store.KubeObject)
        echoes.record(id, key, metadata.resourceVersion)
        if (id === primaryId) tracker.record(key, metadata.resourceVersion)
      })
    )
  return {
    ...client,
    create: (kind, object, options) => note(kind, client.create(kind, object, options)),
    apply: (kind, object, options) => note(kind, client.apply(kind, object, options)),
    applyStatus: (kind, object, options) => note(kind, client.applyStatus(kind, object, options)),
    patch: (kind, ref, patch, options) => note(kind, client.patch(kind, ref, patch, options)),
    replace: (kind, object, options) => note(kind, client.replace(kind, object, options))
  }
}

/**
 * Runs the controller until interrupted. Interrupting it ends its subscriptions to the informers
 * (whose watches go on when the process provides them: `Informers`) and interrupts in-flight
 * reconciles.
 *
 * @category constructors
 */
export const run = <P extends ResourceKind, E, R>(
  options: Options<P, E, R>
): Effect.Effect<never, never, KubeClient.KubeClient | R> =>
  Effect.scoped(
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const attributes = { controller: options.name }
      const scheduler = yield* Scheduler.make({
        ...options.scheduler,
        name: options.name,
        concurrency: options.concurrency ?? 1
      })
      const primaryId = kindId(options.for)
      const tracker = WriteTracker.make()
      const echoes = Echoes.make()
      /** Keys whose turn came while their cache entry was older than our write: run on catch-up. */
      const awaitingFresh = new Set<Store.Key>()
      const informers = yield* Informers.current
      const selection = {
        ...options.watcher,
        ...(options.namespace === undefined ? {} : { namespace: options.namespace })
      }
      const watched = new Map<string, Informers.Informer<Store.KubeObject>>()
      const inform = (kind: ResourceKind, watcherOptions: Watcher.Options, indexes: Watched["indexes"]) =>
        Effect.tap(informers.informer(kind, watcherOptions, indexes as never), (informer) =>
          Effect.sync(() => void watched.set(kindId(kind), informer))
        )
      const context: Context = {
        store: (kind) => {
          const informer = watched.get(kindId(kind))
          if (informer === undefined) {
            throw new Error(`Controller ${options.name} does not watch ${kind.kind}: add it to "owns" or "watches"`)
          }
          return informer.store as never
        }
      }
      const health = yield* Effect.serviceOption(Health)
      if (health._tag === "Some") {
        yield* health.value.register(`controller ${options.name}`, () => Reflector.readiness([...watched.values()])())
      }

      const predicate: Triggers.Predicate =
        options.predicate === "any"
          ? () => true
          : typeof options.predicate === "function"
            ? options.predicate
            : Triggers.generationChanged
      const listing: Array<Effect.Effect<void>> = []
      const scheduleAll = (keys: Iterable<Store.Key>, priority: Scheduler.Priority) =>
        Effect.forEach(keys, (k) => scheduler.schedule(k, 0, priority), { discard: true })

      /**
       * Queues the primary keys a kind's changes name, except for the echo of our own write; a
       * primary key held back for a stale cache runs once the cache catches up.
       */
      const follow = (kind: ResourceKind, informer: Informers.Informer<Store.KubeObject>, trigger: Triggers.Trigger) =>
        Effect.gen(function* () {
          const id = kindId(kind)
          const isPrimary = id === primaryId
          const listed = yield* Deferred.make<void>()
          listing.push(Deferred.await(listed))
          yield* informer.changes.pipe(
            Stream.runForEach((change) =>
              Effect.suspend(() => {
                switch (change._tag) {
                  case "Error":
                    return Effect.void
                  case "Restarted":
                    echoes.forgetKind(id)
                    // Objects deleted while no watch was open are missing from the relist; their
                    // deletion is an event too (client-go's DeletedFinalStateUnknown).
                    return Effect.andThen(
                      scheduleAll(
                        trigger(change, undefined, change.vanished),
                        Triggers.priority(change, undefined, isPrimary)
                      ),
                      Deferred.done(listed, Exit.void)
                    )
                  case "Applied": {
                    const key = Store.keyOf(change.object)
                    // A key held back for a stale cache runs as soon as the cache holds our write.
                    const version = change.object.metadata.resourceVersion
                    if (isPrimary && awaitingFresh.has(key) && tracker.isFresh(key, version)) {
                      awaitingFresh.delete(key)
                      echoes.isEcho(id, key, version)
                      return scheduler.schedule(key)
                    }
                    // Our own write coming back: the reconcile that made it already knew.
                    if (echoes.isEcho(id, key, version)) return Effect.void
                    return scheduleAll(
                      trigger(change, change.previous, []),
                      Triggers.priority(change, change.previous, isPrimary)
                    )
                  }
                  case "Deleted": {
                    const key = Store.keyOf(change.object)
                    echoes.forget(id, key)
                    if (isPrimary) {
                      awaitingFresh.delete(key)
                      tracker.forget(key)
                    }
                    return scheduleAll(
                      trigger(change, change.previous, []),
                      Triggers.priority(change, change.previous, isPrimary)
                    )
                  }
                }
              })
            ),
            Effect.forkScoped
          )
        })

      // Every kind's informer first, so a mapper reading `context` finds every store, then follow each.
      const followed = [
        {
          kind: options.for as ResourceKind,
          informer: yield* inform(
            options.for,
            { ...selection, ...(options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector }) },
            options.indexes as Watched["indexes"]
          ),
          trigger: Triggers.self(predicate)
        },
        ...(yield* Effect.forEach(options.owns ?? [], (kind) =>
          Effect.map(inform(kind, selection, undefined), (informer) => ({
            kind,
            informer,
            trigger: Triggers.owners(options.for)
          }))
        )),
        ...(yield* Effect.forEach(options.watches ?? [], (w) =>
          Effect.map(inform(w.kind, selection, w.indexes), (informer) => ({
            kind: w.kind,
            informer,
            trigger: Triggers.mapped((object) => w.map(object as never, context))
          }))
        ))
      ]
      for (const { kind, informer, trigger } of followed) yield* follow(kind, informer, trigger)
      const primary = followed[0]!.informer.store

      // Every kind's first list is queued before the first reconcile, so the keys it names run once.
      yield* Effect.all(listing, { discard: true })
      yield* Effect.logInfo(`Controller ${options.name} started`).pipe(
        Effect.annotateLogs({ kinds: [...watched.keys()] })
      )

      const recorder = yield* Effect.serviceOption(EventRecorder)
      const freshReadPoll = Duration.fromInputUnsafe(options.freshReadPoll ?? "50 millis")
      const client$ = tracked(client, options.for, tracker, echoes)
      const active = Metrics.activeWorkers.pipe(Metric.withAttributes(attributes))
      let running = 0

      const work = (key: Store.Key): Effect.Effect<Scheduler.Outcome, never, R> =>
        Effect.gen(function* () {
          const cached = primary.get(key)
          if (Option.isNone(cached)) return { _tag: "Succeeded" } as const
          if (!tracker.isFresh(key, cached.value.metadata.resourceVersion)) {
            // Run again when the watch brings our write (above); the poll only covers a lost event.
            awaitingFresh.add(key)
            return { _tag: "Succeeded", requeueAfter: freshReadPoll } as const
          }
          awaitingFresh.delete(key)
          running++
          yield* Metric.update(active, running)
          const started = yield* Clock.currentTimeMillis
          const exit = yield* options
            .reconcile(cached.value as ObjectOf<P>, context)
            .pipe(Effect.provideService(KubeClient.KubeClient, client$), Effect.exit)
          running--
          yield* Metric.update(active, running)
          yield* Metric.update(
            Metrics.reconcileTime.pipe(Metric.withAttributes(attributes)),
            ((yield* Clock.currentTimeMillis) - started) / 1000
          )
          const verdict = Outcome.of(exit)
          yield* Metric.update(
            Metrics.reconcileTotal.pipe(Metric.withAttributes({ ...attributes, result: verdict.result })),
            1
          )
          switch (verdict._tag) {
            case "Terminal": {
              yield* Metric.update(Metrics.terminalErrors.pipe(Metric.withAttributes(attributes)), 1)
              yield* Effect.logWarning(`Reconcile of ${options.for.kind} ${key} failed permanently`).pipe(
                Effect.annotateLogs({ controller: options.name, reason: verdict.reason, message: verdict.message })
              )
              if (recorder._tag === "Some") {
                const { metadata } = cached.value
                yield* recorder.value.publish({
                  regarding: {
                    apiVersion: options.for.apiVersion,
                    kind: options.for.kind,
                    name: metadata.name ?? "",
                    ...(metadata.namespace === undefined ? {} : { namespace: metadata.namespace }),
                    ...(metadata.uid === undefined ? {} : { uid: metadata.uid })
                  },
                  type: "Warning",
                  reason: verdict.reason,
                  action: "Reconcile",
                  note: verdict.message
                })
              }
              break
            }
            case "Retry":
              yield* Metric.update(Metrics.reconcileErrors.pipe(Metric.withAttributes(attributes)), 1)
              yield* Effect.logWarning(`Reconcile of ${options.for.kind} ${key} failed; retrying with backoff`).pipe(
                Effect.annotateLogs({ controller: options.name, cause: verdict.cause })
              )
              break
          }
          return verdict.scheduled
        }).pipe(Effect.withSpan("Controller.reconcile", { attributes: { controller: options.name, key } }))

      return yield* scheduler.run(work)
    })
  )

/**
 * The controller as a Layer that runs it in the background for the Layer's lifetime.
 *
 * @category layers
 */
export const layer = <P extends ResourceKind, E, R>(
  options: Options<P, E, R>
): Layer.Layer<never, never, KubeClient.KubeClient | R> => Layer.effectDiscard(Effect.forkScoped(run(options)))
