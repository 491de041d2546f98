/**
 * `obol sell stop <name>` and `obol sell resume <name>`: set and clear `spec.paused`, nothing
 * else. Paused, the controller withdraws the public route, so the service is refused, never free
 * (obol-stack's `stop` deleted only the price and left the route open). The field is owned by its
 * own field manager (`obol-pause`), so re-running `obol sell http` never undoes a stop. `--wait`
 * follows the offer to Paused or Ready.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { Argument, Command } from "effect/cli"
import { isPaused, pausedAnnotation, ServiceOffer } from "@obol/api/ServiceOffer"
import * as CliFailure from "../CliFailure.ts"
import * as Globals from "../Globals.ts"
import * as Io from "../Io.ts"
import * as Output from "../Output.ts"
import * as Summary from "../Summary.ts"
import * as Wait from "../Wait.ts"

/**
 * The field manager of `stop` and `resume`.
 *
 * @category constants
 */
export const fieldManager = "obol-pause"

const setPaused = Effect.fn("Pause.setPaused")(function* (
  name: string,
  paused: boolean,
  waitFlag: Option.Option<string>
) {
  const io = yield* Io.Io
  yield* Output.supported(`sell ${paused ? "stop" : "resume"}`, yield* Globals.output, [])
  const timeout = yield* Wait.parseFlag(waitFlag, "no-wait")
  const session = yield* Globals.connect
  const ref = { name, namespace: session.namespace }
  const current = yield* session.find(session.client.get(ServiceOffer, ref))
  if (Option.isNone(current)) {
    return yield* CliFailure.make("NotFound", `ServiceOffer ${session.namespace}/${name} does not exist`)
  }
  const applied = yield* session.explain(
    session.client.apply(
      ServiceOffer,
      { apiVersion: ServiceOffer.apiVersion, kind: ServiceOffer.kind, metadata: ref, spec: { paused } },
      { fieldManager, force: true }
    )
  )
  // obol-stack paused with an annotation; resuming must lift that too, or the offer stays paused.
  const annotation = current.value.metadata.annotations?.[pausedAnnotation]
  if (!paused && annotation !== undefined) {
    yield* session.explain(
      session.client.patch(ServiceOffer, ref, {
        type: "json",
        patch: [
          { op: "test", path: "/metadata/annotations/obol.org~1paused", value: annotation },
          { op: "remove", path: "/metadata/annotations/obol.org~1paused" }
        ]
      })
    )
  }
  const unchanged = isPaused(current.value) === paused
  yield* io.out(
    `serviceoffer.obol.org/${name} ${unchanged ? (paused ? "already paused" : "not paused") : paused ? "paused" : "resumed"}`
  )
  if (timeout === undefined) {
    if (paused) yield* io.err("the controller withdraws its route; buyers get no answer, never a free one")
    return
  }
  const offer = yield* Wait.follow(session, {
    name,
    namespace: session.namespace,
    goal: paused ? "paused" : "ready",
    generation: applied.metadata.generation ?? 1,
    timeout,
    color: yield* Globals.color
  })
  yield* io.out(
    paused
      ? `Paused: ${Summary.endpoint(offer ?? applied)} is withdrawn`
      : `Ready: ${Summary.endpoint(offer ?? applied)} sells for ${Summary.price(offer ?? applied)}`
  )
}, Effect.scoped)

const name = Argument.String("name").pipe(Argument.withDescription("The offer"))

/**
 * @category commands
 */
export const stop = Command.make("stop", { name, wait: Wait.flag }, (input) =>
  setPaused(input.name, true, input.wait)
).pipe(
  Command.withDescription("Stop selling: withdraw the offer's route (refused, never free) until resumed"),
  Command.withExamples([
    { command: "obol sell stop weather --wait", description: "Pause and wait until the route is gone" }
  ])
)

/**
 * @category commands
 */
export const resume = Command.make("resume", { name, wait: Wait.flag }, (input) =>
  setPaused(input.name, false, input.wait)
).pipe(
  Command.withDescription("Resume selling a stopped offer"),
  Command.withExamples([{ command: "obol sell resume weather --wait", description: "Unpause and wait until Ready" }])
)
