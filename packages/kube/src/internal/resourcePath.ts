/**
 * REST paths for a resource kind: `/api/v1/...` for the core group, `/apis/<group>/<version>/...`
 * otherwise, with `namespaces/<ns>/` for namespaced kinds.
 */
import type { ResourceKind } from "../ResourceKind.ts"

const base = (kind: ResourceKind) =>
  kind.group === "" ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`

const segment = (value: string) => encodeURIComponent(value)

/** The collection URL; all namespaces when `namespace` is undefined. */
export const collection = (kind: ResourceKind, namespace: string | undefined): string =>
  kind.namespaced && namespace !== undefined
    ? `${base(kind)}/namespaces/${segment(namespace)}/${kind.plural}`
    : `${base(kind)}/${kind.plural}`

/** The URL of one object; a namespaced kind without a namespace is a programming error. */
export const object = (kind: ResourceKind, ref: { readonly name: string; readonly namespace?: string }): string => {
  if (kind.namespaced && (ref.namespace === undefined || ref.namespace === "")) {
    throw new Error(`${kind.kind} ${ref.name}: a namespace is required for a namespaced kind`)
  }
  return `${collection(kind, kind.namespaced ? ref.namespace : undefined)}/${segment(ref.name)}`
}
