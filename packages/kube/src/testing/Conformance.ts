/**
 * The KubeClient conformance suite: one list of behaviours that any `KubeClient` backend must
 * show, so the in-memory FakeKube cannot drift from the real kube-apiserver unnoticed. Two runs
 * use it: `packages/kube/test/KubeClient.conformance.test.ts` (FakeKube) and
 * `test-envs/test/kube/KubeClient.integration.test.ts` (the real API server through
 * `NodeKubeClient`).
 *
 * It lives here, in `@obol/kube`, and not beside the real API server in `@obol/test-envs`,
 * because kube is the bottom layer: test-envs depends on kube, never the other way round. It
 * therefore brings its own kinds ({@link Offer}, a loose view of the ServiceOffer CRD) instead of
 * `@obol/api`'s. It needs `@effect/vitest` (an optional peer dependency of this package), so it is
 * not in the `@obol/kube/testing` barrel: import `@obol/kube/testing/Conformance` from test files.
 *
 * Assumptions: the backend serves ConfigMaps and the ServiceOffer CRD (group `obol.org`, version
 * `v1alpha1`, status subresource; the test control plane installs `deploy/crds/`, FakeKube serves
 * any kind), and every test may write to `backend.namespace()`.
 *
 * Cases the fake cannot play say so in their name and are skipped for it; the reason is in
 * FakeKube's limits list.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Queue, Schedule, Stream } from "effect"
import { ConfigMap } from "../builtin/ConfigMap.ts"
import * as KubeClient from "../KubeClient.ts"
import * as KubeError from "../KubeError.ts"
import * as ResourceKind from "../ResourceKind.ts"
import { LooseServiceOffer } from "./LooseServiceOffer.ts"

/**
 * ServiceOffer with `spec` and `status` as open records: the CRD the suite writes, seen without
 * `@obol/api`'s Schema (`LooseServiceOffer`).
 *
 * @category resources
 */
export const Offer = LooseServiceOffer

/**
 * A ServiceOffer the CRD accepts, priced per request; `extra` is merged into its metadata.
 *
 * @category constructors
 */
export const offer = (namespace: string, name: string, price = "0.001", extra: Record<string, unknown> = {}) => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "ServiceOffer",
  metadata: { name, namespace, ...extra },
  spec: {
    upstream: { service: "demo", port: 8080 },
    payment: {
      network: "base-sepolia",
      payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      price: { perRequest: price }
    }
  }
})

/**
 * A ConfigMap; `extra` is merged into its metadata.
 *
 * @category constructors
 */
export const configMap = (
  namespace: string,
  name: string,
  extra: Record<string, unknown> = {},
  data: Record<string, string> = {}
) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace, ...extra },
  data
})

/**
 * What the suite needs to know about the backend under test.
 *
 * @category models
 */
export interface Backend<R = never> {
  readonly name: string
  readonly layer: () => Layer.Layer<KubeClient.KubeClient | R>
  /**
   * Makes earlier resourceVersions unavailable to watches. The real API server keeps a bounded
   * window (its watch cache), so an early resourceVersion is already too old there; a fresh fake
   * keeps everything until told to forget.
   */
  readonly forgetHistory: Effect.Effect<void, never, R>
  readonly namespace: () => string
  /** The real API server runs the garbage collector asynchronously; the fake is synchronous. */
  readonly eventualGc: boolean
  /** A client authenticated as a ServiceAccount with no RBAC grants (real server only). */
  readonly unprivileged?: (namespace: string) => Layer.Layer<KubeClient.KubeClient>
}

const withClient = <A, E, R>(
  backend: Backend<R>,
  f: (client: KubeClient.Shape, ns: string) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function* () {
    const client = yield* KubeClient.KubeClient
    return yield* f(client, backend.namespace())
  }).pipe(Effect.provide(backend.layer()))

