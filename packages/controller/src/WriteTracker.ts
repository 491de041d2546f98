/**
 * Remembers the resourceVersion of each object this controller wrote, so that a cache entry older
 * than our own write is not mistaken for the current state (the stale-read-after-write problem
 * controller-runtime users hit: the next reconcile sees the pre-write object and redoes work or
 * fails with Conflict).
 *
 * resourceVersions are opaque by contract; the API server's are etcd revisions (decimal
 * integers), which is what the comparison relies on. A version that is not a decimal integer is
 * never treated as stale.
 *
 * @since 0.1.0
 */
import type { Key } from "./Store.ts"

/**
 * @category models
 */
export interface WriteTracker {
  /** Records that we wrote `key` and the server answered with `resourceVersion`. */
  readonly record: (key: Key, resourceVersion: string | undefined) => void
  /** True unless the cached version is older than our last write (then forgets nothing). */
  readonly isFresh: (key: Key, cachedResourceVersion: string | undefined) => boolean
  /** Forgets a key (the object is gone). */
  readonly forget: (key: Key) => void
}

const asNumber = (rv: string | undefined): bigint | undefined =>
  rv !== undefined && /^\d+$/u.test(rv) ? BigInt(rv) : undefined

/**
 * @category constructors
 */
export const make = (): WriteTracker => {
  const written = new Map<Key, bigint>()
  return {
    record: (key, rv) => {
      const n = asNumber(rv)
      if (n === undefined) return
      const previous = written.get(key)
      if (previous === undefined || n > previous) written.set(key, n)
    },
    isFresh: (key, cached) => {
      const ours = written.get(key)
      if (ours === undefined) return true
      const theirs = asNumber(cached)
      if (theirs === undefined || theirs >= ours) {
        written.delete(key)
        return true
      }
      return false
    },
    forget: (key) => {
      written.delete(key)
    }
  }
}
