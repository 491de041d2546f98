/**
 * Small kinds for the runtime's tests: a custom kind with a status subresource, and ConfigMaps.
 */
import { Schema } from "effect"
import { ObjectMeta } from "@obol/kube/ObjectMeta"
import * as ResourceKind from "@obol/kube/ResourceKind"

export const Widget = ResourceKind.make({
  group: "test.obol.org",
  version: "v1",
  kind: "Widget",
  plural: "widgets",
  namespaced: true,
  statusSubresource: true,
  schema: Schema.Struct({
    apiVersion: Schema.Literal("test.obol.org/v1"),
    kind: Schema.Literal("Widget"),
    metadata: ObjectMeta,
    spec: Schema.Struct({ size: Schema.Int }),
    status: Schema.optionalKey(Schema.Struct({ observed: Schema.optionalKey(Schema.Int) }))
  })
})

export const widget = (name: string, size = 1, metadata: Record<string, unknown> = {}) => ({
  apiVersion: "test.obol.org/v1",
  kind: "Widget",
  metadata: { name, namespace: "ns", ...metadata },
  spec: { size }
})

export const configMap = (name: string, metadata: Record<string, unknown> = {}, data: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "ns", ...metadata },
  data
})
