/**
 * Read your own writes: the objects a controller's reconciles wrote, held until its caches catch
 * up with them, so a reconcile never works from a cache entry older than its own write (the
 * stale-read-after-write problem controller-runtime users hit: the next pass sees the pre-write
 * object and redoes work, or fails with a Conflict) and never has to wait for the watch to bring
 * that write either.
 *
 * Contract:
 * - `record` takes what a write answered (the whole object as stored). `read` returns the newer
 *   of the cached object and our last write of it; a cache that lacks the object is older than
 *   our write (its watch event is on the way), unless the object's deletion has been seen since
 *   (`forget`).
 * - Every watch event of the kind goes to `seen` (or `forget` for a deletion): once the cache
 *   holds our write or anything newer, the write is dropped. A relist (`relisted`) drops what it
 *   covers and what it no longer has.
 * - Held objects are stripped like the cache's (`Store.strip`), and at most `capacity` are held
 *   per controller (the oldest goes first: it then reads from the cache, stale at worst, and a
 *   level-based reconcile repairs that).
 *
 * resourceVersions are opaque by contract; the API server's are etcd revisions (decimal
 * integers), which is what the comparison relies on. A write answered with a version that is not
 * a decimal integer is not held.
 *
 * What it does not do: hold deletions (a child we deleted may still be in the cache until its
 * event; deleting it again answers 404), `list` or index reads (they are the cache's), or decide
 * which writes to record: the controller records only objects its informers will see events for
 * (`Controller`), since anything else would never be dropped.
 *
 * @since 0.2.0
 */
import { Option } from "effect"
import * as Store from "./Store.ts"

/**
 * @category models
 */
export interface OwnWrites {
  /** Our write of an object of `kind` (`apiVersion/kind`) was answered with `object`. */
  readonly record: (kind: string, object: Store.KubeObject) => void
  /** The newer of `cached` and our last write of `key`. */
  readonly read: <A extends Store.KubeObject>(
    kind: string,
    key: Store.Key,
    cached: Option.Option<A>
  ) => Option.Option<A>
  /** The kind's watch brought `object`: drop our write of it if the cache is now as new. */
  readonly seen: (kind: string, object: Store.KubeObject) => void
  /** The object is gone: drop our write of it. */
  readonly forget: (kind: string, key: Store.Key) => void
  /** The kind was listed again: drop the writes the list covers and those of objects it lacks. */
  readonly relisted: (kind: string, objects: ReadonlyArray<Store.KubeObject>) => void
  /** Writes held (all kinds). */
  readonly size: () => number
}

const versionOf = (object: Store.KubeObject): bigint | undefined => {
  const rv = object.metadata.resourceVersion
  return rv !== undefined && /^\d+$/u.test(rv) ? BigInt(rv) : undefined
}

interface Held {
  readonly kind: string
  readonly key: Store.Key
  readonly object: Store.KubeObject
  readonly version: bigint
}

/**
 * @category constructors
 */
export const make = (capacity = 10_000): OwnWrites => {
  /** Our newest write of each object by `kind␟key`; a Map keeps insertion order, oldest first. */
  const held = new Map<string, Held>()
  const slot = (kind: string, key: Store.Key) => `${kind}\u001f${key}`

  const drop = (kind: string, key: Store.Key) => {
    held.delete(slot(kind, key))
  }
  const dropIfCovered = (kind: string, object: Store.KubeObject) => {
    const id = slot(kind, Store.keyOf(object))
    const ours = held.get(id)
    if (ours === undefined) return
    const theirs = versionOf(object)
    // A version we cannot compare: the cache's word wins, as it would without us.
    if (theirs === undefined || theirs >= ours.version) held.delete(id)
  }

  return {
    record: (kind, object) => {
      const version = versionOf(object)
      if (version === undefined) return
      const key = Store.keyOf(object)
      const id = slot(kind, key)
      const previous = held.get(id)
      if (previous !== undefined && previous.version >= version) return
      // Deleted first, so the newest write goes to the end of the insertion order.
      held.delete(id)
      held.set(id, { kind, key, object: Store.strip(object), version })
      if (held.size > capacity) held.delete(held.keys().next().value!)
    },
    read: <A extends Store.KubeObject>(kind: string, key: Store.Key, cached: Option.Option<A>) => {
      const ours = held.get(slot(kind, key))
      if (ours === undefined) return cached
      if (Option.isSome(cached)) {
        const theirs = versionOf(cached.value)
        if (theirs === undefined || theirs >= ours.version) {
          drop(kind, key)
          return cached
        }
      }
      return Option.some(ours.object as A)
    },
    seen: dropIfCovered,
    forget: drop,
    relisted: (kind, objects) => {
      const listed = new Map(objects.map((object) => [Store.keyOf(object), object]))
      for (const ours of held.values()) {
        if (ours.kind !== kind) continue
        const object = listed.get(ours.key)
        if (object === undefined) drop(kind, ours.key)
        else dropIfCovered(kind, object)
      }
    },
    size: () => held.size
  }
}
