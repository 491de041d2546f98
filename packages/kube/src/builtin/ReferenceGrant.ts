/**
 * `gateway.networking.k8s.io/v1beta1 ReferenceGrant`: lets routes in one namespace refer to
 * objects (here: a Service) in the grant's namespace. The fields we write.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ObjectMeta } from "../ObjectMeta.ts"
import * as ResourceKind from "../ResourceKind.ts"

/**
 * @category resources
 */
export const ReferenceGrant = ResourceKind.make({
  group: "gateway.networking.k8s.io",
  version: "v1beta1",
  kind: "ReferenceGrant",
  plural: "referencegrants",
  namespaced: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("gateway.networking.k8s.io/v1beta1"),
    kind: Schema.Literal("ReferenceGrant"),
    metadata: ObjectMeta,
    spec: Schema.Struct({
      from: Schema.Array(Schema.Struct({ group: Schema.String, kind: Schema.String, namespace: Schema.String })),
      to: Schema.Array(
        Schema.Struct({ group: Schema.String, kind: Schema.String, name: Schema.optionalKey(Schema.String) })
      )
    })
  })
})
