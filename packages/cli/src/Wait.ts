/**
 * `--wait`: follows one ServiceOffer live until it reaches a goal (Ready, Paused, or gone), and
 * says what happened on the way: one line per condition as it changes, with the time since the
 * command started (`PaymentGateReady True Admitted 0.21s`), and on a terminal a spinner line
 * naming what it is waiting for.
 *
 * It reads the offer (GET, then a watch from that resourceVersion on its name, re-established
 * when the server ends it), never writes. Conditions computed for an older generation than the
 * one asked about are not reported: they describe the offer before the change. It ends with the
 * offer, or fails with `Failed` (a condition that waiting will not fix, such as an unknown network
 * or a path another offer owns) or `Timeout` (naming the condition that is stuck and why).
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Fiber, Option, Schedule, Stream } from "effect"
import { Flag } from "effect/cli"
import type { Condition } from "@obol/kube/Condition"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import * as KubeError from "@obol/kube/KubeError"
import * as CliFailure from "./CliFailure.ts"
import * as Format from "./Format.ts"
import type { Session } from "./Globals.ts"
import * as Io from "./Io.ts"

/**
 * @category models
 */
export type Offer = typeof ServiceOffer.schema.Type

/**
 * What to wait for: `Ready` True, the `Paused` phase (route withdrawn), or the object gone.
 *
 * @category models
 */
export type Goal = "ready" | "paused" | "deleted"

/**
 * Condition reasons that waiting will not fix: the seller has to change something.
 *
 * @category constants
 */
export const terminalReasons: Readonly<Record<string, ReadonlyArray<string>>> = {
  PaymentGateReady: [
    "UnknownNetwork",
    "InvalidPrice",
    "NotOwnedByOffer",
    "DuplicateOfferRoute",
    "PathConflict",
    "UnsupportedNetwork",
    "UnsupportedFacilitator",
    "UpstreamNamespaceNotAllowed"
  ],
  RoutePublished: [
    "PathConflict",
    "NotAllowedByListeners",
    "NoMatchingParent",
    "RefNotPermitted",
    "UnsupportedValue",
    "RefNotGranted"
  ]
}

/** The order a seller reads conditions in: what the offer needs first comes first. */
const order = ["UpstreamHealthy", "ModelReady", "PaymentGateReady", "RoutePublished", "Registered", "Ready"]

const sorted = (conditions: ReadonlyArray<Condition>) =>
  conditions.toSorted(
    (a, b) => (order.indexOf(a.type) + 1 || 99) - (order.indexOf(b.type) + 1 || 99) || a.type.localeCompare(b.type)
  )

/**
 * The first condition that is not True, for "waiting for …" and "stuck at …".
 *
 * @category accessors
 */
export const blocking = (offer: Offer | undefined, generation: number): string => {
  const conditions = (offer?.status?.conditions ?? []).filter((c) => (c.observedGeneration ?? 0) >= generation)
  if (conditions.length === 0) {
    return offer?.metadata.deletionTimestamp !== undefined
      ? "the controller to remove the offer's children and its finalizer"
      : "the serviceoffer-controller to reconcile the offer (is it running and watching this namespace?)"
  }
  const stuck = sorted(conditions).find((c) => c.type !== "Ready" && c.status !== "True")
  if (stuck === undefined) return "Ready"
  return `${stuck.type} (${stuck.reason}${stuck.message === "" ? "" : `: ${stuck.message}`})`
}

/**
 * Follows `name` until `goal`, within `timeout`.
 *
 * @category constructors
 */
