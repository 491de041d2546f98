/**
 * `discovery.k8s.io/v1 EndpointSlice`, the fields we use (ready addresses of a Service, for
 * upstream health probes).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ObjectMeta } from "../ObjectMeta.ts"
import * as ResourceKind from "../ResourceKind.ts"

/**
 * @category resources
 */
export const EndpointSlice = ResourceKind.make({
  group: "discovery.k8s.io",
  version: "v1",
  kind: "EndpointSlice",
  plural: "endpointslices",
  namespaced: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("discovery.k8s.io/v1"),
    kind: Schema.Literal("EndpointSlice"),
    metadata: ObjectMeta,
    addressType: Schema.String,
    endpoints: Schema.optionalKey(
      Schema.Array(
        Schema.Struct({
          addresses: Schema.Array(Schema.String),
          conditions: Schema.optionalKey(
            Schema.Struct({
              ready: Schema.optionalKey(Schema.Boolean),
              serving: Schema.optionalKey(Schema.Boolean),
              terminating: Schema.optionalKey(Schema.Boolean)
            })
          )
        })
      )
    ),
    ports: Schema.optionalKey(
      Schema.Array(
        Schema.Struct({
          name: Schema.optionalKey(Schema.String),
          port: Schema.optionalKey(Schema.Int),
          protocol: Schema.optionalKey(Schema.String)
        })
      )
    )
  })
})

/**
 * The label linking a slice to its Service.
 *
 * @category constants
 */
export const serviceNameLabel = "kubernetes.io/service-name"
