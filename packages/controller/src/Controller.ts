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
 * 4. **Reconcile** (span `Controller.reconcile` with the controller and key): read the object
 *    (gone: nothing to do) and run `reconcile(object)`. Reads, of the primary and through
 *    `context.store(kind).get`, see this controller's own writes (`OwnWrites`): the object a write
 *    answered stands in for a cache entry older than it until the watch brings it, so no pass
 *    works from a state older than its own last write, and none waits for the watch either.
 * 5. **Outcome** (`Outcome.of`, a pure policy): an `Action` is success (requeue after a delay, or
 *    wait for a change); a `Terminal` failure is counted, logged and published as a Warning Event,
 *    never retried; any other failure or defect is retried with per-key backoff.
 *
 * Guarantees: a key is never reconciled twice at once; at most `concurrency` reconciles run;
 * reconcile sees the object as stored, never an event. The reconciler's Kubernetes writes go
 * through a `KubeClient` that records what we wrote (echoes and own writes).
 *
 * Caveats: the reconciler must be idempotent: it may run again at any time, and it never learns
 * why it runs (kube-rs hides the reason on purpose, and so do we). It must not count on its own
 * writes to run it again (controller-runtime and kube-rs re-run on them; we do not): after a
 * write whose outcome it has to see, it returns `requeueAfter`.
 *
 * @since 0.1.0
 */
import { Clock, Deferred, Effect, Exit, Layer, Metric, Option, Stream } from "effect"
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
import * as OwnWrites from "./OwnWrites.ts"
import * as Watcher from "./Watcher.ts"

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
 * What reconcile gets besides the object: read access to every watched kind's cache. `get` also
 * sees this controller's own writes that the cache does not hold yet (`OwnWrites`); `list` and
 * `byIndex` are the cache's alone.
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
  /** How many of its own writes the controller holds until its caches catch up. Default 10,000. */
  readonly ownWritesCapacity?: number
}

const kindId = (kind: ResourceKind) => `${kind.apiVersion}/${kind.kind}`

/**
 * The client a reconcile writes through: it notes the resourceVersion of every object written (so
 * the watch event that echoes it does not queue the primary again) and holds the written object
 * for reads until the cache has it, when `holds` says the kind's watch will bring it.
 */