/** Polls until `check` returns Some, for state a real cluster reaches asynchronously. */
const eventually = <A, E>(check: Effect.Effect<Option.Option<A>, E>, what: string): Effect.Effect<A, E> =>
  check.pipe(
    Effect.repeat({ until: Option.isSome, schedule: Schedule.spaced("100 millis"), times: 300 }),
    Effect.flatMap((o) =>
      Option.isSome(o) ? Effect.succeed(o.value) : Effect.die(new Error(`timed out waiting for ${what}`))
    )
  )

const failure = <A>(effect: Effect.Effect<A, KubeError.KubeError>) => Effect.flip(effect)

/** Collects watch events (bookmarks dropped) into a queue from a forked fiber. */
const collect = <A>(stream: Stream.Stream<KubeClient.WatchEvent<A>, KubeError.KubeError>) =>
  Effect.gen(function* () {
    const queue = yield* Queue.unbounded<KubeClient.WatchEvent<A> | { type: "Failed"; error: KubeError.KubeError }>()
    const fiber = yield* stream.pipe(
      Stream.filter((e) => e.type !== "BOOKMARK"),
      Stream.runForEach((e) => Queue.offer(queue, e)),
      Effect.catch((error) => Queue.offer(queue, { type: "Failed" as const, error })),
      Effect.forkChild
    )
    const take = (n: number) =>
      Effect.gen(function* () {
        const out: Array<KubeClient.WatchEvent<A> | { type: "Failed"; error: KubeError.KubeError }> = []
        while (out.length < n) out.push(yield* Queue.take(queue))
        return out
      }).pipe(
        Effect.timeoutOrElse({
          duration: "20 seconds",
          orElse: () => Effect.die(new Error(`expected ${n} watch events`))
        })
      )
    return { take, stop: Fiber.interrupt(fiber) }
  })

const summary = (e: { type: string; object?: unknown; error?: KubeError.KubeError }) =>
  e.type === "Failed"
    ? `Failed:${e.error?.reason}`
    : `${e.type}:${(e.object as { metadata?: { name?: string } } | undefined)?.metadata?.name ?? ""}`

/**
 * Declares the suite (one `describe` block of `it.live` cases) for a backend. Call it at the top
 * level of a test file.
 *
 * @category testing
 */
