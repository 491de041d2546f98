/**
 * Turns an Effect Schema into a Kubernetes *structural* `openAPIV3Schema`, and checks the result.
 *
 * `Schema.toJsonSchemaDocument` emits draft 2020-12 JSON Schema. The API server wants OpenAPI v3
 * in structural form: every node typed, no `$ref`, `properties` and `additionalProperties` never
 * together, no types or descriptions inside `allOf`/`anyOf`/`oneOf`/`not`. The lowering here:
 *
 * 1. inlines everything (no reference table) and refuses a `$ref` (recursive schemas cannot be CRDs);
 * 2. merges `allOf` fragments (the output of checks and late annotations) into their node,
 *    concatenating `x-kubernetes-validations`;
 * 3. lowers `anyOf`/`oneOf` of `[X, null]` to `X` + `nullable`, and unions of string enums to one enum;
 *    anything else is refused, because a tagged union is not structural (flatten it instead);
 * 4. drops the boolean `additionalProperties` Effect puts on every struct, and turns free-form
 *    values (`Schema.Unknown`, open records) into `x-kubernetes-preserve-unknown-fields`;
 * 5. drops the ±(2^53−1) bounds Effect adds to every `Schema.Int`.
 *
 * Authoring rules that keep the output faithful (see docs/crd-generation.md): regexes carry the
 * `u` flag (otherwise Effect drops the pattern), use `Schema.Finite`/`Schema.Int` rather than
 * `Schema.Number`, `optionalKey` rather than `optional`, and `isMinCodePoints` rather than
 * `isMinLength`. This module does not know about CRD names or versions; see `CustomResource`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A JSON Schema / OpenAPI node as plain data.
 *
 * @category models
 */
export type Node = { [key: string]: unknown }

/**
 * The lowering met a schema shape that has no structural form.
 *
 * @category errors
 */
export class NotStructural extends Error {
  override readonly name = "NotStructural"
  readonly path: string
  readonly reason: string
  constructor(path: string, reason: string) {
    super(`${path === "" ? "(root)" : path}: ${reason}`)
    this.path = path
    this.reason = reason
  }
}

const isNode = (u: unknown): u is Node => typeof u === "object" && u !== null && !Array.isArray(u)

const MAX_SAFE = Number.MAX_SAFE_INTEGER

/** Keys that the structural rules forbid inside allOf/anyOf/oneOf/not. */
const notInJunctors = ["type", "description", "default", "nullable", "additionalProperties"] as const

const tighter: Record<string, (a: number, b: number) => number> = {
  minimum: Math.max,
  minLength: Math.max,
  minItems: Math.max,
  minProperties: Math.max,
  maximum: Math.min,
  maxLength: Math.min,
  maxItems: Math.min,
  maxProperties: Math.min
}

const mergeFragment = (node: Node, fragment: Node, path: string, residual: Array<Node>): void => {
  const leftover: Node = {}
  for (const [key, value] of Object.entries(fragment)) {
    if (key === "x-kubernetes-validations") {
      const existing = Array.isArray(node[key]) ? (node[key] as Array<unknown>) : []
      node[key] = [...existing, ...(value as Array<unknown>)]
    } else if (key === "description" || key === "title") {
      // Annotations applied after a check land in the check's fragment; the last one wins, as in Effect.
      node[key] = value
    } else if (key === "allOf" && Array.isArray(value)) {
      for (const inner of value) if (isNode(inner)) mergeFragment(node, inner, path, residual)
    } else if (!(key in node)) {
      node[key] = value
    } else if (tighter[key] !== undefined && typeof value === "number" && typeof node[key] === "number") {
      // Both bounds must hold (allOf), so the tighter one alone is equivalent.
      node[key] = tighter[key](node[key] as number, value)
    } else if (JSON.stringify(node[key]) !== JSON.stringify(value)) {
      if ((notInJunctors as ReadonlyArray<string>).includes(key)) {
        throw new NotStructural(path, `conflicting "${key}" in allOf cannot be merged`)
      }
      leftover[key] = value
    }
  }
  if (Object.keys(leftover).length > 0) residual.push(leftover)
}

const lowerUnion = (node: Node, members: Array<unknown>, path: string, keyword: string): Node => {
  const branches = members.filter(isNode)
  const nonNull = branches.filter((b) => b["type"] !== "null")
  const hasNull = nonNull.length < branches.length
  if (nonNull.length === 1) {
    const { [keyword]: _, ...rest } = node
    return { ...nonNull[0], ...rest, ...(hasNull ? { nullable: true } : {}) }
  }
  if (nonNull.every((b) => b["type"] === "string" && Array.isArray(b["enum"]) && Object.keys(b).length === 2)) {
    const { [keyword]: _, ...rest } = node
    const values = nonNull.flatMap((b) => b["enum"] as Array<unknown>)
    return { type: "string", enum: values, ...rest, ...(hasNull ? { nullable: true } : {}) }
  }
  throw new NotStructural(
    path,
    `${keyword} of ${nonNull.length} different shapes is not structural; flatten the union into one struct with an enum discriminator and CEL rules`
  )
}

const child = (path: string, key: string) => (path === "" ? key : `${path}.${key}`)