const tracked = (
  client: KubeClient.Shape,
  ownWrites: OwnWrites.OwnWrites,
  echoes: Echoes.Echoes,
  holds: (id: string, object: Store.KubeObject) => boolean
): KubeClient.Shape => {
  const note = <A>(kind: ResourceKind, effect: Effect.Effect<A, KubeError.KubeError>) =>
    Effect.tap(effect, (object) =>
      Effect.sync(() => {
        const written = object as Store.KubeObject
        if (written.metadata === undefined) return
        const id = kindId(kind)
        echoes.record(id, Store.keyOf(written), written.metadata.resourceVersion)
        if (holds(id, written)) ownWrites.record(id, written)
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
      const kinds = [options.for, ...(options.owns ?? []), ...(options.watches ?? []).map((w) => w.kind)].map(kindId)
      const twice = kinds.find((id, i) => kinds.indexOf(id) !== i)
      if (twice !== undefined) {
        // One store per kind per controller: a second entry would silently replace the first's
        // trigger or indexes.
        return yield* Effect.die(
          new Error(
            `Controller ${options.name} names ${twice} twice in for/owns/watches: name each kind once ` +
              "(a watched kind's map can return the owner's key too)"
          )
        )
      }
      const attributes = { controller: options.name }
      const scheduler = yield* Scheduler.make({
        ...options.scheduler,
        name: options.name,
        concurrency: options.concurrency ?? 1
      })
      const primaryId = kindId(options.for)
      const ownWrites = OwnWrites.make(options.ownWritesCapacity)
      const echoes = Echoes.make()
      const informers = yield* Informers.current
      const selection = {
        ...options.watcher,
        ...(options.namespace === undefined ? {} : { namespace: options.namespace })
      }
      const watched = new Map<string, Informers.Informer<Store.KubeObject>>()
      /** Each kind's store as reconciles read it: `get` sees our own writes. */
      const readable = new Map<string, Store.Store<Store.KubeObject>>()
      /** Per kind, whether its watch will bring an object we wrote (so holding it ends). */
      const selected = new Map<string, (object: Store.KubeObject) => boolean>()
      const inform = (kind: ResourceKind, watcherOptions: Watcher.Options, indexes: Watched["indexes"]) =>
        Effect.tap(informers.informer(kind, watcherOptions, indexes as never), (informer) =>
          Effect.sync(() => {
            const id = kindId(kind)
            watched.set(id, informer)
            readable.set(id, {
              ...informer.store,
              get: (key) => ownWrites.read(id, key, informer.store.get(key))
            })
            // A label or field selector we cannot evaluate here: hold only primaries (we reconcile
            // what the selection gave us; one that leaves it comes back as a deletion).
            const filtered = watcherOptions.labelSelector !== undefined || watcherOptions.fieldSelector !== undefined
            selected.set(
              id,
              (object) =>
                (watcherOptions.namespace === undefined || object.metadata.namespace === watcherOptions.namespace) &&
                (!filtered || id === primaryId)
            )
          })
        )
      const context: Context = {
        store: (kind) => {
          const store = readable.get(kindId(kind))
          if (store === undefined) {
            throw new Error(`Controller ${options.name} does not watch ${kind.kind}: add it to "owns" or "watches"`)
          }
          return store as never
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
       * Queues the primary keys a kind's changes name, except for the echo of our own write, and
       * lets go of our own writes the cache now holds.
       */
      const follow = (kind: ResourceKind, informer: Informers.Informer<Store.KubeObject>, trigger: Triggers.Trigger) =>
        Effect.gen(function* () {
          const id = kindId(kind)
          const isPrimary = id === primaryId
          /** Queues the keys the trigger names for a change, at the priority it deserves. */
          const queue = (change: Exclude<Reflector.Change<Store.KubeObject>, { readonly _tag: "Error" }>) => {
            const previous = change._tag === "Restarted" ? undefined : change.previous
            const vanished = change._tag === "Restarted" ? change.vanished : []
            return scheduleAll(trigger(change, previous, vanished), Triggers.priority(change, previous, isPrimary))
          }
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
                    ownWrites.relisted(id, change.objects)
                    // Objects deleted while no watch was open are missing from the relist; their
                    // deletion is an event too (client-go's DeletedFinalStateUnknown).
                    return Effect.andThen(queue(change), Deferred.done(listed, Exit.void))
                  case "Applied": {
                    const key = Store.keyOf(change.object)
                    ownWrites.seen(id, change.object)
                    // Our own write coming back: the reconcile that made it already knew.
                    if (echoes.isEcho(id, key, change.object.metadata.resourceVersion)) return Effect.void
                    return queue(change)
                  }
                  case "Deleted": {
                    const key = Store.keyOf(change.object)
                    echoes.forget(id, key)
                    ownWrites.forget(id, key)
                    return queue(change)
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
      const primary = readable.get(primaryId)!

      // Every kind's first list is queued before the first reconcile, so the keys it names run once.
      yield* Effect.all(listing, { discard: true })
      yield* Effect.logInfo(`Controller ${options.name} started`).pipe(
        Effect.annotateLogs({ kinds: [...watched.keys()] })
      )

      const recorder = yield* Effect.serviceOption(EventRecorder)
      const client$ = tracked(client, ownWrites, echoes, (id, object) => selected.get(id)?.(object) === true)
      const active = Metrics.activeWorkers.pipe(Metric.withAttributes(attributes))
      let running = 0

      const work = (key: Store.Key): Effect.Effect<Scheduler.Outcome, never, R> =>
        Effect.gen(function* () {
          const cached = primary.get(key)
          if (Option.isNone(cached)) return { _tag: "Succeeded" } as const
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