export const conformance = <R>(backend: Backend<R>) =>
  describe(`KubeClient conformance (${backend.name})`, () => {
    it.live("creates, gets and lists; a watch from the list's resourceVersion sees later writes in order", () =>
      withClient(backend, (client, ns) =>
        Effect.gen(function* () {
          yield* client.create(Offer, offer(ns, "order-a"))
          yield* client.create(Offer, offer(ns, "order-b"))
          const got = yield* client.get(Offer, { namespace: ns, name: "order-a" })
          expect(got.metadata.name).toBe("order-a")
          const listed = yield* client.list(Offer, { namespace: ns, fieldSelector: "metadata.name!=order-z" })
          const names = listed.items.map((o) => o.metadata.name).filter((n) => n?.startsWith("order-"))
          expect(names).toEqual(["order-a", "order-b"])
          expect(listed.resourceVersion).not.toBe("")

          const events = yield* collect(client.watch(Offer, { namespace: ns, resourceVersion: listed.resourceVersion }))
          yield* client.create(Offer, offer(ns, "order-c"))
          yield* client.apply(Offer, offer(ns, "order-a", "0.002"), { fieldManager: "conformance", force: true })
          yield* client.delete(Offer, { namespace: ns, name: "order-b" })
          expect((yield* events.take(3)).map(summary)).toEqual(["ADDED:order-c", "MODIFIED:order-a", "DELETED:order-b"])
          yield* events.stop
        })
      )
    )

    it.live("bumps generation for spec changes only, and resourceVersion for every change", () =>
      withClient(backend, (client, ns) =>
        Effect.gen(function* () {
          const created = yield* client.create(Offer, offer(ns, "gen"))
          expect(created.metadata.generation).toBe(1)
          const labelled = yield* client.patch(
            Offer,
            { namespace: ns, name: "gen" },
            {
              type: "merge",
              patch: { metadata: { labels: { tier: "gold" } } }
            }
          )
          expect(labelled.metadata.generation).toBe(1)
          expect(labelled.metadata.resourceVersion).not.toBe(created.metadata.resourceVersion)
          const priced = yield* client.patch(
            Offer,
            { namespace: ns, name: "gen" },
            {
              type: "merge",
              patch: { spec: { payment: { price: { perRequest: "0.5" } } } }
            }
          )
          expect(priced.metadata.generation).toBe(2)
        })
      )
    )

    it.live("keeps status and spec apart through the status subresource", () =>
      withClient(backend, (client, ns) =>
        Effect.gen(function* () {
          const created = yield* client.create(Offer, { ...offer(ns, "status"), status: { phase: "Ready" } })
          expect(created.status).toBeUndefined()
          const withStatus = yield* client.applyStatus(
            Offer,
            {
              apiVersion: "obol.org/v1alpha1",
              kind: "ServiceOffer",
              metadata: { name: "status", namespace: ns },
              status: { phase: "Pending" }
            },
            { fieldManager: "conformance-status" }
          )
          expect(withStatus.status).toEqual({ phase: "Pending" })
          expect(withStatus.metadata.generation).toBe(1)
          expect(withStatus.spec).toEqual(created.spec)
          const specWrite = yield* client.apply(
            Offer,
            { ...offer(ns, "status", "0.9"), status: { phase: "Deleting" } },
            { fieldManager: "conformance", force: true }
          )
          expect(specWrite.status).toEqual({ phase: "Pending" })
          expect(specWrite.metadata.generation).toBe(2)
        })
      )
    )

    it.live("treats a repeated server-side apply as a no-op, and reports a field-owner conflict unless forced", () =>
      withClient(backend, (client, ns) =>
        Effect.gen(function* () {
          const first = yield* client.apply(Offer, offer(ns, "ssa"), { fieldManager: "owner-a" })
          const again = yield* client.apply(Offer, offer(ns, "ssa"), { fieldManager: "owner-a" })
          expect(again.metadata.resourceVersion).toBe(first.metadata.resourceVersion)

          const partial = {
            apiVersion: "obol.org/v1alpha1",
            kind: "ServiceOffer",
            metadata: { name: "ssa", namespace: ns },
            spec: { payment: { price: { perRequest: "7" } } }
          }
          const conflict = yield* failure(client.apply(Offer, partial, { fieldManager: "owner-b" }))
          expect(conflict.reason).toBe("Conflict")
          expect(conflict.message).toContain("owner-a")
          const forced = yield* client.apply(Offer, partial, { fieldManager: "owner-b", force: true })
          expect((forced.spec as any).payment.price.perRequest).toBe("7")
          expect((forced.spec as any).upstream.service).toBe("demo")
        })
      )
    )

    it.live("removes fields a manager stops applying", () =>
      withClient(backend, (client, ns) =>
        Effect.gen(function* () {
          yield* client.apply(Offer, offer(ns, "prune", "1", { labels: { a: "1", b: "2" } }), {
            fieldManager: "pruner"
          })
          const pruned = yield* client.apply(Offer, offer(ns, "prune", "1", { labels: { a: "1" } }), {
            fieldManager: "pruner"
          })
          expect(pruned.metadata.labels).toEqual({ a: "1" })
        })
      )
    )

    it.live(
      "uses a metadata.resourceVersion in an applied object as a precondition, on the object and its status",
      () =>
        withClient(backend, (client, ns) =>
          Effect.gen(function* () {
            const created = yield* client.apply(Offer, offer(ns, "locked"), { fieldManager: "locker" })
            const moved = yield* client.apply(Offer, offer(ns, "locked", "0.5"), { fieldManager: "locker" })
            const stale = {
              ...offer(ns, "locked", "0.7"),
              metadata: { name: "locked", namespace: ns, resourceVersion: created.metadata.resourceVersion }
            }
            expect((yield* failure(client.apply(Offer, stale, { fieldManager: "locker", force: true }))).reason).toBe(
              "Conflict"
            )
            const status = (resourceVersion: string | undefined) => ({
              apiVersion: "obol.org/v1alpha1",
              kind: "ServiceOffer",
              metadata: { name: "locked", namespace: ns, resourceVersion },
              status: { phase: "Ready" }
            })
            const refused = yield* failure(
              client.applyStatus(Offer, status(created.metadata.resourceVersion), {
                fieldManager: "locker",
                force: true
              })
            )
            expect(refused.reason).toBe("Conflict")
            const current = yield* client.applyStatus(Offer, status(moved.metadata.resourceVersion), {
              fieldManager: "locker",
              force: true
            })
            expect(current.status).toEqual({ phase: "Ready" })
            expect((current.spec as any).payment.price.perRequest).toBe("0.5")
          })
        )
    )

    it.live("reads, lists and watches through a metadata-only view of a kind, which keeps no spec or status", () =>
      withClient(backend, (client, ns) =>
        Effect.gen(function* () {
          const meta = ResourceKind.metadataOnly(Offer)
          const created = yield* client.create(Offer, offer(ns, "meta-a"))
          const got = yield* client.get(meta, { namespace: ns, name: "meta-a" })
          expect(got).toEqual({
            apiVersion: "obol.org/v1alpha1",
            kind: "ServiceOffer",
            metadata: expect.objectContaining({ name: "meta-a", namespace: ns, uid: created.metadata.uid })
          })
          const listed = yield* client.list(meta, { namespace: ns })
          expect(listed.items.find((o) => o.metadata.name === "meta-a")).not.toHaveProperty("spec")
          const events = yield* collect(client.watch(meta, { namespace: ns, resourceVersion: listed.resourceVersion }))
          yield* client.create(Offer, offer(ns, "meta-b"))
          const [added] = yield* events.take(1)
          expect(summary(added!)).toBe("ADDED:meta-b")
          expect(Object.keys((added as { object: object }).object).toSorted()).toEqual([
            "apiVersion",
            "kind",
            "metadata"
          ])
          yield* events.stop
        })
      )
    )

    it.live("holds a deleted object while finalizers remain and removes it with the last one", () =>
      withClient(backend, (client, ns) =>
        Effect.gen(function* () {
          yield* client.create(Offer, offer(ns, "final", "1", { finalizers: ["test.obol.org/hold"] }))
          yield* client.delete(Offer, { namespace: ns, name: "final" })
          const held = yield* client.get(Offer, { namespace: ns, name: "final" })
          expect(held.metadata.deletionTimestamp).toBeDefined()
          expect(held.metadata.finalizers).toEqual(["test.obol.org/hold"])

          const added = yield* failure(
            client.patch(
              Offer,
              { namespace: ns, name: "final" },
              {
                type: "json",
                patch: [{ op: "add", path: "/metadata/finalizers/-", value: "test.obol.org/late" }]
              }
            )
          )
          expect(added.reason).toBe("Invalid")

          const wrongTest = yield* failure(
            client.patch(
              Offer,
              { namespace: ns, name: "final" },
              {
                type: "json",
                patch: [
                  { op: "test", path: "/metadata/finalizers/0", value: "someone.else/finalizer" },
                  { op: "remove", path: "/metadata/finalizers/0" }
                ]
              }
            )
          )
          expect(wrongTest.reason).toBe("Invalid")

          yield* client.patch(
            Offer,
            { namespace: ns, name: "final" },
            {
              type: "json",
              patch: [
                { op: "test", path: "/metadata/finalizers/0", value: "test.obol.org/hold" },
                { op: "remove", path: "/metadata/finalizers/0" }
              ]
            }
          )
          const gone = yield* failure(client.get(Offer, { namespace: ns, name: "final" }))
          expect(gone.reason).toBe("NotFound")
        })
      )
    )

    it.live("lets a JSON patch test a missing path against null, and fails it once the path exists", () =>
      withClient(backend, (client, ns) =>
        Effect.gen(function* () {
          yield* client.create(ConfigMap, configMap(ns, "test-null"))
          const addFirst = (value: string) =>
            client.patch(
              ConfigMap,
              { namespace: ns, name: "test-null" },
              {
                type: "json",
                patch: [
                  { op: "test", path: "/metadata/finalizers", value: null },
                  { op: "add", path: "/metadata/finalizers", value: [value] }
                ]
              }
            )
          expect((yield* addFirst("test.obol.org/a")).metadata.finalizers).toEqual(["test.obol.org/a"])
          expect((yield* failure(addFirst("test.obol.org/b"))).reason).toBe("Invalid")
          yield* client.patch(
            ConfigMap,
            { namespace: ns, name: "test-null" },
            {
              type: "json",
              patch: [{ op: "remove", path: "/metadata/finalizers" }]
            }
          )
        })
      )
    )

    it.live("deletes dependents with their owner (background cascade)", () =>
      withClient(backend, (client, ns) =>
        Effect.gen(function* () {
          const owner = yield* client.create(Offer, offer(ns, "owner"))
          const ownerRef = {
            apiVersion: "obol.org/v1alpha1",
            kind: "ServiceOffer",
            name: "owner",
            uid: owner.metadata.uid,
            controller: true,
            blockOwnerDeletion: true
          }
          yield* client.create(ConfigMap, configMap(ns, "owned-child", { ownerReferences: [ownerRef] }))
          yield* client.delete(Offer, { namespace: ns, name: "owner" })
          yield* eventually(
            KubeError.ignoreNotFound(client.get(ConfigMap, { namespace: ns, name: "owned-child" })).pipe(
              Effect.map((o) => (Option.isNone(o) ? Option.some(true) : Option.none()))
            ),
            "the dependent ConfigMap to be collected"
          )
        })
      )
    )

    it.live("resumes a watch from a resourceVersion by replaying later changes", () =>
      withClient(backend, (client, ns) =>
        Effect.gen(function* () {
          const created = yield* client.create(ConfigMap, configMap(ns, "resume", {}, { v: "0" }))
          yield* client.patch(
            ConfigMap,
            { namespace: ns, name: "resume" },
            { type: "merge", patch: { data: { v: "1" } } }
          )
          yield* client.patch(
            ConfigMap,
            { namespace: ns, name: "resume" },
            { type: "merge", patch: { data: { v: "2" } } }
          )
          const events = yield* collect(
            client.watch(ConfigMap, {
              namespace: ns,
              fieldSelector: "metadata.name=resume",
              resourceVersion: created.metadata.resourceVersion!
            })
          )
          const replayed = yield* events.take(2)
          expect(replayed.map((e) => [e.type, (e as any).object.data.v])).toEqual([
            ["MODIFIED", "1"],
            ["MODIFIED", "2"]
          ])
          yield* events.stop
        })
      )
    )

    it.live("fails a watch from a resourceVersion that is too old with reason Gone", () =>
      withClient(backend, (client, ns) =>
        Effect.gen(function* () {
          yield* client.create(ConfigMap, configMap(ns, "old-1"))
          yield* client.create(ConfigMap, configMap(ns, "old-2"))
          yield* backend.forgetHistory
          const events = yield* collect(client.watch(ConfigMap, { namespace: ns, resourceVersion: "1" }))
          const [first] = yield* events.take(1)
          expect(first?.type === "Failed" ? first.error.reason : first?.type).toBe("Gone")
          yield* events.stop
        })
      )
    )

    it.live("pages through a list with limit and continue", () =>
      withClient(backend, (client, ns) =>
        Effect.gen(function* () {
          for (const i of [1, 2, 3, 4, 5]) {
            yield* client.create(ConfigMap, configMap(ns, `page-${i}`, { labels: { suite: "paging" } }))
          }
          const first = yield* client.list(ConfigMap, { namespace: ns, labelSelector: "suite=paging", limit: 2 })
          expect(first.items.map((c) => c.metadata.name)).toEqual(["page-1", "page-2"])
          expect(first.continue).toBeDefined()
          const second = yield* client.list(ConfigMap, {
            namespace: ns,
            labelSelector: "suite=paging",
            limit: 2,
            continue: first.continue!
          })
          expect(second.items.map((c) => c.metadata.name)).toEqual(["page-3", "page-4"])
          const all = yield* KubeClient.listAll(client, ConfigMap, {
            namespace: ns,
            labelSelector: "suite=paging",
            limit: 2
          })
          expect(all.items.map((c) => c.metadata.name)).toEqual(["page-1", "page-2", "page-3", "page-4", "page-5"])
        })
      )
    )

    it.live("filters lists and watches by label selector", () =>
      withClient(backend, (client, ns) =>
        Effect.gen(function* () {
          yield* client.create(ConfigMap, configMap(ns, "sel-web", { labels: { app: "web", tier: "front" } }))
          yield* client.create(ConfigMap, configMap(ns, "sel-db", { labels: { app: "db" } }))
          const listed = yield* client.list(ConfigMap, { namespace: ns, labelSelector: "app in (web,api),tier" })
          expect(listed.items.map((c) => c.metadata.name)).toEqual(["sel-web"])
          const events = yield* collect(
            client.watch(ConfigMap, { namespace: ns, labelSelector: "app=db", resourceVersion: listed.resourceVersion })
          )
          yield* client.patch(
            ConfigMap,
            { namespace: ns, name: "sel-web" },
            { type: "merge", patch: { data: { x: "1" } } }
          )
          yield* client.patch(
            ConfigMap,
            { namespace: ns, name: "sel-db" },
            { type: "merge", patch: { data: { x: "1" } } }
          )
          expect((yield* events.take(1)).map(summary)).toEqual(["MODIFIED:sel-db"])
          yield* events.stop
        })
      )
    )

    it.live("maps API errors to reasons: NotFound, AlreadyExists, Conflict, Invalid", () =>
      withClient(backend, (client, ns) =>
        Effect.gen(function* () {
          expect((yield* failure(client.get(Offer, { namespace: ns, name: "missing" }))).reason).toBe("NotFound")
          const made = yield* client.create(Offer, offer(ns, "errs"))
          expect((yield* failure(client.create(Offer, offer(ns, "errs")))).reason).toBe("AlreadyExists")
          yield* client.patch(
            Offer,
            { namespace: ns, name: "errs" },
            { type: "merge", patch: { metadata: { labels: { x: "1" } } } }
          )
          const stale = yield* failure(
            client.replace(Offer, { ...offer(ns, "errs"), metadata: { ...made.metadata } } as never)
          )
          expect(stale.reason).toBe("Conflict")
          const invalid = yield* failure(client.create(Offer, offer(ns, "Not_A_DNS_Name")))
          expect(invalid.reason).toBe("Invalid")
          expect(invalid.code).toBe(422)
          expect(invalid.message).toContain("metadata.name")
          expect(yield* KubeError.ignoreNotFound(client.get(Offer, { namespace: ns, name: "missing" }))).toEqual(
            Option.none()
          )
        })
      )
    )

    it.live.skipIf(backend.unprivileged === undefined)(
      "reports Forbidden to a ServiceAccount without RBAC (real API server only: the fake has no RBAC)",
      () =>
        Effect.gen(function* () {
          const client = yield* KubeClient.KubeClient
          const denied = yield* Effect.flip(client.list(ConfigMap, { namespace: backend.namespace() }))
          expect(denied.reason, denied.message).toBe("Forbidden")
          expect(denied.code).toBe(403)
        }).pipe(Effect.provide(Layer.suspend(() => backend.unprivileged!(backend.namespace()))))
    )
  })
