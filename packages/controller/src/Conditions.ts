/**
 * Pure helpers for status conditions in `metav1.Condition` shape.
 *
 * The one rule that matters: `lastTransitionTime` changes only when `status` flips. Reason,
 * message and `observedGeneration` may change without a transition. Writing the same condition
 * again therefore yields an equal list, which lets callers skip a status write when nothing changed.
 *
 * @since 0.1.0
 */

import type * as MetaV1 from "@obol/kube/Condition"

/**
 * @category models
 */
export type Status = typeof MetaV1.ConditionStatus.Type

/**
 * A condition as our resources carry it (`@obol/kube/Condition`, the one home of its shape).
 *
 * @category models
 */
export type Condition = MetaV1.Condition

/**
 * A condition to set; the time of a transition is supplied by {@link set}.
 *
 * @category models
 */
export type Update = Omit<Condition, "lastTransitionTime">

/**
 * Sets one condition, keeping `lastTransitionTime` unless the status flips. Order is kept; a new
 * type is appended.
 *
 * @category combinators
 */
export const set = (conditions: ReadonlyArray<Condition>, update: Update, now: string): ReadonlyArray<Condition> => {
  const index = conditions.findIndex((c) => c.type === update.type)
  if (index === -1) return [...conditions, { ...update, lastTransitionTime: now }]
  const current = conditions[index]!
  const next: Condition = {
    ...update,
    lastTransitionTime: current.status === update.status ? current.lastTransitionTime : now
  }
  return conditions.map((c, i) => (i === index ? next : c))
}

/**
 * Sets several conditions in order.
 *
 * @category combinators
 */
export const setAll = (conditions: ReadonlyArray<Condition>, updates: ReadonlyArray<Update>, now: string) =>
  updates.reduce((acc, update) => set(acc, update, now), conditions)

/**
 * @category getters
 */
export const get = (conditions: ReadonlyArray<Condition> | undefined, type: string): Condition | undefined =>
  conditions?.find((c) => c.type === type)

/**
 * True when the condition is present, `True`, and computed from `generation` (when given).
 *
 * @category predicates
 */
export const isTrue = (
  conditions: ReadonlyArray<Condition> | undefined,
  type: string,
  generation?: number
): boolean => {
  const condition = get(conditions, type)
  return (
    condition !== undefined &&
    condition.status === "True" &&
    (generation === undefined ||
      condition.observedGeneration === undefined ||
      condition.observedGeneration === generation)
  )
}

/**
 * @category combinators
 */
export const remove = (conditions: ReadonlyArray<Condition>, type: string): ReadonlyArray<Condition> =>
  conditions.filter((c) => c.type !== type)

/**
 * A `Ready` condition summarizing `required` ones: True when each is True for `generation`;
 * otherwise False with the first failing condition's reason and message, or Unknown when a
 * required condition is missing.
 *
 * @category constructors
 */
export const summarize = (
  conditions: ReadonlyArray<Condition>,
  required: ReadonlyArray<string>,
  generation: number,
  type = "Ready"
): Update => {
  for (const name of required) {
    const condition = get(conditions, name)
    if (condition === undefined) {
      return {
        type,
        status: "Unknown",
        observedGeneration: generation,
        reason: "Pending",
        message: `${name} not yet evaluated`
      }
    }
    if (
      condition.status !== "True" ||
      (condition.observedGeneration !== undefined && condition.observedGeneration !== generation)
    ) {
      return {
        type,
        status: condition.status === "Unknown" ? "Unknown" : "False",
        observedGeneration: generation,
        reason: condition.reason,
        message: `${name}: ${condition.message}`
      }
    }
  }
  return { type, status: "True", observedGeneration: generation, reason: "Ready", message: "All conditions are met" }
}
