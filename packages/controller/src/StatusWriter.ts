/**
 * The one way a reconciler writes an object's status: a server-side apply of the whole status it
 * computed, sent only when that differs from the status it read (key order aside, `Canonical`).
 * A steady object then costs no request, and a status write never echoes back as a change.
 *
 * Contract: `status` is the whole status this field manager owns (server-side apply removes what
 * it leaves out that it set before); `object` is the object as read, whose status is compared. It
 * does not merge, retry or decide anything; conflicts and errors are the caller's.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as KubeClient from "@obol/kube/KubeClient"
import type { ResourceKind } from "@obol/kube/ResourceKind"
import * as Canonical from "./Canonical.ts"

/**
 * The parts of the object read that a status write needs.
 *
 * @category models
 */
export interface Read {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: { readonly name?: string | undefined; readonly namespace?: string | undefined }
  readonly status?: unknown
}

/**
 * Applies `status` to `object` (as `fieldManager`, forcing ownership) unless `object` already has
 * exactly that status. Succeeds with whether it wrote.
 *
 * @category constructors
 */
export const applyIfChanged = Effect.fn("StatusWriter.applyIfChanged")(function* <K extends ResourceKind>(
  kind: K,
  object: Read,
  status: object,
  fieldManager: string
) {
  if (Canonical.equals(status, object.status ?? {})) return false
  const client = yield* KubeClient.KubeClient
  yield* client.applyStatus(
    kind,
    {
      apiVersion: object.apiVersion,
      kind: object.kind,
      metadata: {
        name: object.metadata.name ?? "",
        ...(object.metadata.namespace === undefined ? {} : { namespace: object.metadata.namespace })
      },
      status
    },
    { fieldManager, force: true }
  )
  return true
})
