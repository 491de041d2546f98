import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import * as CustomResource from "@obol/api/CustomResource"
import * as Kinds from "@obol/api/Kinds"
import * as StructuralSchema from "@obol/api/StructuralSchema"

type Node = StructuralSchema.Node

/** Every node of a schema with its path, including nodes inside junctors. */
const walk = (node: Node, path = "", out: Array<readonly [string, Node]> = []) => {
  out.push([path, node])
  const props = node["properties"] as Record<string, Node> | undefined
  for (const [key, value] of Object.entries(props ?? {})) walk(value, path === "" ? key : `${path}.${key}`, out)
  if (typeof node["additionalProperties"] === "object") walk(node["additionalProperties"] as Node, `${path}[*]`, out)
  if (typeof node["items"] === "object") walk(node["items"] as Node, `${path}[]`, out)
  for (const keyword of ["allOf", "anyOf", "oneOf"]) {
    ;((node[keyword] as Array<Node> | undefined) ?? []).forEach((m, i) => walk(m, `${path}.${keyword}[${i}]`, out))
  }
  return out
}

describe("StructuralSchema", () => {
  describe.each(Kinds.all.map((kind) => [kind.kind, kind] as const))("the generated %s schema", (_, kind) => {
    const root = CustomResource.openApiSchema(kind)
    const nodes = walk(root)

    it("passes every structural rule", () => {
      expect(StructuralSchema.violations(root)).toEqual([])
    })

    it("types every node (or marks it as free-form)", () => {
      const untyped = nodes.filter(
        ([p, n]) =>
          !p.includes("Of[") && typeof n["type"] !== "string" && n["x-kubernetes-preserve-unknown-fields"] !== true
      )
      expect(untyped.map(([p]) => p)).toEqual([])
    })

    it("has no $ref, anyOf or oneOf anywhere", () => {
      const text = JSON.stringify(root)
      expect(text).not.toContain('"$ref"')
      expect(text).not.toContain('"anyOf"')
      expect(text).not.toContain('"oneOf"')
    })

    it("never sets properties and additionalProperties on the same node", () => {
      expect(nodes.filter(([, n]) => "properties" in n && "additionalProperties" in n).map(([p]) => p)).toEqual([])
    })

    it("describes every field, for kubectl explain", () => {
      const fields = nodes.filter(
        ([p]) => p !== "" && p !== "metadata" && !p.endsWith("[]") && !p.endsWith("[*]") && !p.includes("Of[")
      )
      expect(fields.length).toBeGreaterThan(5)
      expect(
        fields.filter(([, n]) => typeof n["description"] !== "string" || n["description"] === "").map(([p]) => p)
      ).toEqual([])
    })

    it("keeps Schema.Int fields free of the ±2^53 bounds Effect adds", () => {
      const text = JSON.stringify(root)
      expect(text).not.toContain(String(Number.MAX_SAFE_INTEGER))
    })
  })

  describe("fromSchema", () => {
    it("lowers a nullable field to nullable: true", () => {
      const node = StructuralSchema.fromSchema(
        Schema.Struct({ note: Schema.NullOr(Schema.String).annotate({ description: "n" }) })
      )
      expect((node["properties"] as Record<string, Node>)["note"]).toEqual({
        type: "string",
        description: "n",
        nullable: true
      })
    })

    it("turns Schema.Unknown and open records into preserve-unknown-fields", () => {
      const node = StructuralSchema.fromSchema(
        Schema.Struct({ raw: Schema.Unknown, bag: Schema.Record(Schema.String, Schema.Unknown) })
      )
      const props = node["properties"] as Record<string, Node>
      expect(props["raw"]).toEqual({ "x-kubernetes-preserve-unknown-fields": true })
      expect(props["bag"]?.["x-kubernetes-preserve-unknown-fields"]).toBe(true)
      expect(props["bag"]?.["additionalProperties"]).toBeUndefined()
    })

    it("merges CEL rules from several checks into one list", () => {
      const twoRules = Schema.Struct({ a: Schema.optionalKey(Schema.String) }).check(
        Schema.makeFilter(() => true, { toJsonSchema: () => ({ "x-kubernetes-validations": [{ rule: "r1" }] }) }),
        Schema.makeFilter(() => true, { toJsonSchema: () => ({ "x-kubernetes-validations": [{ rule: "r2" }] }) })
      )
      const node = StructuralSchema.fromSchema(twoRules)
      expect(node["x-kubernetes-validations"]).toEqual([{ rule: "r1" }, { rule: "r2" }])
      expect(node["allOf"]).toBeUndefined()
    })

    it("keeps the pattern of a regex with the u flag", () => {
      expect(StructuralSchema.fromSchema(Schema.String.check(Schema.isPattern(/^a+$/u)))).toEqual({
        type: "string",
        pattern: "^a+$"
      })
    })

    it("refuses a union of different object shapes, saying how to fix it", () => {
      const tagged = Schema.Struct({
        source: Schema.Union([Schema.Struct({ url: Schema.String }), Schema.Struct({ file: Schema.String })])
      })
      expect(() => StructuralSchema.fromSchema(tagged)).toThrow(
        /source: anyOf of 2 different shapes is not structural; flatten/
      )
    })

    it("refuses a recursive schema", () => {
      interface Tree {
        readonly children: ReadonlyArray<Tree>
      }
      const Tree: Schema.Codec<Tree> = Schema.Struct({
        children: Schema.Array(Schema.suspend((): Schema.Codec<Tree> => Tree))
      })
      expect(() => StructuralSchema.fromSchema(Tree)).toThrow(StructuralSchema.NotStructural)
    })
  })

  describe("violations", () => {
    it("reports an untyped node, a $ref and a type inside allOf", () => {
      const bad: Node = {
        type: "object",
        properties: {
          a: { description: "a" },
          b: { $ref: "#/definitions/B", type: "object", description: "b" },
          c: { type: "string", description: "c", allOf: [{ type: "string" }] }
        }
      }
      expect(StructuralSchema.violations(bad)).toEqual([
        "a: has no type",
        "b: has $ref",
        'c.allOf[0]: "type" inside allOf/anyOf/oneOf/not'
      ])
    })

    it("reports an undescribed field and properties with additionalProperties", () => {
      const bad: Node = {
        type: "object",
        properties: { m: { type: "object", properties: {}, additionalProperties: { type: "string" } } }
      }
      expect(StructuralSchema.violations(bad)).toEqual([
        "m: has no description",
        "m: has both properties and additionalProperties"
      ])
    })
  })
})
