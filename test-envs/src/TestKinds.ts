/**
 * Resource kinds for tests and benchmarks that must not depend on `@obol/api`: the ServiceOffer
 * CRD (installed in every test control plane) seen through a loose Schema, and a valid offer.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ObjectMeta } from "@obol/kube/ObjectMeta"
import * as ResourceKind from "@obol/kube/ResourceKind"

/**
 * ServiceOffer with `spec` and `status` as open records.
 *
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
