/**
 * A descriptor naming one Kubernetes resource type: where it lives in the API (group, version,
 * plural, scope) and which Schema decodes its objects.
 *
 * Clients build URLs from the descriptor and decode responses with its schema; the API package
 * extends it with what a CustomResourceDefinition needs. It performs no I/O.
 *
 * @since 0.1.0
 */
import type { Schema } from "effect"
import { PartialObjectMetadata } from "./ObjectMeta.ts"

/**
 * @category models
 */
export interface ResourceKind<S extends Schema.Top = Schema.Top> {
  /** API group; the empty string is the core group (`/api/v1`). */
  readonly group: string
  readonly version: string
  readonly kind: string
  /** Lower-case plural used in URLs, e.g. `serviceoffers`. */
  readonly plural: string
  readonly namespaced: boolean
  /** Whether `status` is a subresource: main-resource writes ignore it, `/status` writes only change it. */
  readonly statusSubresource: boolean
  /** `group/version`, or just `version` for the core group. */
  readonly apiVersion: string
  /** Decodes whole objects of this kind (apiVersion, kind, metadata, spec, status). */
  readonly schema: S
}

/**
 * Builds a descriptor, deriving `apiVersion` from group and version.
 *
 * @category constructors
 */
export const make = <S extends Schema.Top>(options: {
  readonly group: string
  readonly version: string
  readonly kind: string
  readonly plural: string
  readonly namespaced: boolean
  readonly statusSubresource?: boolean
  readonly schema: S
}): ResourceKind<S> => ({
  ...options,
  statusSubresource: options.statusSubresource ?? false,
  apiVersion: options.group === "" ? options.version : `${options.group}/${options.version}`
})

/**
 * The same resource, decoded to its metadata only (kube-rs's `metadata_watcher`, controller-runtime's
 * `OnlyMetadata`): spec and status are dropped as each object is decoded, so a cache of it holds
 * names, uids and timestamps, not whole objects. Reads and watches use the same URLs; only what is
 * kept differs. Writes through it would send no spec: use it to read.
 *
 * @category constructors
 */
export const metadataOnly = (kind: ResourceKind): ResourceKind<typeof PartialObjectMetadata> => ({
  ...kind,
  schema: PartialObjectMetadata
})
