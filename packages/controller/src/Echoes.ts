/**
 * The echoes of a controller's own writes: every object a reconcile writes (the primary or a
 * child) comes back as a watch event carrying the resourceVersion the write returned. That event
 * says nothing the reconcile that wrote it did not already know, so it should not queue the
 * primary again: without this, a pass that writes a child costs a second pass that finds nothing
 * to do, and a burst of N offers costs N extra trips through the queue.
 *
 * Contract: `record` is called with the resourceVersion a write answered; `isEcho` is asked once
 * per watch event and forgets what it matches (each write has one event). An event with any other
 * resourceVersion (someone else's write, or ours merged with theirs) is not an echo. A relist
 * (`forgetKind`) or a deleted object (`forget`) drops what was remembered for it, so nothing
 * outlives the events it waits for; at most `perObject` versions are kept per object.
 *
 * Known limit: a write that changes nothing (a server-side apply of what the object already
 * holds) answers with the object's current resourceVersion. If that version came from someone
 * else's write whose event has not reached us yet, its event is taken for our echo and queues
 * nothing. The window is the cache's lag, and it needs a no-op write of ours inside it (our
 * reconcilers write a child only when its manifest changed or the cache lacks it); a reconciler's
 * periodic `requeueAfter` repairs it. Telling the two apart needs the resourceVersion before the
 * write, which a server-side apply does not return.
 *
 * What it does not do: decide freshness (that is `WriteTracker`) or drop deletions (a child
 * deleted by us still reports its owner: the event is rare and a deletion can come from anyone).
 *
 * @since 0.1.0
 */

/**
 * @category models
 */
export interface Echoes {
  /** Our write of `key` of `kind` (`apiVersion/kind`) was answered with `resourceVersion`. */
  readonly record: (kind: string, key: string, resourceVersion: string | undefined) => void
  /** Whether this event is the echo of one of our writes (and forgets it if so). */
  readonly isEcho: (kind: string, key: string, resourceVersion: string | undefined) => boolean
  /** The object is gone: forget its pending echoes. */
  readonly forget: (kind: string, key: string) => void
  /** The kind was relisted: its pending echoes will never arrive as events. */
  readonly forgetKind: (kind: string) => void
}

/**
 * @category constructors
 */
export const make = (perObject = 8): Echoes => {
  const pending = new Map<string, Map<string, Array<string>>>()
  return {
    record: (kind, key, resourceVersion) => {
      if (resourceVersion === undefined) return
      let byKey = pending.get(kind)
      if (byKey === undefined) pending.set(kind, (byKey = new Map()))
      const versions = byKey.get(key) ?? []
      if (versions.includes(resourceVersion)) return
      versions.push(resourceVersion)
      if (versions.length > perObject) versions.shift()
      byKey.set(key, versions)
    },
    isEcho: (kind, key, resourceVersion) => {
      const byKey = pending.get(kind)
      const versions = byKey?.get(key)
      if (resourceVersion === undefined || versions === undefined) return false
      const index = versions.indexOf(resourceVersion)
      if (index === -1) return false
      // Events arrive in order: versions written before this one can no longer arrive.
      versions.splice(0, index + 1)
      if (versions.length === 0) byKey!.delete(key)
      return true
    },
    forget: (kind, key) => {
      pending.get(kind)?.delete(key)
    },
    forgetKind: (kind) => {
      pending.delete(kind)
    }
  }
}
