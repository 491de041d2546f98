/**
 * `rbac.authorization.k8s.io/v1 Role` and `RoleBinding`, the fields we use: `obol sell` grants
 * the x402-verifier's ServiceAccount read access to exactly one Secret (an upstream credential)
 * with them.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ObjectMeta } from "../ObjectMeta.ts"
import * as ResourceKind from "../ResourceKind.ts"

/**
 * @category schemas
 */
export const PolicyRule = Schema.Struct({
  apiGroups: Schema.optionalKey(Schema.Array(Schema.String)),
  resources: Schema.optionalKey(Schema.Array(Schema.String)),
  resourceNames: Schema.optionalKey(Schema.Array(Schema.String)),
  verbs: Schema.Array(Schema.String)
})

/**
 * @category resources
 */
export const Role = ResourceKind.make({
  group: "rbac.authorization.k8s.io",
  version: "v1",
  kind: "Role",
  plural: "roles",
  namespaced: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("rbac.authorization.k8s.io/v1"),
    kind: Schema.Literal("Role"),
    metadata: ObjectMeta,
    rules: Schema.optionalKey(Schema.Array(PolicyRule))
  })
})

/**
 * @category resources
 */
export const RoleBinding = ResourceKind.make({
  group: "rbac.authorization.k8s.io",
  version: "v1",
  kind: "RoleBinding",
  plural: "rolebindings",
  namespaced: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("rbac.authorization.k8s.io/v1"),
    kind: Schema.Literal("RoleBinding"),
    metadata: ObjectMeta,
    roleRef: Schema.Struct({ apiGroup: Schema.String, kind: Schema.String, name: Schema.String }),
    subjects: Schema.optionalKey(
      Schema.Array(
        Schema.Struct({
          kind: Schema.String,
          name: Schema.String,
          namespace: Schema.optionalKey(Schema.String),
          apiGroup: Schema.optionalKey(Schema.String)
        })
      )
    )
  })
})
