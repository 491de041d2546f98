/**
 * `obol sell status [<name>]`: with a name, a page a seller can read: what is sold and for how
 * much, the conditions as a table (type, status, reason, message, age), the children (the
 * PaymentRoute admitted at which generation, the HTTPRoute accepted by which Gateway, the
 * Middleware, the RegistrationRequest's phase, agent id and transaction), the endpoint, and
 * recent Events of the offer and its children. `-o json|yaml` prints the same as one document.
 * Without a name: the `list` table plus a table of registrations.
 *
 * Reads only: one GET per object and one LIST of Events.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Option } from "effect"
import { Argument, Command } from "effect/cli"
import * as Names from "@obol/api/Names"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import { isPaused, ServiceOffer } from "@obol/api/ServiceOffer"
import { Event } from "@obol/kube/builtin/Event"
import { HTTPRoute } from "@obol/kube/builtin/HTTPRoute"
import { Middleware } from "@obol/kube/builtin/Middleware"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as CliFailure from "../CliFailure.ts"
import * as Format from "../Format.ts"
import * as Globals from "../Globals.ts"
import * as Io from "../Io.ts"
import * as Output from "../Output.ts"
import * as Summary from "../Summary.ts"
import * as List from "./List.ts"

type Offer = typeof ServiceOffer.schema.Type

const registrations = Effect.fn("Status.registrations")(function* (
  offers: ReadonlyArray<Offer>,
  allNamespaces: boolean
) {
  const io = yield* Io.Io
  const registered = offers.filter((o) => o.spec.registration?.enabled === true || o.status?.agentId !== undefined)
  if (registered.length === 0) return
  yield* io.out("")
  yield* io.out("Registrations (ERC-8004):")
  yield* io.out(
    Format.table(
      [...(allNamespaces ? ["namespace"] : []), "name", "agent id", "registered", "transaction"],
      registered.map((o) => {
        const condition = (o.status?.conditions ?? []).find((c) => c.type === "Registered")
        return [
          ...(allNamespaces ? [o.metadata.namespace ?? ""] : []),
          o.metadata.name ?? "",
          o.status?.agentId ?? "",
          condition === undefined ? "Unknown" : `${condition.status} (${condition.reason})`,
          o.status?.registrationTxHash ?? ""
        ]
      })
    )
  )
})

/**
 * Everything `status <name>` shows, as one document.
 *
 * @category handlers
 */
export const collect = Effect.fn("Status.collect")(function* (session: Globals.Session, name: string) {
  const namespace = session.namespace
  const ref = (n: string) => ({ name: n, namespace })
  const read = <A>(effect: Effect.Effect<A, KubeError.KubeError>) =>
    session.find(effect).pipe(Effect.map(Option.getOrUndefined))
  const offer = yield* read(session.client.get(ServiceOffer, ref(name)))
  if (offer === undefined) {
    return yield* CliFailure.make(
      "NotFound",
      `ServiceOffer ${namespace}/${name} does not exist`,
      `list the offers with \`obol sell list -n ${namespace}\` (or -A for every namespace)`
    )
  }
  const [paymentRoute, httpRoute, middleware, registrationRequest] = yield* Effect.all(
    [
      read(session.client.get(PaymentRoute, ref(Names.paymentRoute(name)))),
      read(session.client.get(HTTPRoute, ref(Names.httpRoute(name)))),
      read(session.client.get(Middleware, ref(Names.middleware(name)))),
      read(session.client.get(RegistrationRequest, ref(Names.registrationRequest(name))))
    ],
    { concurrency: 4 }
  )
  const names = new Set([
    name,
    Names.paymentRoute(name),
    Names.httpRoute(name),
    Names.middleware(name),
    Names.registrationRequest(name)
  ])
  // Events are listed once and matched here: a field selector can name only one object.
  const events: ReadonlyArray<typeof Event.schema.Type> | string = yield* KubeClient.listAll(session.client, Event, {
    namespace,
    limit: 500
  }).pipe(
    Effect.map((list) =>
      list.items
        .filter((e) => e.regarding?.name !== undefined && names.has(e.regarding.name))
        .toSorted((a, b) => timeOf(a).localeCompare(timeOf(b)))
        .slice(-20)
    ),
    // Events are a help, not the point: the page is still shown, saying why they are missing.
    Effect.catchTag("KubeError", (error) =>
      Effect.succeed(
        error.reason === "Forbidden"
          ? "not allowed to list events in this namespace"
          : `could not list events: ${error.reason}: ${error.message}`
      )
    )
  )
  return { offer, paymentRoute, httpRoute, middleware, registrationRequest, events }
})

