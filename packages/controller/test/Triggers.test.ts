import { describe, expect, it } from "@effect/vitest"
import { Priority } from "@obol/controller/Scheduler"
import * as Triggers from "@obol/controller/Triggers"
import type * as Store from "@obol/controller/Store"
import type * as Watcher from "@obol/controller/Watcher"
import { Widget } from "./utils/kinds.ts"

const object = (name: string, metadata: Partial<Store.KubeObject["metadata"]> = {}): Store.KubeObject => ({
  metadata: { name, namespace: "ns", uid: `uid-${name}`, generation: 1, ...metadata }
})
const applied = (o: Store.KubeObject): Watcher.Event<Store.KubeObject> => ({ _tag: "Applied", object: o })
const deleted = (o: Store.KubeObject): Watcher.Event<Store.KubeObject> => ({ _tag: "Deleted", object: o })
const restarted = (...objects: Array<Store.KubeObject>): Watcher.Event<Store.KubeObject> => ({
  _tag: "Restarted",
  objects
})
const ownedBy = (name: string, controller = true) => ({
  ownerReferences: [{ apiVersion: Widget.apiVersion, kind: Widget.kind, name, uid: `uid-${name}`, controller }]
})

describe("Triggers.generationChanged", () => {
  const before = object("a", { labels: { x: "1" }, finalizers: ["f"] })
  it.each([
    ["a new object", undefined, before, true],
    ["a status-only write", before, { ...before, metadata: { ...before.metadata, resourceVersion: "9" } }, false],
    ["a new generation", before, object("a", { ...before.metadata, generation: 2 }), true],
    ["a deletion", before, object("a", { ...before.metadata, deletionTimestamp: "2026-12-01T00:00:00Z" }), true],
    ["a finalizer change", before, object("a", { ...before.metadata, finalizers: [] }), true],
    ["a label change", before, object("a", { ...before.metadata, labels: { x: "2" } }), true],
    ["a recreated object (new uid)", before, object("a", { ...before.metadata, uid: "other" }), true]
  ] as const)("%s: %s", (_name, previous, next, expected) => {
    expect(Triggers.generationChanged(previous, next)).toBe(expected)
  })
})

describe("Triggers.self", () => {
  const trigger = Triggers.self(Triggers.generationChanged)
  it("queues every object of a relist, a changed one when the predicate agrees, and nothing on deletion", () => {
    expect(trigger(restarted(object("a"), object("b")), undefined, [])).toEqual(["ns/a", "ns/b"])
    expect(trigger(applied(object("a")), undefined, [])).toEqual(["ns/a"])
    expect(trigger(applied(object("a")), object("a"), [])).toEqual([])
    expect(trigger(deleted(object("a")), object("a"), [])).toEqual([])
  })
})

describe("Triggers.owners", () => {
  const trigger = Triggers.owners(Widget)
  it("queues the controller owner of the owner kind only, also for objects a relist found gone", () => {
    expect(trigger(applied(object("child", ownedBy("a"))), undefined, [])).toEqual(["ns/a"])
    expect(trigger(deleted(object("child", ownedBy("a"))), undefined, [])).toEqual(["ns/a"])
    expect(trigger(applied(object("child", ownedBy("a", false))), undefined, [])).toEqual([])
    expect(trigger(restarted(object("c1", ownedBy("a"))), undefined, [object("c2", ownedBy("b"))])).toEqual([
      "ns/a",
      "ns/b"
    ])
  })
})

describe("Triggers.mapped", () => {
  it("queues what the mapper returns for changes, deletions and relists", () => {
    const trigger = Triggers.mapped((o) => [`ns/for-${o.metadata.name}`])
    expect(trigger(applied(object("x")), undefined, [])).toEqual(["ns/for-x"])
    expect(trigger(deleted(object("x")), undefined, [])).toEqual(["ns/for-x"])
    expect(trigger(restarted(object("x")), undefined, [object("y")])).toEqual(["ns/for-x", "ns/for-y"])
  })
})

describe("Triggers.priority", () => {
  it.each([
    ["a primary object seen for the first time", applied(object("a")), undefined, true, Priority.high],
    ["a change of a primary object already cached", applied(object("a")), object("a"), true, Priority.normal],
    ["a new object of another kind", applied(object("child", ownedBy("a"))), undefined, false, Priority.normal],
    ["a deletion", deleted(object("a")), object("a"), true, Priority.normal],
    ["a relist of the primary kind", restarted(object("a")), undefined, true, Priority.low],
    ["a relist of another kind", restarted(object("child", ownedBy("a"))), undefined, false, Priority.low]
  ] as const)("%s", (_name, event, previous, isPrimary, expected) => {
    expect(Triggers.priority(event, previous, isPrimary)).toBe(expected)
  })
})
