/**
 * `v1 Namespace`, the fields we use.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ObjectMeta } from "../ObjectMeta.ts"
import * as ResourceKind from "../ResourceKind.ts"

/**
 * @category resources
 */
export const Namespace = ResourceKind.make({
  group: "",
  version: "v1",
  kind: "Namespace",
  plural: "namespaces",
  namespaced: false,
  statusSubresource: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("v1"),
    kind: Schema.Literal("Namespace"),
    metadata: ObjectMeta,
    status: Schema.optionalKey(Schema.Struct({ phase: Schema.optionalKey(Schema.String) }))
  })
})
