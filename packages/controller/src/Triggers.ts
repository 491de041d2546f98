/**
 * Triggers: which primary keys a watch event queues. A controller follows each kind it watches
 * with one trigger: `self` for the primary kind (filtered by a predicate), `owners` for the kinds
 * it owns (their controller owner), `mapped` for any other kind (a function to keys). Each is a
 * pure function of the event, the object's previous cached state, and the objects a relist found
 * missing; the controller feeds the stores and applies the echo and freshness rules around them.
 *
 * It does not read the API, schedule anything or decide whether an event is our own write's echo
 * (`Echoes`): it only names keys, and (`priority`) how urgently they should run.
 *
 * @since 0.1.0
 */
import type { ResourceKind } from "@obol/kube/ResourceKind"
import { Priority } from "./Scheduler.ts"
import * as Store from "./Store.ts"
import type * as Watcher from "./Watcher.ts"

/**
 * The keys one event of a followed kind queues. `previous` is the cached object before the event
 * (undefined for one not seen before); `vanished` are the objects a relist no longer has.
 *
 * @category models
 */
export type Trigger = (
  event: Watcher.Event<Store.KubeObject>,
  previous: Store.KubeObject | undefined,
  vanished: ReadonlyArray<Store.KubeObject>
) => ReadonlyArray<Store.Key>

/**
 * A predicate on a primary object's change: does it deserve a reconcile?
 *
 * @category models
 */
export type Predicate = (previous: Store.KubeObject | undefined, next: Store.KubeObject) => boolean

const sameStrings = (a: ReadonlyArray<string> | undefined, b: ReadonlyArray<string> | undefined) =>
  (a ?? []).length === (b ?? []).length && (a ?? []).every((x, i) => x === b?.[i])

const sameLabels = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) => {
  const ka = Object.keys(a ?? {})
  return ka.length === Object.keys(b ?? {}).length && ka.every((k) => a?.[k] === b?.[k])
}

/**
 * The default predicate: a new object, or a change of generation, deletion timestamp, finalizers,
 * labels or uid. Status-only writes (ours included) do not queue.
 *
 * @category predicates
 */
export const generationChanged: Predicate = (previous, next) => {
  if (previous === undefined) return true
  const a = previous.metadata
  const b = next.metadata
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    !sameStrings(a.finalizers, b.finalizers) ||
    !sameLabels(a.labels, b.labels) ||
    a.uid !== b.uid
  )
}

/**
 * The primary kind: every object of a (re)list, and a changed object when `predicate` says so.
 * A deletion queues nothing: the object is gone, and so is the work.
 *
 * @category constructors
 */
export const self =
  (predicate: Predicate): Trigger =>
  (event, previous) => {
    switch (event._tag) {
      case "Restarted":
        return event.objects.map(Store.keyOf)
      case "Applied":
        return predicate(previous, event.object) ? [Store.keyOf(event.object)] : []
      default:
        return []
    }
  }

/**
 * A related kind: the keys `map` gives for every object of a relist and those it no longer has
 * (deleted while no watch was open), and for each changed or deleted object.
 *
 * @category constructors
 */
export const mapped =
  (map: (object: Store.KubeObject) => ReadonlyArray<Store.Key>): Trigger =>
  (event, _previous, vanished) => {
    switch (event._tag) {
      case "Restarted":
        return [...event.objects, ...vanished].flatMap(map)
      case "Applied":
      case "Deleted":
        return map(event.object)
      default:
        return []
    }
  }

/**
 * Maps an object to the keys of its controller owners of `owner` kind (same namespace).
 *
 * @category constructors
 */
export const controllerOwnerKeys =
  (owner: ResourceKind) =>
  (object: Store.KubeObject): ReadonlyArray<Store.Key> =>
    (object.metadata.ownerReferences ?? [])
      .filter((ref) => ref.controller === true && ref.kind === owner.kind && ref.apiVersion === owner.apiVersion)
      .map((ref) => Store.key({ namespace: object.metadata.namespace, name: ref.name }))

/**
 * An owned kind: the controller owner of `owner` kind of each object (`mapped` over
 * {@link controllerOwnerKeys}).
 *
 * @category constructors
 */
export const owners = (owner: ResourceKind): Trigger => mapped(controllerOwnerKeys(owner))

/**
 * How urgently the keys an event names should run, once due:
 * - `high`: a primary object seen for the first time outside a relist. Its first pass is what a
 *   user waits for (for a ServiceOffer, the payment gate), so it goes ahead of the later passes of
 *   objects already being worked on; in a burst of creates every new object gets its first pass
 *   before any of them gets its second.
 * - `low`: the keys of a relist (start-up, or a watch that had to list again). They have been
 *   worked on before or are about to be in bulk, and must not hold up changes that arrive
 *   meanwhile (controller-runtime gives its initial list the same low priority).
 * - `normal`: everything else (changes, owned and mapped objects, deletions).
 *
 * The cost: while new objects arrive faster than the workers take their first passes, the later
 * passes of everyone else wait (first passes should be short: the ServiceOffer controller's is one
 * write). The wait ends with the burst; nothing waits forever unless creation never pauses.
 *
 * @category priorities
 */
export const priority = (
  event: Watcher.Event<Store.KubeObject>,
  previous: Store.KubeObject | undefined,
  isPrimary: boolean
): Priority => {
  switch (event._tag) {
    case "Restarted":
      return Priority.low
    case "Applied":
      return isPrimary && previous === undefined ? Priority.high : Priority.normal
    default:
      return Priority.normal
  }
}
