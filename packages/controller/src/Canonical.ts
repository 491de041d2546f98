/**
 * JSON with object keys sorted, so equal values compare equal whatever order their keys arrived
 * in. Reconcilers compare the status they computed with the one the API server returned this way,
 * and write only when it changed (the server does not keep our key order).
 *
 * @since 0.1.0
 */

/**
 * @category constructors
 */
export const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        )
      : v
  )

/**
 * Whether two JSON values are equal, key order aside.
 *
 * @category predicates
 */
export const equals = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b)

/**
 * Whether `actual` already holds everything `desired` says: every key of a desired object is in
 * the actual one with a value that holds it in turn, arrays have the same length and hold
 * element by element, other values are equal. Fields only `actual` has (server defaults, other
 * managers' fields, status) do not matter. A reconciler skips a server-side apply whose object the
 * cache shows already holding it: the apply would change nothing.
 *
 * @category predicates
 */
export const contains = (actual: unknown, desired: unknown): boolean => {
  if (Array.isArray(desired)) {
    return Array.isArray(actual) && actual.length === desired.length && desired.every((d, i) => contains(actual[i], d))
  }
  if (typeof desired === "object" && desired !== null) {
    if (typeof actual !== "object" || actual === null || Array.isArray(actual)) return false
    const record = actual as Record<string, unknown>
    return Object.entries(desired as Record<string, unknown>).every(
      ([key, value]) => value === undefined || (key in record && contains(record[key], value))
    )
  }
  return actual === desired
}
