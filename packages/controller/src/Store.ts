/**
 * A read-only, in-memory cache of one kind's objects, filled by exactly one watcher through its
 * {@link Writer}. Reads are synchronous lookups; every write is one synchronous step, so on
 * JavaScript's single thread readers never wait on the writer and never see half a change.
 *
 * Objects are stored without `metadata.managedFields` and the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation: reconcilers do not need them and
 * they are most of an object's size.
 *
 * The store knows nothing about watches; `Reflector` connects a watcher's events to a writer.
 *
 * @since 0.1.0
 */
import { Deferred, Effect, Option } from "effect"
import type { ObjectMeta } from "@obol/kube/ObjectMeta"

/**
 * The part of an object the store needs.
 *
 * @category models
 */
export interface KubeObject {
  readonly metadata: ObjectMeta
}

/**
 * `namespace/name`, or `name` for cluster-scoped objects.
 *
 * @category models
 */
export type Key = string

/**
 * @category constructors
 */
export const key = (ref: { readonly namespace?: string | undefined; readonly name?: string | undefined }): Key =>
  ref.namespace === undefined || ref.namespace === "" ? (ref.name ?? "") : `${ref.namespace}/${ref.name ?? ""}`

/**
 * @category constructors
 */
export const keyOf = (object: KubeObject): Key => key(object.metadata)

/**
 * Splits a key back into its reference.
 *
 * @category constructors
 */
export const refOf = (k: Key): { readonly namespace?: string; readonly name: string } => {
  const slash = k.indexOf("/")
  return slash === -1 ? { name: k } : { namespace: k.slice(0, slash), name: k.slice(slash + 1) }
}

/**
 * @category models
 */
export interface Store<A extends KubeObject> {
  readonly get: (key: Key) => Option.Option<A>
  readonly list: () => ReadonlyArray<A>
  /** Objects whose index `name` includes `value`. */
  readonly byIndex: (name: string, value: string) => ReadonlyArray<A>
  readonly size: () => number
  readonly isReady: () => boolean
  /** Completes once the first full list has been written. */
  readonly waitUntilReady: Effect.Effect<void>
}

/**
 * The write side. Hold exactly one per store: two writers would let one watcher's relist clobber
 * the other's state.
 *
 * @category models
 */
export interface Writer<A extends KubeObject> {
  readonly store: Store<A>
  readonly apply: (object: A) => void
  readonly delete: (object: A) => void
  /** Replaces everything (a relist), and marks the store ready. */
  readonly reset: (objects: ReadonlyArray<A>) => void
  /**
   * Adds indexes to a store that may already hold objects (a second reader of a shared store);
   * each is built over what is stored now. A name already present keeps its first function: one
   * name means one index for every reader of the store.
   */
  readonly addIndexes: (indexes: Record<string, (object: A) => ReadonlyArray<string>>) => void
}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

/**
 * Drops what a cache should not keep: managedFields and the last-applied annotation.
 *
 * @category combinators
 */
export const strip = <A extends KubeObject>(object: A): A => {
  const { managedFields: _managed, annotations, ...metadata } = object.metadata
  let kept = annotations
  if (annotations !== undefined && lastApplied in annotations) {
    const { [lastApplied]: _dropped, ...rest } = annotations
    kept = rest
  }
  return { ...object, metadata: { ...metadata, ...(kept === undefined ? {} : { annotations: kept }) } }
}

/**
 * @category constructors
 */
export const make = <A extends KubeObject>(
  options: { readonly indexes?: Record<string, (object: A) => ReadonlyArray<string>> } = {}
): Effect.Effect<Writer<A>> =>
  Effect.gen(function* () {
    const ready = yield* Deferred.make<void>()
    const objects = new Map<Key, A>()
    let readyFlag = false
    const indexes = Object.entries(options.indexes ?? {})
    const indexed = new Map<string, Map<string, Set<Key>>>(indexes.map(([name]) => [name, new Map()]))

    const unindex = (k: Key, object: A) => {
      for (const [name, fn] of indexes) {
        const byValue = indexed.get(name)!
        for (const value of fn(object)) {
          const keys = byValue.get(value)
          keys?.delete(k)
          if (keys?.size === 0) byValue.delete(value)
        }
      }
    }
    const indexOne = (name: string, fn: (object: A) => ReadonlyArray<string>, k: Key, object: A) => {
      const byValue = indexed.get(name)!
      for (const value of fn(object)) {
        let keys = byValue.get(value)
        if (keys === undefined) byValue.set(value, (keys = new Set()))
        keys.add(k)
      }
    }
    const addIndex = (k: Key, object: A) => {
      for (const [name, fn] of indexes) indexOne(name, fn, k, object)
    }
    const put = (object: A) => {
      const k = keyOf(object)
      const previous = objects.get(k)
      if (previous !== undefined) unindex(k, previous)
      const stripped = strip(object)
      objects.set(k, stripped)
      addIndex(k, stripped)
    }
    const remove = (object: A) => {
      const k = keyOf(object)
      const previous = objects.get(k)
      if (previous === undefined) return
      unindex(k, previous)
      objects.delete(k)
    }

    const store: Store<A> = {
      get: (k) => Option.fromUndefinedOr(objects.get(k)),
      list: () => [...objects.values()],
      byIndex: (name, value) => [...(indexed.get(name)?.get(value) ?? [])].flatMap((k) => objects.get(k) ?? []),
      size: () => objects.size,
      isReady: () => readyFlag,
      waitUntilReady: Deferred.await(ready)
    }
    return {
      store,
      apply: put,
      delete: remove,
      reset: (list) => {
        objects.clear()
        for (const byValue of indexed.values()) byValue.clear()
        for (const object of list) put(object)
        readyFlag = true
        Deferred.doneUnsafe(ready, Effect.void)
      },
      addIndexes: (added) => {
        for (const [name, fn] of Object.entries(added)) {
          if (indexed.has(name)) continue
          indexes.push([name, fn])
          indexed.set(name, new Map())
          for (const [k, object] of objects) indexOne(name, fn, k, object)
        }
      }
    } satisfies Writer<A>
  })
