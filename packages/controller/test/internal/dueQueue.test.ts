import { describe, expect, it } from "@effect/vitest"
import * as DueQueue from "../../src/internal/dueQueue.ts"

const drain = (queue: DueQueue.DueQueue): Array<string> => {
  const keys: Array<string> = []
  for (let entry = queue.poll(); entry !== undefined; entry = queue.poll()) keys.push(`${entry.key}@${entry.runAt}`)
  return keys
}

/** A small deterministic generator (LCG), so the many-keys cases are the same on every run. */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
  return seed / 2 ** 31
}

describe("DueQueue", () => {
  it("is empty until something is offered", () => {
    const queue = DueQueue.make()
    expect(queue.size()).toBe(0)
    expect(queue.peek()).toBeUndefined()
    expect(queue.poll()).toBeUndefined()
  })

  it("hands out keys by due time, whatever the order they were offered in", () => {
    const queue = DueQueue.make()
    queue.offer("c", 30, 0)
    queue.offer("a", 10, 0)
    queue.offer("d", 40, 0)
    queue.offer("b", 20, 0)
    expect(queue.size()).toBe(4)
    expect(queue.peek()?.key).toBe("a")
    expect(drain(queue)).toEqual(["a@10", "b@20", "c@30", "d@40"])
    expect(queue.size()).toBe(0)
  })

  it("breaks ties on the due time by key", () => {
    const queue = DueQueue.make()
    for (const key of ["k3", "k1", "k10", "k2"]) queue.offer(key, 5, 0)
    queue.offer("k0", 6, 0)
    expect(drain(queue)).toEqual(["k1@5", "k10@5", "k2@5", "k3@5", "k0@6"])
  })

  it("moves a key earlier when offered again sooner, keeping when it was first added", () => {
    const queue = DueQueue.make()
    queue.offer("a", 10, 1)
    queue.offer("b", 20, 2)
    queue.offer("c", 30, 3)
    queue.offer("c", 5, 4)
    expect(queue.size()).toBe(3)
    expect(queue.get("c")).toMatchObject({ key: "c", runAt: 5, addedAt: 3 })
    expect(queue.poll()).toMatchObject({ key: "c", runAt: 5, addedAt: 3 })
    expect(drain(queue)).toEqual(["a@10", "b@20"])
  })

  it("keeps the earlier time when a key is offered again later", () => {
    const queue = DueQueue.make()
    queue.offer("a", 10, 0)
    queue.offer("b", 20, 0)
    queue.offer("a", 30, 5)
    expect(queue.size()).toBe(2)
    expect(queue.get("a")).toMatchObject({ key: "a", runAt: 10, addedAt: 0 })
    expect(drain(queue)).toEqual(["a@10", "b@20"])
  })

  it("queues a key afresh once it has been taken", () => {
    const queue = DueQueue.make()
    queue.offer("a", 10, 0)
    expect(queue.poll()?.key).toBe("a")
    expect(queue.get("a")).toBeUndefined()
    queue.offer("a", 50, 40)
    expect(queue.get("a")).toMatchObject({ key: "a", runAt: 50, addedAt: 40 })
  })

  it("agrees with sorting for many keys offered, moved and taken in any order", () => {
    const next = random(42)
    const queue = DueQueue.make()
    /** The reference model: the earliest time asked for each key still queued. */
    const model = new Map<string, number>()
    const taken: Array<string> = []
    const expected: Array<string> = []
    const modelOrder = () =>
      [...model].toSorted(([ka, a], [kb, b]) => a - b || (ka < kb ? -1 : 1)).map(([key, runAt]) => `${key}@${runAt}`)
    const takeFromModel = () => {
      const first = modelOrder()[0]!
      model.delete(first.split("@")[0]!)
      return first
    }
    for (let step = 0; step < 5_000; step++) {
      const roll = next()
      if (roll < 0.6) {
        const key = `k${Math.floor(next() * 1_000)}`
        const runAt = Math.floor(next() * 200)
        queue.offer(key, runAt, step)
        model.set(key, Math.min(runAt, model.get(key) ?? Infinity))
      } else if (model.size > 0) {
        const entry = queue.poll()!
        taken.push(`${entry.key}@${entry.runAt}`)
        expected.push(takeFromModel())
      }
      expect(queue.size()).toBe(model.size)
    }
    expect(taken).toEqual(expected)
    expect(drain(queue)).toEqual(modelOrder())
  })
})
