/**
 * `events.k8s.io/v1 Event`, the fields we write (see `@obol/controller`'s EventRecorder).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ObjectMeta } from "../ObjectMeta.ts"
import * as ResourceKind from "../ResourceKind.ts"

const ObjectReference = Schema.Struct({
  apiVersion: Schema.optionalKey(Schema.String),
  kind: Schema.optionalKey(Schema.String),
  name: Schema.optionalKey(Schema.String),
  namespace: Schema.optionalKey(Schema.String),
  uid: Schema.optionalKey(Schema.String),
  resourceVersion: Schema.optionalKey(Schema.String)
})

/**
 * @category resources
 */
export const Event = ResourceKind.make({
  group: "events.k8s.io",
  version: "v1",
  kind: "Event",
  plural: "events",
  namespaced: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("events.k8s.io/v1"),
    kind: Schema.Literal("Event"),
    metadata: ObjectMeta,
    eventTime: Schema.NullOr(Schema.String),
    series: Schema.optionalKey(Schema.Struct({ count: Schema.Int, lastObservedTime: Schema.String })),
    reportingController: Schema.optionalKey(Schema.String),
    reportingInstance: Schema.optionalKey(Schema.String),
    action: Schema.optionalKey(Schema.String),
    reason: Schema.optionalKey(Schema.String),
    regarding: Schema.optionalKey(ObjectReference),
    note: Schema.optionalKey(Schema.String),
    type: Schema.optionalKey(Schema.String)
  })
})
