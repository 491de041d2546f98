/**
 * `v1 Service`, the fields we use (ports, to find the upstream's port name for its EndpointSlices).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ObjectMeta } from "../ObjectMeta.ts"
import * as ResourceKind from "../ResourceKind.ts"

/**
 * @category schemas
 */
export const ServicePort = Schema.Struct({
  name: Schema.optionalKey(Schema.String),
  port: Schema.Int,
  targetPort: Schema.optionalKey(Schema.Union([Schema.Int, Schema.String])),
  protocol: Schema.optionalKey(Schema.String)
})

/**
 * @category resources
 */
export const Service = ResourceKind.make({
  group: "",
  version: "v1",
  kind: "Service",
  plural: "services",
  namespaced: true,
  statusSubresource: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("v1"),
    kind: Schema.Literal("Service"),
    metadata: ObjectMeta,
    spec: Schema.optionalKey(
      Schema.Struct({
        type: Schema.optionalKey(Schema.String),
        clusterIP: Schema.optionalKey(Schema.String),
        ports: Schema.optionalKey(Schema.Array(ServicePort)),
        selector: Schema.optionalKey(Schema.Record(Schema.String, Schema.String))
      })
    )
  })
})