const lower = (input: Node, path: string): Node => {
  if ("$ref" in input) {
    throw new NotStructural(path, `$ref ${String(input["$ref"])} cannot be inlined (recursive schemas cannot be CRDs)`)
  }
  let node: Node = { ...input }
  delete node["$schema"]
  delete node["$defs"]

  if (Array.isArray(node["allOf"])) {
    const fragments = node["allOf"] as Array<unknown>
    delete node["allOf"]
    const residual: Array<Node> = []
    for (const fragment of fragments) if (isNode(fragment)) mergeFragment(node, fragment, path, residual)
    if (residual.length > 0) node["allOf"] = residual
  }
  for (const keyword of ["anyOf", "oneOf"] as const) {
    if (Array.isArray(node[keyword])) node = lowerUnion(node, node[keyword] as Array<unknown>, path, keyword)
  }
  if (Array.isArray(node["type"])) {
    throw new NotStructural(path, `a list of types (${JSON.stringify(node["type"])}) is not structural`)
  }

  if (node["type"] === "integer") {
    if (node["minimum"] === -MAX_SAFE) delete node["minimum"]
    if (node["maximum"] === MAX_SAFE) delete node["maximum"]
  }

  if (isNode(node["properties"])) {
    const properties: Node = {}
    for (const [key, value] of Object.entries(node["properties"])) {
      properties[key] = lower(isNode(value) ? value : {}, child(path, key))
    }
    node["properties"] = properties
    if (typeof node["additionalProperties"] === "boolean") delete node["additionalProperties"]
    if (Array.isArray(node["required"]) && node["required"].length === 0) delete node["required"]
  } else if (node["type"] === "object") {
    if (isNode(node["additionalProperties"]) && Object.keys(node["additionalProperties"]).length > 0) {
      node["additionalProperties"] = lower(node["additionalProperties"], `${path}[*]`)
    } else {
      delete node["additionalProperties"]
      node["x-kubernetes-preserve-unknown-fields"] = true
    }
    delete node["propertyNames"]
  }

  if (node["items"] !== undefined) {
    if (!isNode(node["items"])) throw new NotStructural(path, "tuple items are not structural")
    node["items"] = lower(node["items"], `${path}[]`)
  }

  const meaningful = Object.keys(node).filter((k) => k !== "description" && k !== "title")
  if (meaningful.length === 0) {
    // Schema.Unknown: any JSON value, kept as-is by the API server.
    node["x-kubernetes-preserve-unknown-fields"] = true
  }
  if (node["type"] === undefined && node["x-kubernetes-preserve-unknown-fields"] !== true) {
    throw new NotStructural(path, `node has no type: ${JSON.stringify(node)}`)
  }
  return readable(node)
}

/** Puts `type` and `description` first, so the generated YAML reads like hand-written CRDs. */
const readable = ({ type, description, ...rest }: Node): Node => ({
  ...(type === undefined ? {} : { type }),
  ...(description === undefined ? {} : { description }),
  ...rest
})

/**
 * Lowers a Schema to a structural OpenAPI v3 schema (the *encoded* side, which is what the API
 * server stores).
 *
 * @throws NotStructural when the schema has no structural form; the message names the field.
 * @category constructors
 */
export const fromSchema = (schema: Schema.Top): Node => {
  const document = Schema.toJsonSchemaDocument(schema, {
    referencePolicy: () => undefined,
    includeAnnotationKey: (key) => key.startsWith("x-kubernetes-")
  })
  if (Object.keys(document.definitions).length > 0) {
    throw new NotStructural(
      "",
      `schema needs definitions (${Object.keys(document.definitions).join(", ")}); CRDs cannot use $ref`
    )
  }
  return lower(document.schema as Node, "")
}

/**
 * Lists every violation of the structural-schema rules (and of our own rule that every field is
 * described for `kubectl explain`, except top-level `metadata`, which the API server requires to be
 * exactly `{type: object}`). An empty list means the schema can be installed.
 *
 * @category predicates
 */
export const violations = (root: Node): ReadonlyArray<string> => {
  const found: Array<string> = []
  const visit = (node: Node, path: string, isField: boolean, inJunctor: boolean): void => {
    const at = path === "" ? "(root)" : path
    if ("$ref" in node) found.push(`${at}: has $ref`)
    if (inJunctor) {
      for (const key of notInJunctors) if (key in node) found.push(`${at}: "${key}" inside allOf/anyOf/oneOf/not`)
    } else {
      const free = node["x-kubernetes-preserve-unknown-fields"] === true || node["x-kubernetes-int-or-string"] === true
      if (typeof node["type"] !== "string" && !free) found.push(`${at}: has no type`)
      // Top-level `metadata` is the one field the API server forbids describing.
      if (isField && path !== "metadata" && typeof node["description"] !== "string")
        found.push(`${at}: has no description`)
    }
    if ("properties" in node && "additionalProperties" in node) {
      found.push(`${at}: has both properties and additionalProperties`)
    }
    for (const keyword of ["anyOf", "oneOf", "allOf"]) {
      const members = node[keyword]
      if (members === undefined) continue
      if (!Array.isArray(members)) found.push(`${at}: ${keyword} is not a list`)
      else members.forEach((m, i) => isNode(m) && visit(m, `${at}.${keyword}[${i}]`, false, true))
    }
    if (isNode(node["not"])) visit(node["not"], `${at}.not`, false, true)
    if (isNode(node["properties"])) {
      for (const [key, value] of Object.entries(node["properties"])) {
        if (isNode(value)) visit(value, child(path, key), !inJunctor, inJunctor)
      }
    }
    if (isNode(node["additionalProperties"])) visit(node["additionalProperties"], `${path}[*]`, false, inJunctor)
    if (isNode(node["items"])) visit(node["items"], `${path}[]`, false, inJunctor)
  }
  visit(root, "", false, false)
  return found
}
