import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Scope, Stream } from "effect"
import * as Informers from "@obol/controller/Informers"
import * as Reflector from "@obol/controller/Reflector"
import * as ResourceKind from "@obol/kube/ResourceKind"
import * as KubeClient from "@obol/kube/KubeClient"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import { Widget, widget } from "./utils/kinds.ts"
import * as Idle from "@obol/controller/testing/Idle"

const settle = Idle.quiesce

const widgetRequests = (verb: "list" | "watch") =>
  FakeKube.FakeKube.use((fake) => fake.requests).pipe(
    Effect.map((requests) => requests.filter((r) => r.verb === verb && r.kind === "Widget").length)
  )

/** Runs a subscription in the background and returns what it has received so far. */
const record = <A extends { readonly metadata: { readonly name?: string | undefined } }>(
  changes: Stream.Stream<Reflector.Change<A>>
) =>
  Effect.gen(function* () {
    const seen: Array<string> = []
    yield* changes.pipe(
      Stream.runForEach((change) =>
        Effect.sync(() => {
          if (change._tag === "Restarted")
            seen.push(`Restarted:${change.objects.map((o) => o.metadata.name).join(",")}`)
          if (change._tag === "Applied") seen.push(`Applied:${change.object.metadata.name}`)
          if (change._tag === "Deleted") seen.push(`Deleted:${change.object.metadata.name}`)
        })
      ),
      Effect.forkScoped
    )
    return seen
  })

/** The process's informers over a fresh fake API server, with the idle signal `settle` waits on. */
const provide = <A, E>(effect: Effect.Effect<A, E, Informers.Informers | KubeClient.KubeClient | FakeKube.FakeKube>) =>
  effect.pipe(
    Effect.provide(Informers.Informers.layer.pipe(Layer.provideMerge(Layer.fresh(FakeKube.layer)))),
    Idle.provide
  )

