import { describe, expect, it } from "@effect/vitest"
import * as WriteTracker from "@obol/controller/WriteTracker"

describe("WriteTracker", () => {
  it("treats a cached object older than our own write as stale, and fresh once the cache catches up", () => {
    const tracker = WriteTracker.make()
    tracker.record("ns/a", "120")
    expect(tracker.isFresh("ns/a", "119")).toBe(false)
    expect(tracker.isFresh("ns/a", "120")).toBe(true)
    // Caught up once: the entry is dropped, so later (unrelated) reads are fresh.
    expect(tracker.isFresh("ns/a", "5")).toBe(true)
  })

  it("keeps the newest of several writes", () => {
    const tracker = WriteTracker.make()
    tracker.record("k", "10")
    tracker.record("k", "30")
    tracker.record("k", "20")
    expect(tracker.isFresh("k", "25")).toBe(false)
  })

  it("compares as integers, not strings, and ignores versions that are not integers", () => {
    const tracker = WriteTracker.make()
    tracker.record("k", "100")
    expect(tracker.isFresh("k", "99")).toBe(false)
    expect(tracker.isFresh("k", "abc")).toBe(true)
    tracker.record("j", "opaque")
    expect(tracker.isFresh("j", "1")).toBe(true)
  })
})
