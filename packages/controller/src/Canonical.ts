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
