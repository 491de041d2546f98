/**
 * The watch → store step (kube-rs's `reflector`): a watcher's events applied to one store, each
 * before it is passed on, plus what readiness needs to know about that watch.
 *
 * Contract:
 * - `Restarted` replaces the store's contents (and marks it ready); `Applied`/`Deleted` change one
 *   object; the event is emitted after the store holds it, so a consumer reading the store sees at
 *   least that event. Each event carries what the store held before it ({@link Change}): the
 *   previous object of an `Applied`/`Deleted`, and the objects a relist no longer has (deleted
 *   while no watch was open: client-go's `DeletedFinalStateUnknown`).
 * - `Error` leaves the store as it is (stale, never emptied) and is remembered as `error()` until
 *   the next event that is not an error.
 * - {@link readiness} turns reflectors into one `Health` check: the first failing watch with its
 *   reason (`list/watch of ServiceOffer is forbidden: …`), else the kinds not listed yet.
 *
 * It does not schedule anything or decide what an event means; consumers read `events`.
 * The events stream must be run exactly once (it owns the store's only writer).
 *
 * @since 0.1.0
 */
import { Effect, Option, Stream } from "effect"
import type * as KubeClient from "@obol/kube/KubeClient"
import type * as KubeError from "@obol/kube/KubeError"
import type { ResourceKind } from "@obol/kube/ResourceKind"
import type * as Health from "./Health.ts"
import * as Store from "./Store.ts"
import * as Watcher from "./Watcher.ts"

/**
 * A watcher event as the store saw it: with what the store held before.
 *
 * @category models
 */
export type Change<A> =
  | { readonly _tag: "Restarted"; readonly objects: ReadonlyArray<A>; readonly vanished: ReadonlyArray<A> }
  | { readonly _tag: "Applied"; readonly object: A; readonly previous: A | undefined }
  | { readonly _tag: "Deleted"; readonly object: A; readonly previous: A | undefined }
  | { readonly _tag: "Error"; readonly error: KubeError.KubeError }

/**
 * @category models
 */
export interface Reflector<A extends Store.KubeObject> {
  /** The kind's name, for messages. */
  readonly kind: string
  readonly store: Store.Store<A>
  /** Indexes another reader of this store needs (`Store.Writer.addIndexes`). */
  readonly addIndexes: (indexes: Record<string, (object: A) => ReadonlyArray<string>>) => void
  /** The last list/watch failure, until the next successful event. */
  readonly error: () => KubeError.KubeError | undefined
  /** The watcher's events, each applied to the store before it is emitted. Run it once. */
  readonly events: Stream.Stream<Change<A>>
}

/**
 * A reflector over `Watcher.watch(client, kind, options)`, with a fresh store (with `store.indexes`
 * when given, for `Store.byIndex`).
 *
 * @category constructors
 */
export const make = <K extends ResourceKind>(
  client: KubeClient.Shape,
  kind: K,
  options: Watcher.Options = {},
  store: {
    readonly indexes?: Record<string, (object: K["schema"]["Type"] & Store.KubeObject) => ReadonlyArray<string>>
  } = {}
): Effect.Effect<Reflector<K["schema"]["Type"] & Store.KubeObject>> =>
  Effect.map(Store.make<K["schema"]["Type"] & Store.KubeObject>(store), (writer) => {
    type A = K["schema"]["Type"] & Store.KubeObject
    let error: KubeError.KubeError | undefined
    const previousOf = (object: A) => Option.getOrUndefined(writer.store.get(Store.keyOf(object)))
    const events = (Watcher.watch(client, kind, options) as Stream.Stream<Watcher.Event<A>>).pipe(
      Stream.map((event): Change<A> => {
        switch (event._tag) {
          case "Error":
            error = event.error
            return event
          case "Restarted": {
            error = undefined
            const present = new Set(event.objects.map(Store.keyOf))
            const vanished = writer.store.list().filter((o) => !present.has(Store.keyOf(o)))
            writer.reset(event.objects)
            return { _tag: "Restarted", objects: event.objects, vanished }
          }
          case "Applied": {
            error = undefined
            const previous = previousOf(event.object)
            writer.apply(event.object)
            return { _tag: "Applied", object: event.object, previous }
          }
          case "Deleted": {
            error = undefined
            const previous = previousOf(event.object)
            writer.delete(event.object)
            return { _tag: "Deleted", object: event.object, previous }
          }
        }
      })
    )
    return { kind: kind.kind, store: writer.store, addIndexes: writer.addIndexes, error: () => error, events }
  })

/**
 * One readiness check over several reflectors (or the informers built on them).
 *
 * @category constructors
 */
export const readiness =
  (reflectors: ReadonlyArray<Pick<Reflector<Store.KubeObject>, "kind" | "store" | "error">>): Health.Check =>
  () => {
    for (const reflector of reflectors) {
      const error = reflector.error()
      if (error !== undefined) {
        const verb = error.reason === "Forbidden" ? "is forbidden" : "failed"
        return { ready: false, reason: `list/watch of ${reflector.kind} ${verb}: ${error.message}` }
      }
    }
    const waiting = reflectors.filter((r) => !r.store.isReady()).map((r) => r.kind)
    return waiting.length === 0
      ? { ready: true }
      : { ready: false, reason: `caches not synced yet (${waiting.join(", ")})` }
  }
