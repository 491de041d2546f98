import { describe, expect, it } from "@effect/vitest"
import * as DueQueue from "../../src/internal/dueQueue.ts"

const drain = (queue: DueQueue.DueQueue): Array<string> => {
  const keys: Array<string> = []
  for (let entry = queue.poll(Infinity); entry !== undefined; entry = queue.poll(Infinity))
    keys.push(`${entry.key}@${entry.runAt}`)
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
    expect(queue.peek(Infinity)).toBeUndefined()
    expect(queue.poll(Infinity)).toBeUndefined()
    expect(queue.nextRunAt()).toBeUndefined()
  })

  it("hands out keys by due time, whatever the order they were offered in", () => {
    const queue = DueQueue.make()
    queue.offer("c", 30, 0)
    queue.offer("a", 10, 0)
    queue.offer("d", 40, 0)
    queue.offer("b", 20, 0)
    expect(queue.size()).toBe(4)
    expect(queue.peek(Infinity)?.key).toBe("a")
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
    expect(queue.poll(Infinity)).toMatchObject({ key: "c", runAt: 5, addedAt: 3 })
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
    expect(queue.poll(Infinity)?.key).toBe("a")
    expect(queue.get("a")).toBeUndefined()
    queue.offer("a", 50, 40)
    expect(queue.get("a")).toMatchObject({ key: "a", runAt: 50, addedAt: 40 })
  })

  it("hands out nothing before its time, and says when the next key is due", () => {
    const queue = DueQueue.make()
    queue.offer("b", 20, 0)
    queue.offer("a", 10, 0, 5)
    expect(queue.peek(9)).toBeUndefined()
    expect(queue.poll(9)).toBeUndefined()
    expect(queue.nextRunAt()).toBe(10)
    expect(queue.poll(10)?.key).toBe("a")
    expect(queue.poll(10)).toBeUndefined()
    expect(queue.nextRunAt()).toBe(20)
    expect(queue.size()).toBe(1)
  })

  it("among due keys, hands out the higher priority first, then the earlier time", () => {
    const queue = DueQueue.make()
    queue.offer("old", 1, 0)
    queue.offer("older", 0, 0)
    queue.offer("new", 5, 5, 1)
    queue.offer("relisted", 0, 0, -1)
    queue.offer("later", 50, 0, 9)
    expect(queue.poll(10)?.key).toBe("new")
    expect(queue.poll(10)?.key).toBe("older")
    expect(queue.poll(10)?.key).toBe("old")
    expect(queue.poll(10)?.key).toBe("relisted")
    // A high priority does not make a key due early.
    expect(queue.poll(10)).toBeUndefined()
    expect(queue.poll(50)?.key).toBe("later")
  })

  it("raises a queued key's priority when offered again higher, never lowers it", () => {
    const queue = DueQueue.make()
    queue.offer("a", 0, 0)
    queue.offer("b", 0, 0)
    expect(queue.peek(0)?.key).toBe("a") // a and b are now due
    queue.offer("b", 0, 0, 1)
    queue.offer("a", 0, 0, -1)
    expect(queue.get("b")).toMatchObject({ priority: 1 })
    expect(queue.get("a")).toMatchObject({ priority: 0 })
    expect(drain(queue)).toEqual(["b@0", "a@0"])
    // Raised while still waiting: the priority counts once it is due.
    queue.offer("c", 10, 0)
    queue.offer("d", 10, 0)
    queue.offer("d", 10, 0, 2)
    expect(queue.poll(10)?.key).toBe("d")
  })

  it("agrees with sorting for many keys offered, moved, raised and taken as time goes on", () => {
    const next = random(42)
    const queue = DueQueue.make()
    /** The reference model: the earliest time and highest priority asked for each key still queued. */
    const model = new Map<string, { runAt: number; priority: number }>()
    const taken: Array<string> = []
    const expected: Array<string> = []
    const modelOrder = (now: number) =>
      [...model]
        .filter(([, e]) => e.runAt <= now)
        .toSorted(([ka, a], [kb, b]) => b.priority - a.priority || a.runAt - b.runAt || (ka < kb ? -1 : 1))
        .map(([key, e]) => `${key}@${e.runAt}`)
    let now = 0
    for (let step = 0; step < 5_000; step++) {
      const roll = next()
      if (roll < 0.55) {
        const key = `k${Math.floor(next() * 1_000)}`
        const runAt = now + Math.floor(next() * 200) - 50
        const priority = Math.floor(next() * 3) - 1
        queue.offer(key, runAt, step, priority)
        const previous = model.get(key)
        model.set(key, {
          runAt: Math.min(runAt, previous?.runAt ?? Infinity),
          priority: Math.max(priority, previous?.priority ?? -Infinity)
        })
      } else if (roll < 0.6) {
        now += Math.floor(next() * 20)
      } else {
        const entry = queue.poll(now)
        const first = modelOrder(now)[0]
        taken.push(entry === undefined ? "none" : `${entry.key}@${entry.runAt}`)
        expected.push(first ?? "none")
        if (first !== undefined) model.delete(first.split("@")[0]!)
      }
      expect(queue.size()).toBe(model.size)
    }
    expect(taken).toEqual(expected)
    expect(taken.filter((t) => t !== "none").length).toBeGreaterThan(1_000)
    expect(drain(queue)).toEqual(modelOrder(Infinity))
  })
})
