import { describe, expect, it } from "@effect/vitest"
import { Cause, Exit } from "effect"
import * as Main from "@obol/controller/Main"

const code = (exit: Exit.Exit<unknown, unknown>) => {
  let result = -1
  Main.teardown(exit, (c) => (result = c))
  return result
}

describe("Main", () => {
  it("exits 0 for a graceful stop (interrupted by a signal) and for success, 1 for a failure", () => {
    expect(code(Exit.failCause(Cause.interrupt()))).toBe(0)
    expect(code(Exit.succeed(undefined))).toBe(0)
    expect(code(Exit.fail("boom"))).toBe(1)
    expect(code(Exit.die(new Error("bug")))).toBe(1)
  })
})
