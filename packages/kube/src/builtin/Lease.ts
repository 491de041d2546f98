/**
 * `coordination.k8s.io/v1 Lease`, for leader election.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ObjectMeta } from "../ObjectMeta.ts"
import * as ResourceKind from "../ResourceKind.ts"

/**
 * @category resources
 */
export const Lease = ResourceKind.make({
  group: "coordination.k8s.io",
  version: "v1",
  kind: "Lease",
  plural: "leases",
  namespaced: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("coordination.k8s.io/v1"),
    kind: Schema.Literal("Lease"),
    metadata: ObjectMeta,
    spec: Schema.optionalKey(
      Schema.Struct({
        holderIdentity: Schema.optionalKey(Schema.NullOr(Schema.String)),
        leaseDurationSeconds: Schema.optionalKey(Schema.NullOr(Schema.Int)),
        acquireTime: Schema.optionalKey(Schema.NullOr(Schema.String)),
        renewTime: Schema.optionalKey(Schema.NullOr(Schema.String)),
        leaseTransitions: Schema.optionalKey(Schema.NullOr(Schema.Int))
      })
    )
  })
})