describe("Informers", () => {
  it.effect("gives two readers of one kind one list, one watch and one store", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const informers = yield* Informers.Informers
      yield* client.create(Widget, widget("a"))
      const first = yield* informers.informer(Widget, { namespace: "ns" })
      const second = yield* informers.informer(Widget, { namespace: "ns" })
      const one = yield* record(first.changes)
      const two = yield* record(second.changes)
      yield* settle
      yield* client.create(Widget, widget("b"))
      yield* settle
      expect(first.store).toBe(second.store)
      expect(one).toEqual(["Restarted:a", "Applied:b"])
      expect(two).toEqual(["Restarted:a", "Applied:b"])
      expect(yield* widgetRequests("list")).toBe(1)
      expect(yield* widgetRequests("watch")).toBe(1)
    }).pipe(Effect.scoped, provide)
  )

  it.effect("starts a reader that arrives after the first list with the store's contents, then the changes", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const informers = yield* Informers.Informers
      yield* client.create(Widget, widget("a"))
      const informer = yield* informers.informer(Widget, { namespace: "ns" })
      yield* informer.store.waitUntilReady
      yield* client.create(Widget, widget("b"))
      yield* settle
      const late = yield* record(informer.changes)
      yield* client.delete(Widget, { namespace: "ns", name: "a" })
      yield* settle
      expect(late).toEqual(["Restarted:a,b", "Deleted:a"])
    }).pipe(Effect.scoped, provide)
  )

  it.effect("keeps watching after a reader's scope closes, so the next reader finds the cache warm", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const informers = yield* Informers.Informers
      yield* client.create(Widget, widget("a"))
      // A leader-only controller that stops when leadership is lost.
      yield* Effect.gen(function* () {
        const informer = yield* informers.informer(Widget, { namespace: "ns" })
        yield* record(informer.changes)
        yield* informer.store.waitUntilReady
      }).pipe(Effect.scoped)
      yield* client.create(Widget, widget("b"))
      yield* settle
      const again = yield* informers.informer(Widget, { namespace: "ns" })
      expect(again.store.isReady()).toBe(true)
      expect(again.store.size()).toBe(2)
      expect(yield* widgetRequests("list")).toBe(1)
    }).pipe(Effect.scoped, provide)
  )

  it.effect("gives a different selection its own watch and store", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const informers = yield* Informers.Informers
      yield* client.create(Widget, widget("a", 1, { labels: { tier: "paid" } }))
      yield* client.create(Widget, widget("b"))
      const all = yield* informers.informer(Widget, { namespace: "ns" })
      const paid = yield* informers.informer(Widget, { labelSelector: "tier=paid", namespace: "ns" })
      // Equal options in another order are the same selection.
      const paidAgain = yield* informers.informer(Widget, { namespace: "ns", labelSelector: "tier=paid" })
      yield* all.store.waitUntilReady
      yield* paid.store.waitUntilReady
      expect(paidAgain.store).toBe(paid.store)
      expect(all.store.size()).toBe(2)
      expect(paid.store.list().map((w) => w.metadata.name)).toEqual(["a"])
      expect(yield* widgetRequests("list")).toBe(2)
    }).pipe(Effect.scoped, provide)
  )

  it.effect("adds the indexes a later reader asks for over the objects already cached", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const informers = yield* Informers.Informers
      yield* client.create(Widget, widget("a", 3))
      const plain = yield* informers.informer(Widget, { namespace: "ns" })
      yield* plain.store.waitUntilReady
      const indexed = yield* informers.informer(Widget, { namespace: "ns" }, { bySize: (w) => [String(w.spec.size)] })
      expect(indexed.store.byIndex("bySize", "3").map((w) => w.metadata.name)).toEqual(["a"])
      expect(Option.isSome(plain.store.get("ns/a"))).toBe(true)
    }).pipe(Effect.scoped, provide)
  )

  it.effect("runs private informers for the current scope when the process provides none", () =>
    Idle.provide(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        yield* client.create(Widget, widget("a"))
        const scope = yield* Scope.make()
        const informers = yield* Informers.current.pipe(Scope.provide(scope))
        const informer = yield* informers.informer(Widget, { namespace: "ns" })
        yield* informer.store.waitUntilReady
        yield* Scope.close(scope, Exit.void)
        yield* client.create(Widget, widget("b"))
        yield* settle
        // Its watch stopped with the scope: the store no longer follows.
        expect(informer.store.size()).toBe(1)
      }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
    )
  )

  it.effect("gives two first callers at once one watch, and a metadata-only view of a kind its own", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const informers = yield* Informers.Informers
      yield* client.create(Widget, widget("a"))
      const [one, two] = yield* Effect.all(
        [informers.informer(Widget, { namespace: "ns" }), informers.informer(Widget, { namespace: "ns" })],
        { concurrency: "unbounded" }
      )
      const meta = yield* informers.informer(ResourceKind.metadataOnly(Widget), { namespace: "ns" })
      yield* settle
      expect(one.store).toBe(two.store)
      expect(meta.store).not.toBe(one.store)
      expect(Option.getOrThrow(one.store.get("ns/a")).spec.size).toBe(1)
      expect("spec" in Option.getOrThrow(meta.store.get("ns/a"))).toBe(false)
      expect(yield* widgetRequests("list")).toBe(2)
    }).pipe(Effect.scoped, provide)
  )

  it.effect("says for good that an informer stopped on a defect, instead of looking ready with a frozen store", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const informers = yield* Informers.Informers
      yield* client.create(Widget, widget("a"))
      const informer = yield* informers.informer(
        Widget,
        { namespace: "ns" },
        {
          bySize: (w) => {
            if (w.spec.size > 100) throw new Error("an index that cannot take it")
            return [String(w.spec.size)]
          }
        }
      )
      yield* settle
      expect(informer.error()).toBeUndefined()
      yield* client.create(Widget, widget("b", 101))
      yield* settle
      expect(informer.error()?.message).toContain("the Widget informer stopped")
      expect(Reflector.readiness([informer])()).toMatchObject({ ready: false })
    }).pipe(Effect.scoped, provide)
  )
})
