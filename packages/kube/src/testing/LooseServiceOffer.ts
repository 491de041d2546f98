/**
 * The ServiceOffer custom resource (`obol.org/v1alpha1`) seen through a loose Schema: `spec` and
 * `status` as open records. For tests and benchmarks of the Kubernetes layer that need a real
 * custom resource on a real API server (the test control plane installs the CRD) but must not
 * depend on `@obol/api` (which depends on this package), or must not pay for its decoding.
 *
 * It validates nothing beyond the object's envelope; `@obol/api/ServiceOffer` is the real Schema.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ObjectMeta } from "../ObjectMeta.ts"
import * as ResourceKind from "../ResourceKind.ts"

/**
 * @category resources
 */
export const LooseServiceOffer = ResourceKind.make({
  group: "obol.org",
  version: "v1alpha1",
  kind: "ServiceOffer",
  plural: "serviceoffers",
  namespaced: true,
  statusSubresource: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("obol.org/v1alpha1"),
    kind: Schema.Literal("ServiceOffer"),
    metadata: ObjectMeta,
    spec: Schema.Record(Schema.String, Schema.Unknown),
    status: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
  })
})
