/**
 * The error for an object that does not match its kind's Schema, with one readable,
 * path-qualified line per problem (`spec.payment.payTo: Expected a string matching …`).
 *
 * Decoding helpers for every kind fail with this error so that the CLI, the controllers and the
 * tests all show the same text. It formats Effect `SchemaError`s; it does not decide what to decode.
 *
 * @since 0.1.0
 */
import { Schema, SchemaIssue } from "effect"

/**
 * One problem found while decoding: where (`spec.registration.services[0].name`) and what.
 *
 * @category models
 */
export const Problem = Schema.Struct({
  path: Schema.String,
  message: Schema.String
})

/**
 * @category models
 */
export type Problem = typeof Problem.Type

/**
 * An object failed to decode as `kind`.
 *
 * @category errors
 */
export class InvalidObject extends Schema.TaggedError<InvalidObject>()("InvalidObject", {
  kind: Schema.String,
  /** `metadata.name` when the input had one (not `name`, which every Error already has). */
  objectName: Schema.optionalKey(Schema.String),
  problems: Schema.Array(Problem)
}) {
  override get message(): string {
    const subject = this.objectName === undefined ? this.kind : `${this.kind} ${this.objectName}`
    const lines = this.problems.map((p) => `  ${p.path === "" ? "(root)" : p.path}: ${p.message}`)
    return `invalid ${subject}:\n${lines.join("\n")}`
  }
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/u

/**
 * Renders a property path the way a person writes it: `spec.services[0]["odd key"]`.
 *
 * @category formatting
 */
export const formatPath = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string => {
  let out = ""
  for (const segment of path) {
    const key = typeof segment === "object" && segment !== null ? segment.key : segment
    if (typeof key === "number") out += `[${key}]`
    else if (typeof key === "string" && identifier.test(key)) out += out === "" ? key : `.${key}`
    else out += `[${JSON.stringify(String(key))}]`
  }
  return out
}

/**
 * Flattens a Schema issue tree into path-qualified problems, in the order the schema reported them.
 *
 * @category formatting
 */
export const problemsOf = (issue: SchemaIssue.Issue): ReadonlyArray<Problem> =>
  formatter(issue).issues.map((i) => ({ path: formatPath(i.path ?? []), message: i.message }))

/**
 * Builds an {@link InvalidObject} from a `SchemaError`.
 *
 * @category constructors
 */
export const fromSchemaError = (kind: string, error: Schema.SchemaError, name?: string | undefined): InvalidObject =>
  new InvalidObject({ kind, problems: problemsOf(error.issue), ...(name === undefined ? {} : { objectName: name }) })
