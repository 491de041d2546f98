/**
 * Cross-field validation written once and enforced twice: as a CEL rule in the CRD
 * (`x-kubernetes-validations`, checked by the API server) and as a Schema filter (checked when we
 * decode an object ourselves, e.g. a manifest in `obol sell` before it is sent).
 *
 * The two halves are written side by side so they cannot drift silently; the decode tests exercise
 * the TypeScript half and the integration tests exercise the CEL half against a real API server.
 * This module does not evaluate CEL.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A CEL rule as it appears in `x-kubernetes-validations`.
 *
 * @category models
 */
export interface Rule {
  /** CEL expression over `self`, e.g. `has(self.perRequest) || has(self.perMTok)`. */
  readonly rule: string
  /** Message shown by the API server and by our decoder when the rule fails. */
  readonly message: string
  /** Optional JSONPath-ish field the error is reported on, relative to the node (e.g. `.model`). */
  readonly fieldPath?: string
}

/**
 * A Schema check that carries its CEL twin into the generated CRD.
 *
 * **Gotchas**
 *
 * The predicate must mean the same as the CEL `rule`. Remember that CEL sees the object *after*
 * API-server defaulting, while the predicate sees it after Schema decoding defaults: both apply
 * the same defaults, because the CRD defaults come from the same Schema annotations.
 *
 * @category constructors
 */
export const make = <T>(rule: Rule, holds: (value: T) => boolean) => {
  const path = rule.fieldPath === undefined ? [] : rule.fieldPath.split(".").filter((segment) => segment !== "")
  return Schema.makeFilter<T>((value) => (holds(value) ? undefined : { path, issue: rule.message }), {
    expected: rule.message,
    toJsonSchema: () => ({ "x-kubernetes-validations": [{ ...rule }] })
  })
}
