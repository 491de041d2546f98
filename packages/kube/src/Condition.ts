/**
 * The one home of Kubernetes `metav1.Condition`: the Schema our resources' status conditions
 * follow (so `kubectl wait --for=condition=Ready` and every generic tool understands them), and
 * `Observed`, the lenient shape for conditions other controllers write on objects we read (the
 * Gateway's on an HTTPRoute).
 *
 * This is data only. The rules for *changing* conditions (`lastTransitionTime` moves only when
 * `status` flips, `observedGeneration` per condition) live in `@obol/controller`'s Conditions helpers.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * @category schemas
 */
export const ConditionStatus = Schema.Literals(["True", "False", "Unknown"]).annotate({
  description: "Status of the condition: True, False or Unknown."
})

/**
 * One observation of an aspect of the object's state.
 *
 * @category schemas
 */
export const Condition = Schema.Struct({
  type: Schema.String.check(
    Schema.isMaxLength(316),
    Schema.isPattern(
      /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/u,
      { expected: "a condition type in CamelCase, optionally prefixed by a DNS subdomain and /" }
    )
  ).annotate({ description: "Type of condition in CamelCase, e.g. Ready or PaymentGateReady." }),
  status: ConditionStatus,
  observedGeneration: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({
      description:
        "The .metadata.generation the condition was computed from; older than the object's generation means stale.",
      format: "int64"
    })
  ),
  lastTransitionTime: Schema.String.annotate({
    description: "When the condition last changed status (RFC 3339). Unchanged when only reason or message change.",
    format: "date-time"
  }),
  reason: Schema.String.check(
    Schema.isMinCodePoints(1),
    Schema.isMaxLength(1024),
    Schema.isPattern(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/u, { expected: "a PascalCase reason" })
  ).annotate({ description: "Programmatic identifier for the last transition, in PascalCase, e.g. NoEndpoints." }),
  message: Schema.String.check(Schema.isMaxLength(32768)).annotate({
    description: "Human-readable details about the last transition; may be empty."
  })
}).annotate({ description: "One aspect of the object's current state, in metav1.Condition shape." })

/**
 * @category models
 */
export type Condition = typeof Condition.Type

/**
 * A list of conditions, one per `type`, merged by `type` under server-side apply.
 *
 * @category schemas
 */
export const Conditions = Schema.Array(Condition).annotate({
  description: "Current conditions of the object, at most one per type.",
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": ["type"]
})

/**
 * A condition written by another controller, decoded leniently: only `type` and `status` are
 * required (not every implementation fills the rest), and `status` is any string.
 *
 * @category schemas
 */
export const Observed = Schema.Struct({
  type: Schema.String,
  status: Schema.String,
  reason: Schema.optionalKey(Schema.String),
  message: Schema.optionalKey(Schema.String),
  observedGeneration: Schema.optionalKey(Schema.Int),
  lastTransitionTime: Schema.optionalKey(Schema.String)
})
