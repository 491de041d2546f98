/**
 * `v1 ServiceAccount`, the fields we use.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ObjectMeta } from "../ObjectMeta.ts"
import * as ResourceKind from "../ResourceKind.ts"

/**
 * @category resources
 */
export const ServiceAccount = ResourceKind.make({
  group: "",
  version: "v1",
  kind: "ServiceAccount",
  plural: "serviceaccounts",
  namespaced: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("v1"),
    kind: Schema.Literal("ServiceAccount"),
    metadata: ObjectMeta
  })
})
