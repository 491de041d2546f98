/**
 * `v1 ConfigMap`, the fields we use.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ObjectMeta } from "../ObjectMeta.ts"
import * as ResourceKind from "../ResourceKind.ts"

/**
 * @category resources
 */
export const ConfigMap = ResourceKind.make({
  group: "",
  version: "v1",
  kind: "ConfigMap",
  plural: "configmaps",
  namespaced: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("v1"),
    kind: Schema.Literal("ConfigMap"),
    metadata: ObjectMeta,
    data: Schema.optionalKey(Schema.Record(Schema.String, Schema.String))
  })
})
