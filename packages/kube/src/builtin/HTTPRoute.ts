/**
 * `gateway.networking.k8s.io/v1 HTTPRoute`, the fields we write (parent, path match, filters,
 * backend, timeouts) and read (`status.parents[].conditions`).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Condition from "../Condition.ts"
import { ObjectMeta } from "../ObjectMeta.ts"
import * as ResourceKind from "../ResourceKind.ts"

const ParentRef = Schema.Struct({
  group: Schema.optionalKey(Schema.String),
  kind: Schema.optionalKey(Schema.String),
  namespace: Schema.optionalKey(Schema.String),
  name: Schema.String,
  sectionName: Schema.optionalKey(Schema.String)
})

const HeaderValue = Schema.Struct({ name: Schema.String, value: Schema.String })

const Filter = Schema.Struct({
  type: Schema.String,
  requestHeaderModifier: Schema.optionalKey(
    Schema.Struct({
      set: Schema.optionalKey(Schema.Array(HeaderValue)),
      add: Schema.optionalKey(Schema.Array(HeaderValue)),
      remove: Schema.optionalKey(Schema.Array(Schema.String))
    })
  ),
  extensionRef: Schema.optionalKey(Schema.Struct({ group: Schema.String, kind: Schema.String, name: Schema.String })),
  urlRewrite: Schema.optionalKey(
    Schema.Struct({
      path: Schema.optionalKey(
        Schema.Struct({
          type: Schema.String,
          replacePrefixMatch: Schema.optionalKey(Schema.String),
          replaceFullPath: Schema.optionalKey(Schema.String)
        })
      )
    })
  )
})

/**
 * @category resources
 */
export const HTTPRoute = ResourceKind.make({
  group: "gateway.networking.k8s.io",
  version: "v1",
  kind: "HTTPRoute",
  plural: "httproutes",
  namespaced: true,
  statusSubresource: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("gateway.networking.k8s.io/v1"),
    kind: Schema.Literal("HTTPRoute"),
    metadata: ObjectMeta,
    spec: Schema.Struct({
      parentRefs: Schema.optionalKey(Schema.Array(ParentRef)),
      hostnames: Schema.optionalKey(Schema.Array(Schema.String)),
      rules: Schema.optionalKey(
        Schema.Array(
          Schema.Struct({
            matches: Schema.optionalKey(
              Schema.Array(
                Schema.Struct({
                  path: Schema.optionalKey(
                    Schema.Struct({ type: Schema.optionalKey(Schema.String), value: Schema.optionalKey(Schema.String) })
                  )
                })
              )
            ),
            filters: Schema.optionalKey(Schema.Array(Filter)),
            backendRefs: Schema.optionalKey(
              Schema.Array(
                Schema.Struct({
                  group: Schema.optionalKey(Schema.String),
                  kind: Schema.optionalKey(Schema.String),
                  name: Schema.String,
                  namespace: Schema.optionalKey(Schema.String),
                  port: Schema.optionalKey(Schema.Int),
                  weight: Schema.optionalKey(Schema.Int)
                })
              )
            ),
            timeouts: Schema.optionalKey(
              Schema.Struct({
                request: Schema.optionalKey(Schema.String),
                backendRequest: Schema.optionalKey(Schema.String)
              })
            )
          })
        )
      )
    }),
    status: Schema.optionalKey(
      Schema.Struct({
        parents: Schema.optionalKey(
          Schema.Array(
            Schema.Struct({
              parentRef: ParentRef,
              controllerName: Schema.String,
              conditions: Schema.optionalKey(Schema.Array(Condition.Observed))
            })
          )
        )
      })
    )
  })
})
