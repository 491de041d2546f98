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

/**
 * @category constructors
 */
export const make = (capacity = 10_000): OwnWrites => {
  /** `kind` → key → our newest write. Insertion order across kinds is tracked by `order`. */
  const writes = new Map<string, Map<Store.Key, { readonly object: Store.KubeObject; readonly version: bigint }>>()
  /** Every held write as `kind␟key`, oldest first, for the capacity bound. */
  const order = new Set<string>()
  const slot = (kind: string, key: Store.Key) => `${kind}\u001f${key}`

  const drop = (kind: string, key: Store.Key) => {
    const byKey = writes.get(kind)
    if (byKey?.delete(key) === true) {
      order.delete(slot(kind, key))
      if (byKey.size === 0) writes.delete(kind)
    }
  }
  const dropIfCovered = (kind: string, object: Store.KubeObject) => {
    const key = Store.keyOf(object)
    const ours = writes.get(kind)?.get(key)
    if (ours === undefined) return
    const theirs = versionOf(object)
    // A version we cannot compare: the cache's word wins, as it would without us.
    if (theirs === undefined || theirs >= ours.version) drop(kind, key)
  }

  return {
    record: (kind, object) => {
      const version = versionOf(object)
      if (version === undefined) return
      const key = Store.keyOf(object)
      let byKey = writes.get(kind)
      if (byKey === undefined) writes.set(kind, (byKey = new Map()))
      const previous = byKey.get(key)
      if (previous !== undefined && previous.version >= version) return
      byKey.set(key, { object: Store.strip(object), version })
      const id = slot(kind, key)
      order.delete(id)
      order.add(id)
      if (order.size > capacity) {
        const oldest = order.values().next().value!
        const separator = oldest.indexOf("\u001f")
        drop(oldest.slice(0, separator), oldest.slice(separator + 1))
      }
    },
    read: <A extends Store.KubeObject>(kind: string, key: Store.Key, cached: Option.Option<A>) => {
      const ours = writes.get(kind)?.get(key)
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
      const byKey = writes.get(kind)
      if (byKey === undefined) return
      const listed = new Map(objects.map((object) => [Store.keyOf(object), object]))
      for (const key of byKey.keys()) {
        const object = listed.get(key)
        if (object === undefined) drop(kind, key)
        else dropIfCovered(kind, object)
      }
    },
    size: () => order.size
  }
}
