/**
 * `traefik.io/v1alpha1 Middleware`, the ForwardAuth fields we write.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ObjectMeta } from "../ObjectMeta.ts"
import * as ResourceKind from "../ResourceKind.ts"

/**
 * @category resources
 */
export const Middleware = ResourceKind.make({
  group: "traefik.io",
  version: "v1alpha1",
  kind: "Middleware",
  plural: "middlewares",
  namespaced: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("traefik.io/v1alpha1"),
    kind: Schema.Literal("Middleware"),
    metadata: ObjectMeta,
    spec: Schema.Struct({
      forwardAuth: Schema.optionalKey(
        Schema.Struct({
          address: Schema.String,
          trustForwardHeader: Schema.optionalKey(Schema.Boolean),
          authResponseHeaders: Schema.optionalKey(Schema.Array(Schema.String)),
          authRequestHeaders: Schema.optionalKey(Schema.Array(Schema.String)),
          preserveRequestMethod: Schema.optionalKey(Schema.Boolean),
          maxResponseBodySize: Schema.optionalKey(Schema.Int)
        })
      )
    })
  })
})
