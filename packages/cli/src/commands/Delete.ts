/**
 * `obol sell delete <name>`: asks y/N on a terminal (`--force` skips), deletes that one offer and
 * follows its finalizer to the end (the controller removes the route and tombstones a
 * registration; the garbage collector removes the owned children), then reports the children
 * gone. `--wait=false` returns once the deletion is accepted. It touches nothing but that offer.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Names from "@obol/api/Names"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import { HTTPRoute } from "@obol/kube/builtin/HTTPRoute"
import { Middleware } from "@obol/kube/builtin/Middleware"
import * as KubeError from "@obol/kube/KubeError"
import * as CliFailure from "../CliFailure.ts"
import * as Format from "../Format.ts"
import * as Globals from "../Globals.ts"
import * as Io from "../Io.ts"
import * as Output from "../Output.ts"
import * as Wait from "../Wait.ts"

/**
 * The children that exist of an offer named `name`.
 *
 * @category handlers
 */
export const remainingChildren = (session: Globals.Session, name: string) =>
  Effect.gen(function* () {
    const ref = (n: string) => ({ name: n, namespace: session.namespace })
    const exists = <A>(effect: Effect.Effect<A, KubeError.KubeError>) =>
      session.find(effect).pipe(Effect.map(Option.isSome))
    const children = [
      [
        "PaymentRoute",
        Names.paymentRoute(name),
        exists(session.client.get(PaymentRoute, ref(Names.paymentRoute(name))))
      ],
      ["HTTPRoute", Names.httpRoute(name), exists(session.client.get(HTTPRoute, ref(Names.httpRoute(name))))],
      ["Middleware", Names.middleware(name), exists(session.client.get(Middleware, ref(Names.middleware(name))))],
      [
        "RegistrationRequest",
        Names.registrationRequest(name),
        exists(session.client.get(RegistrationRequest, ref(Names.registrationRequest(name))))
      ]
    ] as const
    const left: Array<string> = []
    for (const [kind, child, check] of children) if (yield* check) left.push(`${kind} ${child}`)
    return left
  })

/**
 * @category commands
 */
export const remove = Command.make(
  "delete",
  {
    name: Argument.String("name").pipe(Argument.withDescription("The offer to delete")),
    force: Flag.Boolean("force").pipe(Flag.withDescription("Do not ask for confirmation"), Flag.withDefault(false)),
    wait: Wait.flag
  },
  (input) =>
    Effect.scoped(
      Effect.gen(function* () {
        const io = yield* Io.Io
        yield* Output.supported("sell delete", yield* Globals.output, [])
        const timeout = yield* Wait.parseFlag(input.wait, "wait")
        const session = yield* Globals.connect
        const ref = { name: input.name, namespace: session.namespace }
        const offer = yield* session.find(session.client.get(ServiceOffer, ref))
        if (Option.isNone(offer)) {
          return yield* CliFailure.make("NotFound", `ServiceOffer ${session.namespace}/${input.name} does not exist`)
        }
        if (!input.force && io.tty) {
          const registered = offer.value.status?.agentId !== undefined
          const yes = yield* io.confirm(
            `Delete ServiceOffer ${session.namespace}/${input.name}? Buyers lose ${offer.value.status?.endpoint ?? "its endpoint"}${registered ? ` and agent ${offer.value.status?.agentId} is marked inactive on-chain` : ""}.`
          )
          if (!yes) return yield* CliFailure.make("Aborted", "not deleted")
        }
        const started = yield* Clock.currentTimeMillis
        yield* session.find(
          session.client.delete(ServiceOffer, ref, { preconditions: { uid: offer.value.metadata.uid ?? "" } })
        )
        if (timeout === undefined) {
          return yield* io.out(`serviceoffer.obol.org/${input.name} deletion requested`)
        }
        yield* Wait.follow(session, {
          name: input.name,
          namespace: session.namespace,
          goal: "deleted",
          generation: 0,
          timeout,
          color: yield* Globals.color
        })
        // Owned children go with the garbage collector, moments after the offer.
        let left = yield* remainingChildren(session, input.name)
        const deadline = started + Duration.toMillis(timeout)
        while (left.length > 0 && (yield* Clock.currentTimeMillis) < deadline) {
          yield* Effect.sleep(Duration.millis(250))
          left = yield* remainingChildren(session, input.name)
        }
        const took = Format.elapsed((yield* Clock.currentTimeMillis) - started)
        if (left.length > 0) {
          return yield* CliFailure.make(
            "Timeout",
            `serviceoffer.obol.org/${input.name} deleted, but after ${took} these children remain: ${left.join(", ")}`,
            "they are removed by the garbage collector (kube-controller-manager); is it running?"
          )
        }
        yield* io.out(
          `serviceoffer.obol.org/${input.name} deleted with its route, price and registration request (${took})`
        )
      })
    )
).pipe(
  Command.withDescription("Delete an offer and wait until it and its children are gone"),
  Command.withExamples([
    { command: "obol sell delete weather", description: "Asks first on a terminal" },
    { command: "obol sell delete weather --force --wait=false", description: "No question, return at once" }
  ])
)