const timeOf = (e: typeof Event.schema.Type) =>
  e.series?.lastObservedTime ?? e.eventTime ?? e.metadata.creationTimestamp ?? ""

/**
 * The readable page.
 *
 * @category formatting
 */
export const page = (
  status: Effect.Success<ReturnType<typeof collect>>,
  options: { readonly now: number; readonly color: boolean; readonly gateway?: string }
): string => {
  const { offer, paymentRoute, httpRoute, middleware, registrationRequest, events } = status
  const spec = offer.spec
  const upstream = spec.upstream
  const lines: Array<string> = []
  const field = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(14)}${value}`)
  field("Name", offer.metadata.name ?? "")
  field("Namespace", offer.metadata.namespace ?? "")
  field("Type", spec.type + (spec.model === undefined ? "" : ` (model ${spec.model.name} on ${spec.model.runtime})`))
  const atomic =
    paymentRoute?.spec.price === undefined
      ? ""
      : ` = ${Format.amount(BigInt(paymentRoute.spec.price), paymentRoute.spec.asset.decimals, Summary.symbol(offer))} per request`
  field("Price", `${Summary.price(offer)}${atomic}`)
  field("Network", `${spec.payment.network}${paymentRoute === undefined ? "" : ` (${paymentRoute.spec.network})`}`)
  field("Pay to", spec.payment.payTo)
  field(
    "Upstream",
    `${upstream.service}.${upstream.namespace ?? offer.metadata.namespace ?? ""}:${upstream.port} (health ${upstream.healthPath})`
  )
  field("Endpoint", Summary.endpoint(offer))
  field(
    "Phase",
    `${isPaused(offer) ? "Paused" : (offer.status?.phase ?? "Pending")} (generation ${offer.metadata.generation ?? "?"}, observed ${offer.status?.observedGeneration ?? "never"})`
  )
  if (offer.metadata.deletionTimestamp !== undefined) field("Deleting", `since ${offer.metadata.deletionTimestamp}`)

  lines.push("", "Conditions:")
  const conditions = offer.status?.conditions ?? []
  lines.push(
    conditions.length === 0
      ? "  none yet: the serviceoffer-controller has not reconciled this offer (is it running?)"
      : Format.table(
          ["type", "status", "reason", "age", "message"],
          conditions.map((c) => [
            c.type,
            Format.status(c.status, options.color),
            c.reason,
            Format.ageOf(c.lastTransitionTime, options.now),
            c.message
          ])
        )
  )

  lines.push("", "Children:")
  const generation = paymentRoute?.metadata.generation
  const routeState =
    paymentRoute === undefined
      ? "absent"
      : paymentRoute.status?.admitted === true
        ? `admitted at generation ${paymentRoute.status.lastAdmittedGeneration ?? "?"}${paymentRoute.status.lastAdmittedGeneration === generation ? "" : ` (current ${generation}, awaiting re-admission)`}; pattern ${paymentRoute.spec.pattern}`
        : paymentRoute.status?.admitted === false
          ? `rejected: ${paymentRoute.status.reason ?? "?"}: ${paymentRoute.status.message ?? ""}`
          : "awaiting admission by the x402 verifier"
  const parents = httpRoute?.status?.parents ?? []
  const httpState =
    httpRoute === undefined
      ? isPaused(offer)
        ? "absent (paused: the route is withdrawn)"
        : "absent (published once the price is admitted)"
      : parents.length === 0
        ? "not yet accepted by any Gateway"
        : parents
            .map((p) => {
              const accepted = (p.conditions ?? []).find((c) => c.type === "Accepted")
              const gateway = `${p.parentRef.namespace ?? offer.metadata.namespace ?? ""}/${p.parentRef.name}`
              return accepted?.status === "True"
                ? `accepted by ${gateway}`
                : `not accepted by ${gateway} (${accepted?.reason ?? "no Accepted condition"})`
            })
            .join("; ")
  const registration =
    registrationRequest === undefined
      ? spec.registration?.enabled === true
        ? "absent (requested once the offer serves)"
        : "absent (registration off)"
      : [
          `phase ${registrationRequest.status?.phase ?? "Pending"}`,
          ...(registrationRequest.status?.agentId === undefined ? [] : [`agent ${registrationRequest.status.agentId}`]),
          ...(registrationRequest.status?.txHash === undefined ? [] : [`tx ${registrationRequest.status.txHash}`]),
          ...(registrationRequest.status?.errorMessage === undefined
            ? []
            : [`error: ${registrationRequest.status.errorMessage}`])
        ].join(", ")
  lines.push(
    Format.table(
      ["kind", "name", "state"],
      [
        ["PaymentRoute", Names.paymentRoute(offer.metadata.name ?? ""), routeState],
        ["HTTPRoute", Names.httpRoute(offer.metadata.name ?? ""), httpState],
        [
          "Middleware",
          Names.middleware(offer.metadata.name ?? ""),
          middleware !== undefined
            ? "present (ForwardAuth to the x402 verifier: charged upfront)"
            : spec.payment.settlement === "upfront"
              ? "absent"
              : "not used (pay on success: the HTTPRoute leads to the x402 verifier)"
        ],
        ["RegistrationRequest", Names.registrationRequest(offer.metadata.name ?? ""), registration]
      ]
    )
  )
  if (offer.status?.agentId !== undefined) {
    lines.push(
      "",
      `Agent:        ${offer.status.agentId}${offer.status.registrationTxHash === undefined ? "" : ` (tx ${offer.status.registrationTxHash})`}`
    )
  }

  lines.push("", "Events:")
  lines.push(
    typeof events === "string"
      ? `  (${events})`
      : events.length === 0
        ? "  <none>"
        : Format.table(
            ["last seen", "type", "reason", "object", "message"],
            events.map((e) => [
              Format.ageOf(timeOf(e), options.now),
              e.type ?? "",
              e.reason ?? "",
              `${e.regarding?.kind ?? ""}/${e.regarding?.name ?? ""}`,
              (e.note ?? "").replace(/\s+/gu, " ")
            ])
          )
  )
  return lines.join("\n")
}

/**
 * @category commands
 */
export const status = Command.make(
  "status",
  {
    name: Argument.String("name").pipe(Argument.withDescription("The offer; omit for every offer"), Argument.optional),
    allNamespaces: List.allNamespaces
  },
  (input) =>
    Effect.scoped(
      Effect.gen(function* () {
        const io = yield* Io.Io
        if (Option.isNone(input.name)) {
          const offers = yield* List.show({ allNamespaces: input.allNamespaces, command: "sell status" })
          const output = yield* Globals.output
          if (output !== "json" && output !== "yaml") yield* registrations(offers, input.allNamespaces)
          return
        }
        const output = yield* Output.supported("sell status <name>", yield* Globals.output, ["json", "yaml"])
        const session = yield* Globals.connect
        const collected = yield* collect(session, input.name.value)
        if (output !== undefined) {
          return yield* Output.print(
            {
              offer: Output.clean(collected.offer),
              children: {
                paymentRoute: collected.paymentRoute === undefined ? null : Output.clean(collected.paymentRoute),
                httpRoute: collected.httpRoute === undefined ? null : Output.clean(collected.httpRoute),
                middleware: collected.middleware === undefined ? null : Output.clean(collected.middleware),
                registrationRequest:
                  collected.registrationRequest === undefined ? null : Output.clean(collected.registrationRequest)
              },
              events: typeof collected.events === "string" ? [] : collected.events.map(Output.clean)
            },
            output
          )
        }
        yield* io.out(page(collected, { now: yield* Clock.currentTimeMillis, color: yield* Globals.color }))
      })
    )
).pipe(
  Command.withDescription("Show an offer's conditions, children, endpoint and events (or every offer without a name)"),
  Command.withExamples([
    { command: "obol sell status weather", description: "The full page for one offer" },
    { command: "obol sell status weather -o json", description: "The same as JSON, for scripts" },
    { command: "obol sell status -A", description: "Every offer and its registration" }
  ])
)
