/**
 * The Scheduler's pending keys: one entry per key with a due time and a priority. Among the keys
 * due at `now`, `poll(now)` hands out the highest priority first, then the earliest due time,
 * then the smaller key, so the order is total and does not depend on insertion order.
 *
 * Two binary heaps with an index from key to entry: keys not yet due wait in one ordered by due
 * time; `peek`/`poll` first move the keys that have come due into the other, ordered by priority.
 * A key is added, moved earlier or raised in O(log n), the next one found in O(1) (after moving
 * what came due) and removed in O(log n). Offering a key again never moves it later nor lowers it:
 * the earlier run time and the higher priority win (the Scheduler's dedupe rule), and the first
 * `addedAt` is kept for the queue-duration metric. Plain mutable data, no Effect: the Scheduler
 * owns the clock.
 */

/** One pending key. `runAt` and `addedAt` are epoch milliseconds; a higher `priority` runs first. */
export interface Entry {
  readonly key: string
  readonly runAt: number
  readonly addedAt: number
  readonly priority: number
}

interface Slot {
  readonly key: string
  runAt: number
  readonly addedAt: number
  priority: number
  /** The heap the slot is in and where it sits in its array, kept current by every move. */
  heap: Heap
  position: number
}

export interface DueQueue {
  readonly size: () => number
  readonly get: (key: string) => Entry | undefined
  /**
   * Queues `key` at `runAt` with `priority` (default 0), or moves a queued key to `runAt` if that
   * is earlier and to `priority` if that is higher. `addedAt` is used only when the key is new.
   */
  readonly offer: (key: string, runAt: number, addedAt: number, priority?: number) => void
  /** The entry `poll(now)` would return, left in place; undefined when no key is due at `now`. */
  readonly peek: (now: number) => Entry | undefined
  /** Removes and returns the first due entry (priority, then `runAt`, then key); undefined if none is due. */
  readonly poll: (now: number) => Entry | undefined
  /**
   * The earliest `runAt` of the keys that were not due at the last `peek` or `poll` (undefined
   * when there are none): when `peek(now)` finds nothing, the time to wait for.
   */
  readonly nextRunAt: () => number | undefined
}

/** A binary heap of slots under a strict order, keeping each slot's `position` current. */
interface Heap {
  readonly items: Array<Slot>
  readonly before: (a: Slot, b: Slot) => boolean
}

const place = (heap: Heap, slot: Slot, position: number) => {
  heap.items[position] = slot
  slot.heap = heap
  slot.position = position
}

const siftUp = (heap: Heap, slot: Slot) => {
  let position = slot.position
  while (position > 0) {
    const parentPosition = (position - 1) >> 1
    const parent = heap.items[parentPosition]!
    if (!heap.before(slot, parent)) break
    place(heap, parent, position)
    position = parentPosition
  }
  place(heap, slot, position)
}

const siftDown = (heap: Heap, slot: Slot) => {
  const items = heap.items
  let position = slot.position
  for (;;) {
    const left = 2 * position + 1
    if (left >= items.length) break
    const right = left + 1
    const child = right < items.length && heap.before(items[right]!, items[left]!) ? right : left
    const first = items[child]!
    if (!heap.before(first, slot)) break
    place(heap, first, position)
    position = child
  }
  place(heap, slot, position)
}

const push = (heap: Heap, slot: Slot) => {
  slot.heap = heap
  slot.position = heap.items.length
  heap.items.push(slot)
  siftUp(heap, slot)
}

const pop = (heap: Heap): Slot | undefined => {
  const first = heap.items[0]
  if (first === undefined) return undefined
  const last = heap.items.pop()!
  if (last !== first) {
    last.position = 0
    siftDown(heap, last)
  }
  return first
}

/** Earlier `runAt` first, then the smaller key (UTF-16 code units, like `<`). */
const byTime = (a: Slot, b: Slot): boolean => a.runAt < b.runAt || (a.runAt === b.runAt && a.key < b.key)

/** Higher priority first, then by time. */
const byPriority = (a: Slot, b: Slot): boolean => a.priority > b.priority || (a.priority === b.priority && byTime(a, b))

export const make = (): DueQueue => {
  const waiting: Heap = { items: [], before: byTime }
  const due: Heap = { items: [], before: byPriority }
  const slots = new Map<string, Slot>()

  /** Moves every waiting key due at `now` to the due heap. */
  const promote = (now: number) => {
    for (let first = waiting.items[0]; first !== undefined && first.runAt <= now; first = waiting.items[0]) {
      pop(waiting)
      push(due, first)
    }
  }

  return {
    size: () => slots.size,
    get: (key) => slots.get(key),
    offer: (key, runAt, addedAt, priority = 0) => {
      const existing = slots.get(key)
      if (existing === undefined) {
        const slot: Slot = { key, runAt, addedAt, priority, heap: waiting, position: 0 }
        slots.set(key, slot)
        push(waiting, slot)
        return
      }
      // Both orders only ever move a slot towards the root when its time drops or its priority rises.
      const earlier = runAt < existing.runAt
      const higher = priority > existing.priority
      if (earlier) existing.runAt = runAt
      if (higher) existing.priority = priority
      if (earlier || (higher && existing.heap === due)) siftUp(existing.heap, existing)
    },
    peek: (now) => {
      promote(now)
      return due.items[0]
    },
    poll: (now) => {
      promote(now)
      const first = pop(due)
      if (first !== undefined) slots.delete(first.key)
      return first
    },
    nextRunAt: () => waiting.items[0]?.runAt
  }
}
