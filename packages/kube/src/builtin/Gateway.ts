/**
 * `gateway.networking.k8s.io/v1 Gateway`, the fields we read.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ObjectMeta } from "../ObjectMeta.ts"
import * as ResourceKind from "../ResourceKind.ts"

/**
 * @category resources
 */
export const Gateway = ResourceKind.make({
  group: "gateway.networking.k8s.io",
  version: "v1",
  kind: "Gateway",
  plural: "gateways",
  namespaced: true,
  statusSubresource: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("gateway.networking.k8s.io/v1"),
    kind: Schema.Literal("Gateway"),
    metadata: ObjectMeta,
    spec: Schema.Struct({
      gatewayClassName: Schema.String,
      listeners: Schema.Array(
        Schema.Struct({
          name: Schema.String,
          port: Schema.Int,
          protocol: Schema.String,
          hostname: Schema.optionalKey(Schema.String)
        })
      )
    }),
    status: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
  })
})
