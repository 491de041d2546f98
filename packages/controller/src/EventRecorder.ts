/**
 * Kubernetes Events (`events.k8s.io/v1`) about the objects a controller manages, so
 * `kubectl describe` and `kubectl events` tell users what happened.
 *
 * - `reason` is PascalCase, at most 128 characters (`ChildrenApplied`, `RegistrationFailed`);
 *   anything else is a programming error and dies.
 * - `note` is human text, cut to 1 KiB.
 * - A repeat of the same event (same object, type, reason, action and note) within 6 minutes
 *   becomes a series on the first one (`series.count` and `lastObservedTime`) instead of a new
 *   object, as client-go's recorder does, so a retry loop cannot flood the namespace.
 *
 * Publishing is best effort: a failure is logged and never fails the reconcile that reported it.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer } from "effect"
import { Event } from "@obol/kube/builtin/Event"
import * as KubeClient from "@obol/kube/KubeClient"

/**
 * The object an event is about.
 *
 * @category models
 */
export interface Regarding {
  readonly apiVersion: string
  readonly kind: string
  readonly name: string
  readonly namespace?: string
  readonly uid?: string
}

/**
 * @category models
 */
export interface Published {
  readonly regarding: Regarding
  readonly type: "Normal" | "Warning"
  readonly reason: string
  /** What the controller did or tried, e.g. `Reconcile`, `Register`. */
  readonly action: string
  readonly note: string
}

/**
 * @category models
 */
export interface Shape {
  readonly publish: (event: Published) => Effect.Effect<void>
}

/**
 * @category services
 */
export class EventRecorder extends Context.Service<EventRecorder, Shape>()("@obol/controller/EventRecorder") {}

const reasonPattern = /^[A-Z][A-Za-z0-9]*$/u
const seriesWindowMillis = 6 * 60 * 1000

const microTime = (millis: number) => new Date(millis).toISOString().replace(/\.(\d{3})Z$/u, ".$1000Z")

/**
 * Publishes through the API server.
 *
 * @category layers
 */
export const layer = (options: {
  /** e.g. `obol.org/serviceoffer-controller` */
  readonly controller: string
  /** e.g. the pod name */
  readonly instance: string
}): Layer.Layer<EventRecorder, never, KubeClient.KubeClient> =>
  Layer.effect(
    EventRecorder,
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const series = new Map<string, { name: string; namespace: string; count: number; first: number }>()
      let counter = 0
      const publish = Effect.fn("EventRecorder.publish")(function* (event: Published) {
        if (event.reason.length > 128 || !reasonPattern.test(event.reason)) {
          return yield* Effect.die(
            new Error(`Event reason must be PascalCase and at most 128 characters: "${event.reason}"`)
          )
        }
        const now = yield* Clock.currentTimeMillis
        const namespace = event.regarding.namespace ?? "default"
        const note = event.note.length > 1024 ? `${event.note.slice(0, 1021)}...` : event.note
        const identity = JSON.stringify([
          event.regarding.uid ?? event.regarding.name,
          event.type,
          event.reason,
          event.action,
          note
        ])
        const previous = series.get(identity)
        if (previous !== undefined && now - previous.first < seriesWindowMillis) {
          previous.count++
          yield* client
            .patch(
              Event,
              { namespace: previous.namespace, name: previous.name },
              { type: "merge", patch: { series: { count: previous.count, lastObservedTime: microTime(now) } } }
            )
            .pipe(Effect.asVoid)
          return
        }
        counter++
        const name = `${event.regarding.name}.${now.toString(16)}${counter.toString(16)}`.slice(0, 253)
        yield* client.create(Event, {
          apiVersion: "events.k8s.io/v1",
          kind: "Event",
          metadata: { name, namespace },
          eventTime: microTime(now),
          reportingController: options.controller,
          reportingInstance: options.instance,
          action: event.action,
          reason: event.reason,
          type: event.type,
          note,
          regarding: { ...event.regarding }
        })
        series.set(identity, { name, namespace, count: 1, first: now })
      })
      return EventRecorder.of({
        publish: (event) =>
          publish(event).pipe(
            Effect.catch((error) =>
              Effect.logWarning("Publishing an Event failed").pipe(
                Effect.annotateLogs({ reason: event.reason, error: String(error) })
              )
            )
          )
      })
    })
  )

/**
 * Keeps published events in memory, for tests.
 *
 * @category layers
 */
export const layerMemory = (sink: Array<Published>): Layer.Layer<EventRecorder> =>
  Layer.succeed(EventRecorder, EventRecorder.of({ publish: (event) => Effect.sync(() => void sink.push(event)) }))

/**
 * Drops every event.
 *
 * @category layers
 */
export const layerNoop: Layer.Layer<EventRecorder> = Layer.succeed(
  EventRecorder,
  EventRecorder.of({ publish: () => Effect.void })
)
