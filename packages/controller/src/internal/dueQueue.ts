/**
 * The Scheduler's pending keys, ordered by due time: a binary min-heap with one entry per key and
 * an index from key to entry, so the next due key is found in O(1), removed in O(log n), and a
 * key is added or moved earlier in O(log n). Ties on the due time go to the smaller key, so the
 * order is total and does not depend on insertion order. Offering a key again never moves it
 * later: the earlier run time wins (the Scheduler's dedupe rule), and the first `addedAt` is kept
 * for the queue-duration metric. Plain mutable data, no Effect: the Scheduler owns the clock.
 */

/** One pending key. `runAt` and `addedAt` are epoch milliseconds. */
export interface Entry {
  readonly key: string
  readonly runAt: number
  readonly addedAt: number
}

interface Slot {
  readonly key: string
  runAt: number
  readonly addedAt: number
  /** Where the slot sits in the heap array, kept current by every move. */
  position: number
}

export interface DueQueue {
  readonly size: () => number
  readonly get: (key: string) => Entry | undefined
  /**
   * Queues `key` at `runAt`, or moves it to `runAt` if it is queued later. A later `runAt` for a
   * queued key changes nothing. `addedAt` is used only when the key is new.
   */
  readonly offer: (key: string, runAt: number, addedAt: number) => void
  /** The entry due first (earliest `runAt`, then smallest key), left in place. */
  readonly peek: () => Entry | undefined
  /** Removes and returns the entry due first. */
  readonly poll: () => Entry | undefined
}

/** Strict order: earlier `runAt` first, then the smaller key (UTF-16 code units, like `<`). */
const before = (a: Slot, b: Slot): boolean => a.runAt < b.runAt || (a.runAt === b.runAt && a.key < b.key)

export const make = (): DueQueue => {
  const heap: Array<Slot> = []
  const slots = new Map<string, Slot>()

  const place = (slot: Slot, position: number) => {
    heap[position] = slot
    slot.position = position
  }

  const siftUp = (slot: Slot) => {
    let position = slot.position
    while (position > 0) {
      const parentPosition = (position - 1) >> 1
      const parent = heap[parentPosition]!
      if (!before(slot, parent)) break
      place(parent, position)
      position = parentPosition
    }
    place(slot, position)
  }

  const siftDown = (slot: Slot) => {
    let position = slot.position
    const length = heap.length
    for (;;) {
      const left = 2 * position + 1
      if (left >= length) break
      const right = left + 1
      const child = right < length && before(heap[right]!, heap[left]!) ? right : left
      const smallest = heap[child]!
      if (!before(smallest, slot)) break
      place(smallest, position)
      position = child
    }
    place(slot, position)
  }

  return {
    size: () => heap.length,
    get: (key) => slots.get(key),
    offer: (key, runAt, addedAt) => {
      const existing = slots.get(key)
      if (existing === undefined) {
        const slot: Slot = { key, runAt, addedAt, position: heap.length }
        heap.push(slot)
        slots.set(key, slot)
        siftUp(slot)
      } else if (runAt < existing.runAt) {
        // Decrease-key: an earlier time can only move the slot towards the root.
        existing.runAt = runAt
        siftUp(existing)
      }
    },
    peek: () => heap[0],
    poll: () => {
      const first = heap[0]
      if (first === undefined) return undefined
      slots.delete(first.key)
      const last = heap.pop()!
      if (last !== first) {
        last.position = 0
        siftDown(last)
      }
      return first
    }
  }
}