export const follow = Effect.fn("Wait.follow")(function* (
  session: Session,
  options: {
    readonly name: string
    readonly namespace: string
    readonly goal: Goal
    /** Report only conditions computed for this generation or later. */
    readonly generation: number
    readonly timeout: Duration.Duration
    readonly color?: boolean
    /** Where the condition lines go: stdout (default), or stderr when stdout carries `-o json|yaml`. */
    readonly lines?: "out" | "err"
  }
) {
  const io = yield* Io.Io
  const started = yield* Clock.currentTimeMillis
  const color = options.color ?? false
  const seen = new Map<string, string>()
  let latest: Offer | undefined
  const elapsed = Effect.map(Clock.currentTimeMillis, (now) => Format.elapsed(now - started))

  /** Reports changes; true when the goal is reached. */
  const observe = (offer: Offer | undefined) =>
    Effect.gen(function* () {
      if (offer === undefined) return options.goal === "deleted"
      latest = offer
      const generation = Math.max(options.generation, 0)
      for (const c of sorted(offer.status?.conditions ?? [])) {
        if ((c.observedGeneration ?? 0) < generation) continue
        const key = `${c.status}|${c.reason}`
        if (seen.get(c.type) === key) continue
        seen.set(c.type, key)
        const detail = c.status === "True" || c.message === "" ? "" : ` - ${c.message}`
        const line = `${c.type} ${Format.status(c.status, color)} ${c.reason} ${yield* elapsed}${detail}`
        yield* options.lines === "err" ? io.err(line) : io.out(line)
        if (options.goal !== "deleted" && c.status === "False" && (terminalReasons[c.type] ?? []).includes(c.reason)) {
          return yield* CliFailure.make(
            "Failed",
            `${options.namespace}/${options.name}: ${c.type} is False (${c.reason}): ${c.message}`,
            "waiting will not fix this: change the offer (obol sell … again with other flags) and run it again"
          )
        }
      }
      const current = (offer.status?.observedGeneration ?? 0) >= generation
      if (options.goal === "paused") return current && offer.status?.phase === "Paused"
      if (options.goal === "ready") {
        const ready = (offer.status?.conditions ?? []).find((c) => c.type === "Ready")
        return current && ready?.status === "True" && (ready.observedGeneration ?? 0) >= generation
      }
      return false
    })

  // A wait outlives an expired resourceVersion and a restarting or overloaded API server; anything
  // else (Forbidden, a missing CRD) is reported at once, not after the timeout.
  const transient = (error: KubeError.KubeError) => error.reason === "Gone" || error.retryable
  const getOffer = session.find(
    session.client
      .get(ServiceOffer, { name: options.name, namespace: options.namespace })
      .pipe(Effect.retry({ while: transient, schedule: Schedule.spaced(Duration.seconds(1)) }))
  )

  const watchOnce = (resourceVersion: string) =>
    session.client
      .watch(ServiceOffer, {
        namespace: options.namespace,
        fieldSelector: `metadata.name=${options.name}`,
        resourceVersion,
        timeoutSeconds: 60
      })
      .pipe(
        Stream.mapEffect((event) =>
          event.type === "ADDED" || event.type === "MODIFIED"
            ? observe(event.object)
            : event.type === "DELETED"
              ? observe(undefined)
              : Effect.succeed(false)
        ),
        Stream.takeUntil((done) => done),
        Stream.runLast,
        Effect.map((last) => Option.getOrElse(last, () => false)),
        // A watch that breaks (expired resourceVersion, a restarting API server) is re-established from a fresh GET.
        Effect.catchTag("KubeError", (error) =>
          transient(error) ? Effect.as(Effect.sleep(Duration.seconds(1)), false) : session.explain(Effect.fail(error))
        )
      )

  const run = Effect.gen(function* () {
    while (true) {
      const offer = yield* getOffer
      if (Option.isNone(offer) && options.goal !== "deleted") {
        return yield* CliFailure.make("NotFound", `ServiceOffer ${options.namespace}/${options.name} does not exist`)
      }
      if (yield* observe(Option.getOrUndefined(offer))) return latest
      const resourceVersion = Option.getOrThrow(offer).metadata.resourceVersion ?? "0"
      if (yield* watchOnce(resourceVersion)) return latest
    }
  })

  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
  const spinner = io.tty
    ? yield* Effect.forkChild(
        Effect.gen(function* () {
          for (let i = 0; ; i++) {
            const what = options.goal === "deleted" ? "deletion" : blocking(latest, options.generation)
            yield* io.status(`${frames[i % frames.length]} ${yield* elapsed} waiting for ${what}`)
            yield* Effect.sleep(Duration.millis(100))
          }
        })
      )
    : undefined

  const outcome = yield* run.pipe(
    Effect.timeoutOption(options.timeout),
    Effect.ensuring(
      Effect.andThen(spinner === undefined ? Effect.void : Fiber.interrupt(spinner), io.status(undefined))
    )
  )
  if (Option.isNone(outcome)) {
    const goal = options.goal === "ready" ? "Ready" : options.goal === "paused" ? "Paused" : "deleted"
    return yield* CliFailure.make(
      "Timeout",
      `${options.namespace}/${options.name} is not ${goal} after ${Format.elapsed(Duration.toMillis(options.timeout))}: waiting for ${options.goal === "deleted" ? blocking(latest, 0) : blocking(latest, options.generation)}`
    )
  }
  return outcome.value
})

/**
 * `--wait[=<timeout>|true|false]`: a bare `--wait` waits up to five minutes.
 *
 * @category flags
 */
export const flag = Flag.String("wait").pipe(
  Flag.withOptionalValue("true"),
  Flag.withDescription("Follow the offer until it is done: --wait (5m), --wait=2m, --wait=false"),
  Flag.optional
)

/**
 * The default wait when `--wait` is given without a timeout.
 *
 * @category constants
 */
export const defaultTimeout = Duration.minutes(5)

/**
 * The wait a `--wait` value asks for: `undefined` not to wait, else the timeout. `absent` is what
 * the command does without the flag.
 *
 * @category parsing
 */
export const parseFlag = (
  value: Option.Option<string>,
  absent: "wait" | "no-wait"
): Effect.Effect<Duration.Duration | undefined, CliFailure.CliFailure> => {
  if (Option.isNone(value)) return Effect.succeed(absent === "wait" ? defaultTimeout : undefined)
  const text = value.value
  if (text === "true" || text === "") return Effect.succeed(defaultTimeout)
  if (text === "false") return Effect.succeed(undefined)
  const millis = Format.parseDuration(text)
  return millis === undefined || millis <= 0
    ? Effect.fail(
        CliFailure.usage([`--wait=${text} is not a duration: use --wait, --wait=90s, --wait=5m, or --wait=false`])
      )
    : Effect.succeed(Duration.millis(millis))
}
