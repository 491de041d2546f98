import { describe, expect, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as InvalidObject from "@obol/kube/InvalidObject"

describe("InvalidObject", () => {
  it("writes paths the way people do: dots for names, brackets for indexes and odd keys", () => {
    expect(InvalidObject.formatPath(["spec", "services", 0, "name"])).toBe("spec.services[0].name")
    expect(InvalidObject.formatPath(["metadata", "labels", "app.kubernetes.io/name"])).toBe(
      'metadata.labels["app.kubernetes.io/name"]'
    )
    expect(InvalidObject.formatPath([])).toBe("")
  })

  it("lists one problem per failing field from a SchemaError", () => {
    const schema = Schema.Struct({ a: Schema.String, b: Schema.Array(Schema.Int) })
    const result = Schema.decodeUnknownResult(schema)({ a: 1, b: [1, "x"] }, { errors: "all" })
    if (Result.isSuccess(result)) throw new Error("expected failure")
    const error = InvalidObject.fromSchemaError("Thing", result.failure, "t1")
    expect(error.problems.map((p) => p.path)).toEqual(["a", "b[1]"])
    expect(error.message.split("\n")[0]).toBe("invalid Thing t1:")
  })

  it("says (root) when the whole value is wrong", () => {
    const result = Schema.decodeUnknownResult(Schema.Struct({ a: Schema.String }))(42, { reportInput: true })
    if (Result.isSuccess(result)) throw new Error("expected failure")
    expect(InvalidObject.fromSchemaError("Thing", result.failure).message).toBe(
      "invalid Thing:\n  (root): Expected object, got 42"
    )
  })
})
