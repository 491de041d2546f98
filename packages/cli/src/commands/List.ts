/**
 * `obol sell list [-n ns | -A] [-o wide|json|yaml]`: the offers as a table (name, type, model, a
 * human price for any price kind, network, endpoint, Ready, age; `-o wide` adds phase, upstream
 * and payee), or as a kubectl-style `List` for scripts. One paginated LIST request.
 *
 * @since 0.1.0
 */
import { Clock, Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import * as KubeClient from "@obol/kube/KubeClient"
import * as Format from "../Format.ts"
import * as Globals from "../Globals.ts"
import * as Io from "../Io.ts"
import * as Output from "../Output.ts"
import * as Summary from "../Summary.ts"

/**
 * `-A/--all-namespaces`, shared with `status`.
 *
 * @category flags
 */
export const allNamespaces = Flag.Boolean("all-namespaces").pipe(
  Flag.withAlias("A"),
  Flag.withDescription("List offers in every namespace"),
  Flag.withDefault(false)
)

/**
 * Lists the offers and prints them; returns them for callers that print more (`status`).
 *
 * @category handlers
 */
export const show = Effect.fn("List.show")(function* (options: {
  readonly allNamespaces: boolean
  readonly command: string
}) {
  const io = yield* Io.Io
  const output = yield* Output.supported(options.command, yield* Globals.output, ["wide", "json", "yaml"])
  const session = yield* Globals.connect
  const listed = yield* session.explain(
    KubeClient.listAll(session.client, ServiceOffer, {
      ...(options.allNamespaces ? {} : { namespace: session.namespace }),
      limit: 500
    })
  )
  const offers = listed.items.toSorted(
    (a, b) =>
      (a.metadata.namespace ?? "").localeCompare(b.metadata.namespace ?? "") ||
      (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "")
  )
  if (output === "json" || output === "yaml") {
    yield* Output.print(
      {
        apiVersion: "v1",
        kind: "List",
        items: offers.map(Output.clean),
        metadata: { resourceVersion: listed.resourceVersion }
      },
      output
    )
    return offers
  }
  if (offers.length === 0) {
    yield* io.err(
      options.allNamespaces ? "No ServiceOffers found." : `No ServiceOffers found in ${session.namespace} namespace.`
    )
    return offers
  }
  const now = yield* Clock.currentTimeMillis
  const shape = { allNamespaces: options.allNamespaces, wide: output === "wide" }
  yield* io.out(
    Format.table(
      Summary.headers(shape),
      offers.map((o) => Summary.row(o, now, shape))
    )
  )
  return offers
})

/**
 * @category commands
 */
export const list = Command.make("list", { allNamespaces }, (input) =>
  Effect.scoped(show({ allNamespaces: input.allNamespaces, command: "sell list" }))
).pipe(
  Command.withAlias("ls"),
  Command.withDescription("List ServiceOffers with their price, endpoint and readiness"),
  Command.withExamples([
    { command: "obol sell list", description: "Offers in the current namespace" },
    { command: "obol sell list -A -o wide", description: "Every namespace, with phase, upstream and payee" }
  ])
)
