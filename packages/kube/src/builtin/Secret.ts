/**
 * `v1 Secret`, the fields we use. Values stay base64 (`data`) as the API returns them; decode
 * them at the point of use and keep them `Redacted`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ObjectMeta } from "../ObjectMeta.ts"
import * as ResourceKind from "../ResourceKind.ts"

/**
 * @category resources
 */
export const Secret = ResourceKind.make({
  group: "",
  version: "v1",
  kind: "Secret",
  plural: "secrets",
  namespaced: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("v1"),
    kind: Schema.Literal("Secret"),
    metadata: ObjectMeta,
    type: Schema.optionalKey(Schema.String),
    data: Schema.optionalKey(Schema.Record(Schema.String, Schema.String))
  })
})
