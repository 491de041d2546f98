import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Exit } from "effect"
import * as KubeError from "@obol/kube/KubeError"
import * as Action from "@obol/controller/Action"
import * as Outcome from "@obol/controller/Outcome"
import { Terminal } from "@obol/controller/Terminal"

const throttled = KubeError.fromResponse({ code: 429, body: "", retryAfterHeader: "3" })
const serverError = KubeError.fromResponse({ code: 500, body: "" })

describe("Outcome.of", () => {
  it.each([
    [
      "a requeue asks the scheduler to come back after its delay",
      Exit.succeed(Action.requeueAfter("30 seconds")),
      {
        _tag: "Succeeded",
        result: "requeue_after",
        scheduled: { _tag: "Succeeded", requeueAfter: Duration.seconds(30) }
      }
    ],
    [
      "waiting for a change schedules nothing",
      Exit.succeed(Action.awaitChange),
      { _tag: "Succeeded", result: "success", scheduled: { _tag: "Succeeded" } }
    ],
    [
      "a Terminal failure is not retried and carries the Event's reason and message",
      Exit.fail(new Terminal({ reason: "InvalidPrice", message: "price has too many decimals" })),
      {
        _tag: "Terminal",
        result: "terminal",
        reason: "InvalidPrice",
        message: "price has too many decimals",
        scheduled: { _tag: "Terminal" }
      }
    ],
    [
      "an API error is retried with backoff, no sooner than its Retry-After",
      Exit.fail(throttled),
      { _tag: "Retry", result: "error", scheduled: { _tag: "Failed", retryAfter: Duration.seconds(3) } }
    ],
    [
      "an API error without Retry-After is retried on the backoff alone",
      Exit.fail(serverError),
      { _tag: "Retry", result: "error", scheduled: { _tag: "Failed" } }
    ],
    [
      "a defect is retried like a failure",
      Exit.failCause(Cause.die(new Error("boom"))),
      { _tag: "Retry", result: "error", scheduled: { _tag: "Failed" } }
    ]
  ] as const)("%s", (_name, exit, expected) => {
    expect(Outcome.of(exit as Exit.Exit<Action.Action, unknown>)).toMatchObject(expected)
  })

  it("says what failed for the log: the error, or the defect's message", () => {
    const retry = Outcome.of(Exit.failCause(Cause.die(new Error("boom"))))
    expect(retry._tag === "Retry" && retry.cause).toContain("boom")
  })
})
