/**
 * An in-memory Kubernetes API server behind the {@link KubeClient.KubeClient} interface, for fast
 * unit tests of reconcilers. The conformance suite (`./Conformance.ts`) runs the same cases
 * against this fake and a real kube-apiserver.
 *
 * What it does:
 * - resourceVersion (one global counter) and `generation` (bumped only when something outside
 *   `metadata` and `status` changes);
 * - the status subresource for kinds that declare one: main writes keep the stored status,
 *   `/status` writes change only status;
 * - server-side apply with field managers: re-applying the same fields is a no-op (no new
 *   resourceVersion), applying a field another manager owns with a different value is a
 *   `Conflict` unless `force`, which takes ownership; fields a manager stops applying are removed
 *   when no other manager owns them; a `metadata.resourceVersion` in the applied object is a
 *   precondition (`Conflict` when it is not the stored one);
 * - finalizers and `deletionTimestamp`: delete marks, the last finalizer's removal deletes; no
 *   new finalizers once deleting;
 * - ownerReference cascade: deleting an owner deletes dependents whose owners are all gone
 *   (background) or leaves them without the reference (`Orphan`);
 * - watch from a resourceVersion (replaying retained history), `Gone` (410) for one older than the
 *   retained history, label and field selectors (objects leaving a selection are DELETED events);
 * - list with label/field selectors and `limit`/`continue` pagination;
 * - Schema validation on write (the kind's Schema stands in for the CRD's openAPIV3Schema), with
 *   defaults applied and unknown fields pruned;
 * - error and latency injection per verb, and a log of every request.
 *
 * Limits (what the real server does that this does not):
 * - every list is atomic for server-side apply (no `x-kubernetes-list-type: map`/`set` merging),
 *   so two managers applying different entries of one list conflict instead of merging;
 * - `managedFields` is a summary (manager, operation) without `fieldsV1` detail, and a write that
 *   changes only field ownership (a second manager applying identical values) keeps the
 *   resourceVersion, where the API server records the new owner with a new resourceVersion;
 * - no admission, RBAC or authentication: `Forbidden`/`Unauthorized` only by injection;
 * - no CEL rules (only what the Schema's own checks enforce, which includes our CEL twins);
 * - names are checked as DNS subdomains for every kind (some built-in kinds are stricter);
 * - namespaces need not exist, and deleting a Namespace object does not delete its contents;
 * - `Foreground` deletion deletes dependents first but does not model the `foregroundDeletion`
 *   finalizer; garbage collection is synchronous, never eventual;
 * - continue tokens are offsets into the current state, not a consistent snapshot;
 * - watch bookmarks are sent only when a test calls `bookmark()`, and `timeoutSeconds` ends the
 *   stream on the Effect clock.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Context, Duration, Effect, Layer, Queue, Schema, Stream } from "effect"
import * as KubeClient from "../KubeClient.ts"
import * as KubeError from "../KubeError.ts"
import type { ResourceKind } from "../ResourceKind.ts"
import * as InvalidObject from "../InvalidObject.ts"
import * as Fields from "../internal/fieldSet.ts"
import * as LabelSelector from "../internal/labelSelector.ts"

type JsonObject = Fields.JsonObject

/**
 * The client verbs, for injection and the request log.
 *
 * @category models
 */
export type Verb = "get" | "list" | "watch" | "create" | "apply" | "applyStatus" | "patch" | "replace" | "delete"

/**
 * One request as the fake received it.
 *
 * @category models
 */
export interface LoggedRequest {
  readonly verb: Verb
  readonly kind: string
  readonly namespace?: string
  readonly name?: string
  readonly subresource?: "status"
  readonly fieldManager?: string
  /** The patch or applied body, as sent. */
  readonly body?: unknown
}

interface Stored {
  object: JsonObject
  /** manager -> field paths it owns (keys from Fields.key), per part ("main" | "status"). */
  owners: Map<string, { operation: "Apply" | "Update"; main: Set<string>; status: Set<string> }>
}

interface HistoryEntry {
  readonly rv: number
  readonly kindKey: string
  readonly type: "ADDED" | "MODIFIED" | "DELETED"
  readonly object: JsonObject
  readonly previous: JsonObject | undefined
}

interface Watcher {
  readonly kindKey: string
  readonly namespace: string | undefined
  readonly matches: (object: JsonObject) => boolean
  readonly queue: Queue.Queue<KubeClient.WatchEvent<JsonObject>, KubeError.KubeError | Cause.Done>
}

/**
 * How to fail or slow down a verb. `times` defaults to once; `when` narrows to matching requests.
 *
 * @category models
 */
export interface Injection {
  readonly error: KubeError.KubeError
  readonly times?: number
  readonly when?: (request: LoggedRequest) => boolean
}

/**
 * The test-facing controls of the fake.
 *
 * @category models
 */
export interface Controls {
  /** Every request so far, oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<LoggedRequest>>
  readonly clearRequests: Effect.Effect<void>
  /** Make the next matching request(s) of `verb` fail with `error`. */
  readonly failNext: (verb: Verb, injection: Injection) => Effect.Effect<void>
  /** Delay every request of `verb` by `latency` (on the Effect clock, so TestClock controls it). */
  readonly setLatency: (verb: Verb, latency: Duration.Input) => Effect.Effect<void>
  /** Send a BOOKMARK with the current resourceVersion to every open watch. */
  readonly bookmark: Effect.Effect<void>
  /** Forget watch history, so a watch from any earlier resourceVersion gets `Gone`. */
  readonly compact: Effect.Effect<void>
  /** End every open watch cleanly, as a server-side timeout would. */
  readonly closeWatches: Effect.Effect<void>
  /** The current resourceVersion. */
  readonly resourceVersion: Effect.Effect<string>
}

/**
 * The fake's controls, next to the `KubeClient` it serves.
 *
 * @category services
 */
export class FakeKube extends Context.Service<FakeKube, Controls>()("@obol/kube/testing/FakeKube") {}

const kindKeyOf = (kind: ResourceKind) => `${kind.group}/${kind.plural}`
const objectKeyOf = (namespace: string | undefined, name: string) => `${namespace ?? ""}/${name}`

const metadataOf = (object: JsonObject): JsonObject => (Fields.isObject(object["metadata"]) ? object["metadata"] : {})

const labelsOf = (object: JsonObject): Record<string, string> => {
  const labels = metadataOf(object)["labels"]
  return Fields.isObject(labels) ? (labels as Record<string, string>) : {}
}

const fieldMatcher = (selector: string | undefined): ((object: JsonObject) => boolean) => {
  if (selector === undefined || selector.trim() === "") return () => true
  const terms = selector.split(",").map((term) => {
    const m = /^\s*([\w.]+)\s*(==|=|!=)\s*(.*?)\s*$/u.exec(term)
    if (m === null) throw new LabelSelector.InvalidSelector(`unable to parse field selector: ${term}`)
    const [, field, op, value] = m
    const read = (object: JsonObject) => {
      const v = Fields.getPath(object, field!.split("."))
      return typeof v === "string" ? v : v === undefined ? "" : JSON.stringify(v)
    }
    return op === "!=" ? (o: JsonObject) => read(o) !== value : (o: JsonObject) => read(o) === value
  })
  return (object) => terms.every((t) => t(object))
}

/** Everything outside metadata and status: what a change of bumps `generation`. */
const specPart = (object: JsonObject): JsonObject => {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = object
  return rest
}

/** The fields server-side apply manages in one part of an object. */
const ownedPaths = (object: JsonObject, part: "main" | "status"): Set<string> => {
  if (part === "status") {
    const status = object["status"]
    return new Set(status === undefined ? [] : Fields.leaves({ status }).map(Fields.key))
  }
  const { status: _s, apiVersion: _a, kind: _k, metadata, ...rest } = object
  const meta = Fields.isObject(metadata) ? metadata : {}
  const managedMeta: JsonObject = {}
  for (const k of ["labels", "annotations", "finalizers", "ownerReferences"]) {
    if (meta[k] !== undefined) managedMeta[k] = meta[k]!
  }
  const paths = Fields.leaves({ ...rest, ...(Object.keys(managedMeta).length > 0 ? { metadata: managedMeta } : {}) })
  return new Set(paths.map(Fields.key))
}

/**
 * With a status subresource, a write to one part cannot change the other: a main write keeps the
 * stored status, a `/status` write keeps everything but status.
 */
const confineToPart = (
  kind: ResourceKind,
  written: JsonObject,
  before: JsonObject,
  part: "main" | "status"
): JsonObject => {
  if (!kind.statusSubresource) return written
  if (part === "main") {
    const { status: _ignored, ...rest } = written
    return before["status"] === undefined ? rest : { ...rest, status: before["status"] }
  }
  const { status: _old, ...kept } = Fields.clone(before)
  return written["status"] === undefined ? kept : { ...kept, status: written["status"] }
}

const invalid = (request: string, message: string, field?: string) =>
  new KubeError.KubeError({
    reason: "Invalid",
    message,
    code: 422,
    request,
    ...(field === undefined ? {} : { causes: [{ field, message, reason: "FieldValueInvalid" }] })
  })

/**
 * Builds a fresh fake: a `KubeClient` and its {@link Controls}.
 *
 * @category constructors
 */
export const make = Effect.sync(() => {
  const store = new Map<string, Map<string, Stored>>()
  let rv = 0
  let uidCounter = 0
  let history: Array<HistoryEntry> = []
  const historyLimit = 1000
  const watchers = new Set<Watcher>()
  const log: Array<LoggedRequest> = []
  const injections = new Map<Verb, Array<{ injection: Injection; remaining: number }>>()
  const latencies = new Map<Verb, Duration.Duration>()

  const bucket = (kindKey: string) => {
    let b = store.get(kindKey)
    if (b === undefined) {
      b = new Map()
      store.set(kindKey, b)
    }
    return b
  }

  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/u, "Z"))

  const emit = (kindKey: string, type: HistoryEntry["type"], object: JsonObject, previous: JsonObject | undefined) => {
    const entry: HistoryEntry = { rv, kindKey, type, object: Fields.clone(object), previous }
    history.push(entry)
    if (history.length > historyLimit) history = history.slice(history.length - historyLimit)
    // Snapshot: waking a watcher can run code that opens another watch.
    for (const watcher of Array.from(watchers)) deliver(watcher, entry)
  }

  const deliver = (watcher: Watcher, entry: HistoryEntry) => {
    if (entry.kindKey !== watcher.kindKey) return
    const ns = metadataOf(entry.object)["namespace"]
    if (watcher.namespace !== undefined && ns !== watcher.namespace) return
    const matchesNow = watcher.matches(entry.object)
    const before = entry.previous !== undefined && watcher.matches(entry.previous)
    let type: "ADDED" | "MODIFIED" | "DELETED" | undefined
    if (entry.type === "DELETED") type = matchesNow ? "DELETED" : undefined
    else if (entry.type === "ADDED") type = matchesNow ? "ADDED" : undefined
    else type = matchesNow && before ? "MODIFIED" : matchesNow ? "ADDED" : before ? "DELETED" : undefined
    if (type !== undefined) Queue.offerUnsafe(watcher.queue, { type, object: Fields.clone(entry.object) })
  }

  /** The verb, kind and object a logged request is about. */
  const target = (verb: Verb, kind: { readonly kind: string }, namespace: string | undefined, name?: string) => ({
    verb,
    kind: kind.kind,
    ...(name === undefined ? {} : { name }),
    ...(namespace === undefined ? {} : { namespace })
  })

  const record = (request: LoggedRequest) =>
    Effect.gen(function* () {
      log.push(request)
      const latency = latencies.get(request.verb)
      if (latency !== undefined) yield* Effect.sleep(latency)
      const pending = injections.get(request.verb) ?? []
      const hit = pending.find((p) => p.remaining > 0 && (p.injection.when?.(request) ?? true))
      if (hit !== undefined) {
        hit.remaining--
        return yield* Effect.fail(hit.injection.error)
      }
    })

  const label = (verb: string, kind: ResourceKind, namespace: string | undefined, name?: string) =>
    `${verb} ${kind.kind} ${namespace === undefined ? "" : `${namespace}/`}${name ?? ""}`.trim()

  const notFound = (kind: ResourceKind, namespace: string | undefined, name: string, request: string) =>
    new KubeError.KubeError({
      reason: "NotFound",
      code: 404,
      message: `${kind.plural}${kind.group === "" ? "" : `.${kind.group}`} "${name}" not found`,
      request,
      ...(namespace === undefined ? {} : {})
    })

  /** Validates through the kind's Schema (defaults applied, unknown fields pruned) and re-encodes. */
  const normalize = (
    kind: ResourceKind,
    object: JsonObject,
    request: string
  ): Effect.Effect<JsonObject, KubeError.KubeError> =>
    Effect.gen(function* () {
      const decoded = yield* (
        Schema.decodeUnknownEffect(kind.schema)(object, { errors: "all" }) as Effect.Effect<unknown, Schema.SchemaError>
      ).pipe(
        Effect.mapError((error) => {
          const problems = InvalidObject.problemsOf((error as Schema.SchemaError).issue)
          const name = metadataOf(object)["name"]
          return new KubeError.KubeError({
            reason: "Invalid",
            code: 422,
            request,
            message: `${kind.kind} "${String(name)}" is invalid: ${problems.map((p) => `${p.path}: ${p.message}`).join(", ")}`,
            causes: problems.map((p) => ({ field: p.path, message: p.message, reason: "FieldValueInvalid" }))
          })
        })
      )
      const encoded = yield* Schema.encodeUnknownEffect(kind.schema as Schema.Codec<unknown, unknown>)(decoded).pipe(
        Effect.orDie
      )
      return encoded as JsonObject
    })

  const decodeOut = <K extends ResourceKind>(kind: K, object: JsonObject, request: string) =>
    (Schema.decodeUnknownEffect(kind.schema)(Fields.clone(object)) as Effect.Effect<unknown, Schema.SchemaError>).pipe(
      Effect.mapError((error) => KubeError.decode(request, String(error)))
    ) as Effect.Effect<K["schema"]["Type"], KubeError.KubeError>

  const summarizeManagedFields = (stored: Stored, time: string) => {
    const entries = [...stored.owners.entries()]
      .filter(([, o]) => o.main.size > 0 || o.status.size > 0)
      .flatMap(([manager, o]) => [
        ...(o.main.size > 0 ? [{ manager, operation: o.operation, time, fieldsType: "FieldsV1", fieldsV1: {} }] : []),
        ...(o.status.size > 0
          ? [{ manager, operation: o.operation, subresource: "status", time, fieldsType: "FieldsV1", fieldsV1: {} }]
          : [])
      ])
    metadataOf(stored.object)["managedFields"] = entries
  }

  /** Takes ownership for an Update-style write of the paths whose values changed. */
  const updateOwnership = (
    stored: Stored,
    before: JsonObject | undefined,
    manager: string,
    part: "main" | "status"
  ) => {
    const after = ownedPaths(stored.object, part)
    const previous = before === undefined ? new Set<string>() : ownedPaths(before, part)
    const changed = [...after].filter(
      (k) =>
        !previous.has(k) ||
        !Fields.equal(Fields.getPath(before, Fields.unkey(k)), Fields.getPath(stored.object, Fields.unkey(k)))
    )
    for (const [, o] of stored.owners) for (const k of changed) o[part].delete(k)
    let mine = stored.owners.get(manager)
    if (mine === undefined) {
      mine = { operation: "Update", main: new Set(), status: new Set() }
      stored.owners.set(manager, mine)
    }
    for (const k of changed) mine[part].add(k)
    // Paths that no longer exist are owned by no one.
    for (const [, o] of stored.owners) for (const k of Array.from(o[part])) if (!after.has(k)) o[part].delete(k)
  }

  /** Runs a mutation of `stored`, restoring object and ownership if it fails (writes are atomic). */
  const transact = <A>(stored: Stored, body: () => Effect.Effect<A, KubeError.KubeError>) => {
    const object = Fields.clone(stored.object)
    const owners = new Map(
      [...stored.owners].map(([m, o]) => [
        m,
        { operation: o.operation, main: new Set(o.main), status: new Set(o.status) }
      ])
    )
    return Effect.suspend(body).pipe(
      Effect.tapError(() =>
        Effect.sync(() => {
          stored.object = object
          stored.owners = owners
        })
      )
    )
  }

  /** Commits a new version of an existing object: rv, generation, finalizer-driven deletion. */
  const commit = (kind: ResourceKind, stored: Stored, before: JsonObject, request: string) =>
    Effect.gen(function* () {
      const meta = metadataOf(stored.object)
      const beforeMeta = metadataOf(before)
      if (beforeMeta["deletionTimestamp"] !== undefined) {
        const added = ((meta["finalizers"] ?? []) as Array<string>).filter(
          (f) => !((beforeMeta["finalizers"] ?? []) as Array<string>).includes(f)
        )
        if (added.length > 0) {
          return yield* invalid(
            request,
            `metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
            "metadata.finalizers"
          )
        }
      }
      // Identity fields are the server's.
      for (const k of [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "name",
        "namespace"
      ]) {
        if (beforeMeta[k] === undefined) delete meta[k]
        else meta[k] = beforeMeta[k]!
      }
      meta["resourceVersion"] = beforeMeta["resourceVersion"]!
      // A write that changes nothing but managedFields is a no-op, as on the API server.
      meta["managedFields"] = beforeMeta["managedFields"] ?? []
      if (Fields.equal(stored.object, before)) return stored.object
      summarizeManagedFields(stored, yield* now)
      if (!Fields.equal(specPart(stored.object), specPart(before)))
        meta["generation"] = Number(beforeMeta["generation"] ?? 1) + 1
      rv++
      meta["resourceVersion"] = String(rv)
      const kindKey = kindKeyOf(kind)
      if (meta["deletionTimestamp"] !== undefined && ((meta["finalizers"] ?? []) as Array<string>).length === 0) {
        yield* remove(kind, stored, "Background")
        return stored.object
      }
      emit(kindKey, "MODIFIED", stored.object, before)
      return stored.object
    })

  /** Removes an object for good and cascades to its dependents. */
  const remove = (
    kind: ResourceKind,
    stored: Stored,
    policy: "Foreground" | "Background" | "Orphan"
  ): Effect.Effect<void> =>
    Effect.gen(function* () {
      const meta = metadataOf(stored.object)
      const kindKey = kindKeyOf(kind)
      const uid = meta["uid"]
      if (policy === "Foreground") yield* cascade(uid, "Background")
      bucket(kindKey).delete(objectKeyOf(meta["namespace"] as string | undefined, meta["name"] as string))
      rv++
      const before = Fields.clone(stored.object)
      meta["resourceVersion"] = String(rv)
      emit(kindKey, "DELETED", stored.object, before)
      if (policy !== "Foreground") yield* cascade(uid, policy)
    })

  const kindsByKey = new Map<string, ResourceKind>()

  const cascade = (ownerUid: unknown, policy: "Background" | "Orphan"): Effect.Effect<void> =>
    Effect.gen(function* () {
      if (typeof ownerUid !== "string") return
      for (const [kindKey, objects] of store) {
        const kind = kindsByKey.get(kindKey)
        if (kind === undefined) continue
        for (const stored of Array.from(objects.values())) {
          const refs = (metadataOf(stored.object)["ownerReferences"] ?? []) as Array<{ uid: string }>
          if (!refs.some((r) => r.uid === ownerUid)) continue
          const before = Fields.clone(stored.object)
          const remaining = refs.filter((r) => r.uid !== ownerUid)
          const meta = metadataOf(stored.object)
          if (remaining.length > 0 || policy === "Orphan") {
            if (remaining.length === 0) delete meta["ownerReferences"]
            else meta["ownerReferences"] = remaining as never
            yield* commit(kind, stored, before, "garbage collector").pipe(Effect.ignore)
          } else {
            yield* markOrRemove(kind, stored, "Background")
          }
        }
      }
    })

  const markOrRemove = (kind: ResourceKind, stored: Stored, policy: "Foreground" | "Background" | "Orphan") =>
    Effect.gen(function* () {
      const meta = metadataOf(stored.object)
      const finalizers = (meta["finalizers"] ?? []) as Array<string>
      if (finalizers.length === 0) return yield* remove(kind, stored, policy)
      if (meta["deletionTimestamp"] !== undefined) return
      const before = Fields.clone(stored.object)
      meta["deletionTimestamp"] = yield* now
      meta["deletionGracePeriodSeconds"] = 0
      rv++
      meta["resourceVersion"] = String(rv)
      emit(kindKeyOf(kind), "MODIFIED", stored.object, before)
    })

  const lookup = (kind: ResourceKind, namespace: string | undefined, name: string) => {
    kindsByKey.set(kindKeyOf(kind), kind)
    return bucket(kindKeyOf(kind)).get(objectKeyOf(kind.namespaced ? namespace : undefined, name))
  }

  const requireNamespace = (kind: ResourceKind, namespace: string | undefined, request: string) =>
    kind.namespaced && (namespace === undefined || namespace === "")
      ? Effect.fail(invalid(request, "metadata.namespace: Required value", "metadata.namespace"))
      : Effect.void

  const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/u

  const insert = (kind: ResourceKind, object: JsonObject, manager: string, part: "main" | "status" | "both") =>
    Effect.gen(function* () {
      const meta = metadataOf(object)
      const name = String(meta["name"] ?? "")
      if (name.length > 253 || !dnsSubdomain.test(name)) {
        return yield* invalid(
          `CREATE ${kind.kind} ${name}`,
          `metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
          "metadata.name"
        )
      }
      object["metadata"] = meta
      rv++
      uidCounter++
      meta["uid"] = `00000000-0000-4000-8000-${uidCounter.toString(16).padStart(12, "0")}`
      meta["resourceVersion"] = String(rv)
      meta["generation"] = 1
      meta["creationTimestamp"] = yield* now
      delete meta["deletionTimestamp"]
      const stored: Stored = { object, owners: new Map() }
      const operation = part === "both" ? "Update" : "Apply"
      const owned = { operation, main: ownedPaths(object, "main"), status: ownedPaths(object, "status") } as const
      stored.owners.set(manager, {
        operation,
        main: new Set(owned.main),
        status: new Set(part === "main" ? [] : owned.status)
      })
      summarizeManagedFields(stored, meta["creationTimestamp"] as string)
      bucket(kindKeyOf(kind)).set(objectKeyOf(meta["namespace"] as string | undefined, meta["name"] as string), stored)
      emit(kindKeyOf(kind), "ADDED", object, undefined)
      return object
    })

  const get: KubeClient.Shape["get"] = (kind, ref) =>
    Effect.gen(function* () {
      const request = label("GET", kind, ref.namespace, ref.name)
      yield* record(target("get", kind, ref.namespace, ref.name))
      const stored = lookup(kind, ref.namespace, ref.name)
      if (stored === undefined) return yield* notFound(kind, ref.namespace, ref.name, request)
      return yield* decodeOut(kind, stored.object, request)
    })

  const selectors = (request: string, options: { labelSelector?: string; fieldSelector?: string }) =>
    Effect.try({
      try: () => {
        const labels = LabelSelector.parse(options.labelSelector)
        const fields = fieldMatcher(options.fieldSelector)
        return (object: JsonObject) => labels(labelsOf(object)) && fields(object)
      },
      catch: (error) =>
        new KubeError.KubeError({ reason: "BadRequest", code: 400, message: String((error as Error).message), request })
    })

  const list: KubeClient.Shape["list"] = (kind, options = {}) =>
    Effect.gen(function* () {
      const request = label("LIST", kind, options.namespace)
      yield* record(target("list", kind, options.namespace))
      kindsByKey.set(kindKeyOf(kind), kind)
      const matches = yield* selectors(request, options)
      const all = [...bucket(kindKeyOf(kind)).values()]
        .map((s) => s.object)
        .filter(
          (o) => options.namespace === undefined || !kind.namespaced || metadataOf(o)["namespace"] === options.namespace
        )
        .filter(matches)
        .toSorted((a, b) =>
          objectKeyOf(metadataOf(a)["namespace"] as string, metadataOf(a)["name"] as string).localeCompare(
            objectKeyOf(metadataOf(b)["namespace"] as string, metadataOf(b)["name"] as string)
          )
        )
      const offset =
        options.continue === undefined ? 0 : Number.parseInt(Buffer.from(options.continue, "base64url").toString(), 10)
      if (Number.isNaN(offset)) {
        return yield* new KubeError.KubeError({
          reason: "BadRequest",
          code: 400,
          message: "invalid continue token",
          request
        })
      }
      const limit = options.limit !== undefined && options.limit > 0 ? options.limit : all.length
      const page = all.slice(offset, offset + limit)
      const items = yield* Effect.forEach(page, (o) => decodeOut(kind, o, request))
      const next = offset + limit < all.length ? Buffer.from(String(offset + limit)).toString("base64url") : undefined
      return { items, resourceVersion: String(rv), ...(next === undefined ? {} : { continue: next }) }
    })

  const watch: KubeClient.Shape["watch"] = <K extends ResourceKind>(kind: K, options: KubeClient.WatchOptions = {}) =>
    Stream.unwrap(
      Effect.gen(function* () {
        const request = label("WATCH", kind, options.namespace)
        yield* record(target("watch", kind, options.namespace))
        kindsByKey.set(kindKeyOf(kind), kind)
        const matches = yield* selectors(request, options)
        const queue = yield* Queue.unbounded<KubeClient.WatchEvent<JsonObject>, KubeError.KubeError | Cause.Done>()
        const watcher: Watcher = {
          kindKey: kindKeyOf(kind),
          namespace: kind.namespaced ? options.namespace : undefined,
          matches,
          queue
        }
        const from = options.resourceVersion
        if (from === undefined || from === "" || from === "0") {
          for (const stored of bucket(kindKeyOf(kind)).values()) {
            const o = stored.object
            if (watcher.namespace !== undefined && metadataOf(o)["namespace"] !== watcher.namespace) continue
            if (matches(o)) Queue.offerUnsafe(queue, { type: "ADDED", object: Fields.clone(o) })
          }
        } else {
          const since = Number(from)
          const oldest = history.length === 0 ? rv + 1 : history[0]!.rv
          if (Number.isNaN(since) || since + 1 < oldest) {
            return Stream.fail(
              new KubeError.KubeError({
                reason: "Gone",
                code: 410,
                message: `too old resource version: ${from} (${oldest - 1})`,
                request
              })
            )
          }
          for (const entry of history) if (entry.rv > since) deliver(watcher, entry)
        }
        watchers.add(watcher)
        const events = Stream.fromQueue(queue).pipe(
          Stream.ensuring(Effect.sync(() => watchers.delete(watcher))),
          Stream.mapEffect((event): Effect.Effect<KubeClient.WatchEvent<K["schema"]["Type"]>> =>
            event.type === "BOOKMARK" || event.type === "Malformed"
              ? Effect.succeed(event)
              : decodeOut(kind, event.object, request).pipe(
                  Effect.map((object) => ({ type: event.type, object })),
                  Effect.catch((error) => Effect.succeed({ type: "Malformed" as const, error }))
                )
          )
        )
        return options.timeoutSeconds === undefined
          ? events
          : events.pipe(Stream.interruptWhen(Effect.sleep(Duration.seconds(options.timeoutSeconds))))
      })
    )

  const managerOf = (options: { fieldManager?: string } | undefined, fallback: string) =>
    options?.fieldManager ?? fallback

  const create: KubeClient.Shape["create"] = (kind, object, options = {}) =>
    Effect.gen(function* () {
      const ns = object.metadata.namespace
      const request = label("CREATE", kind, ns, object.metadata.name)
      yield* record({
        ...target("create", kind, ns, object.metadata.name),
        body: object
      })
      yield* requireNamespace(kind, ns, request)
      if (lookup(kind, ns, object.metadata.name) !== undefined) {
        return yield* new KubeError.KubeError({
          reason: "AlreadyExists",
          code: 409,
          message: `${kind.plural}${kind.group === "" ? "" : `.${kind.group}`} "${object.metadata.name}" already exists`,
          request
        })
      }
      const normalized = yield* normalize(kind, Fields.clone(object as unknown as JsonObject), request)
      if (kind.statusSubresource) delete normalized["status"]
      if (options.dryRun === true) return yield* decodeOut(kind, normalized, request)
      const inserted = yield* insert(kind, normalized, managerOf(options, "kube-fake"), "both")
      return yield* decodeOut(kind, inserted, request)
    })

  const applyPart =
    (part: "main" | "status"): KubeClient.Shape["apply"] =>
    (kind, object, options) =>
      Effect.gen(function* () {
        const ns = object.metadata.namespace
        const request = label(part === "main" ? "APPLY" : "APPLY STATUS", kind, ns, object.metadata.name)
        yield* record({
          ...target(part === "main" ? "apply" : "applyStatus", kind, ns, object.metadata.name),
          ...(part === "status" ? { subresource: "status" as const } : {}),
          fieldManager: options.fieldManager,
          body: object
        })
        yield* requireNamespace(kind, ns, request)
        const applied = Fields.clone(object as unknown as JsonObject)
        const usePart: "main" | "status" = kind.statusSubresource ? part : "main"
        if (usePart === "main" && kind.statusSubresource) delete applied["status"]
        const stored = lookup(kind, ns, object.metadata.name)
        if (stored === undefined) {
          if (part === "status") return yield* notFound(kind, ns, object.metadata.name, request)
          const normalized = yield* normalize(kind, applied, request)
          if (kind.statusSubresource) delete normalized["status"]
          if (options.dryRun === true) return yield* decodeOut(kind, normalized, request)
          const inserted = yield* insert(kind, normalized, options.fieldManager, "main")
          return yield* decodeOut(kind, inserted, request)
        }
        // A resourceVersion in the applied object is an optimistic lock, as on the API server;
        // it is a precondition, never a field anyone owns.
        const appliedMeta = metadataOf(applied)
        const rvGiven = appliedMeta["resourceVersion"]
        delete appliedMeta["resourceVersion"]
        if (rvGiven !== undefined && rvGiven !== metadataOf(stored.object)["resourceVersion"]) {
          return yield* conflictError(kind, object.metadata.name, request)
        }
        const appliedPaths = ownedPaths(applied, usePart)
        const conflicts: Array<string> = []
        for (const [manager, owned] of stored.owners) {
          if (manager === options.fieldManager) continue
          for (const k of owned[usePart]) {
            if (!appliedPaths.has(k)) continue
            const path = Fields.unkey(k)
            if (!Fields.equal(Fields.getPath(stored.object, path), Fields.getPath(applied, path))) {
              conflicts.push(`conflict with "${manager}": .${path.join(".")}`)
            }
          }
        }
        if (conflicts.length > 0 && options.force !== true) {
          return yield* new KubeError.KubeError({
            reason: "Conflict",
            code: 409,
            request,
            message: `Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? "" : "s"}: ${conflicts.join(", ")}`
          })
        }
        const before = Fields.clone(stored.object)
        const next = Fields.clone(stored.object)
        const mine = stored.owners.get(options.fieldManager)?.[usePart] ?? new Set<string>()
        const ownedByOthers = new Set(
          [...stored.owners].filter(([m]) => m !== options.fieldManager).flatMap(([, o]) => [...o[usePart]])
        )
        for (const k of mine) {
          if (!appliedPaths.has(k) && !ownedByOthers.has(k)) Fields.deletePath(next, Fields.unkey(k))
        }
        for (const k of appliedPaths) {
          const path = Fields.unkey(k)
          Fields.setPath(next, path, Fields.getPath(applied, path) ?? null)
        }
        const normalized = confineToPart(kind, yield* normalize(kind, next, request), before, usePart)
        if (options.dryRun === true) return yield* decodeOut(kind, normalized, request)
        const committed = yield* transact(stored, () => {
          // Ownership: forced fields move to us; we own exactly what we applied.
          for (const [manager, owned] of stored.owners) {
            if (manager !== options.fieldManager) for (const k of appliedPaths) owned[usePart].delete(k)
          }
          const entry = stored.owners.get(options.fieldManager) ?? {
            operation: "Apply" as const,
            main: new Set<string>(),
            status: new Set<string>()
          }
          entry.operation = "Apply"
          entry[usePart] = new Set(appliedPaths)
          stored.owners.set(options.fieldManager, entry)
          stored.object = normalized
          return commit(kind, stored, before, request)
        })
        return yield* decodeOut(kind, committed, request)
      })

  const patch: KubeClient.Shape["patch"] = (kind, ref, patchDoc, options = {}) =>
    Effect.gen(function* () {
      const request = label("PATCH", kind, ref.namespace, ref.name)
      yield* record({
        ...target("patch", kind, ref.namespace, ref.name),
        ...(options.subresource === undefined ? {} : { subresource: options.subresource }),
        body: patchDoc
      })
      const stored = lookup(kind, ref.namespace, ref.name)
      if (stored === undefined) return yield* notFound(kind, ref.namespace, ref.name, request)
      const before = Fields.clone(stored.object)
      const patched = yield* Effect.try({
        try: () =>
          patchDoc.type === "merge"
            ? Fields.mergePatch(stored.object, patchDoc.patch as Fields.Json)
            : Fields.jsonPatch(stored.object, patchDoc.patch),
        catch: (error) =>
          invalid(
            request,
            `the server rejected our request due to an error in our request: ${(error as Error).message}`
          )
      })
      if (!Fields.isObject(patched)) return yield* invalid(request, "patch result is not an object")
      const part: "main" | "status" = options.subresource === "status" && kind.statusSubresource ? "status" : "main"
      const normalized = confineToPart(kind, yield* normalize(kind, patched, request), before, part)
      const rvGiven = metadataOf(patched)["resourceVersion"]
      if (rvGiven !== undefined && rvGiven !== metadataOf(before)["resourceVersion"]) {
        return yield* conflictError(kind, ref.name, request)
      }
      if (options.dryRun === true) return yield* decodeOut(kind, normalized, request)
      const committed = yield* transact(stored, () => {
        stored.object = normalized
        updateOwnership(stored, before, managerOf(options, "kube-fake"), part)
        return commit(kind, stored, before, request)
      })
      return yield* decodeOut(kind, committed, request)
    })

  const conflictError = (kind: ResourceKind, name: string, request: string) =>
    new KubeError.KubeError({
      reason: "Conflict",
      code: 409,
      request,
      message: `Operation cannot be fulfilled on ${kind.plural}${kind.group === "" ? "" : `.${kind.group}`} "${name}": the object has been modified; please apply your changes to the latest version and try again`
    })

  const replace: KubeClient.Shape["replace"] = (kind, object, options = {}) =>
    Effect.gen(function* () {
      const ns = object.metadata.namespace
      const request = label("REPLACE", kind, ns, object.metadata.name)
      yield* record({
        ...target("replace", kind, ns, object.metadata.name),
        ...(options.subresource === undefined ? {} : { subresource: options.subresource }),
        body: object
      })
      const stored = lookup(kind, ns, object.metadata.name)
      if (stored === undefined) return yield* notFound(kind, ns, object.metadata.name, request)
      const given = object.metadata["resourceVersion"]
      if (given === undefined || given === "") {
        return yield* invalid(
          request,
          "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
          "metadata.resourceVersion"
        )
      }
      if (given !== metadataOf(stored.object)["resourceVersion"])
        return yield* conflictError(kind, object.metadata.name, request)
      const before = Fields.clone(stored.object)
      const part: "main" | "status" = options.subresource === "status" && kind.statusSubresource ? "status" : "main"
      const normalized = confineToPart(
        kind,
        yield* normalize(kind, Fields.clone(object as unknown as JsonObject), request),
        before,
        part
      )
      if (options.dryRun === true) return yield* decodeOut(kind, normalized, request)
      const committed = yield* transact(stored, () => {
        stored.object = normalized
        updateOwnership(stored, before, managerOf(options, "kube-fake"), part)
        return commit(kind, stored, before, request)
      })
      return yield* decodeOut(kind, committed, request)
    })

  const del: KubeClient.Shape["delete"] = (kind, ref, options = {}) =>
    Effect.gen(function* () {
      const request = label("DELETE", kind, ref.namespace, ref.name)
      yield* record(target("delete", kind, ref.namespace, ref.name))
      const stored = lookup(kind, ref.namespace, ref.name)
      if (stored === undefined) return yield* notFound(kind, ref.namespace, ref.name, request)
      const meta = metadataOf(stored.object)
      const pre = options.preconditions
      if (pre?.uid !== undefined && pre.uid !== meta["uid"]) {
        return yield* new KubeError.KubeError({
          reason: "Conflict",
          code: 409,
          request,
          message: `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(meta["uid"])}`
        })
      }
      if (pre?.resourceVersion !== undefined && pre.resourceVersion !== meta["resourceVersion"]) {
        return yield* new KubeError.KubeError({
          reason: "Conflict",
          code: 409,
          request,
          message: `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${String(meta["resourceVersion"])}`
        })
      }
      if (options.dryRun === true) return
      yield* markOrRemove(kind, stored, options.propagationPolicy ?? "Background")
    })

  const client = KubeClient.KubeClient.of({
    get,
    list,
    watch,
    create,
    apply: applyPart("main"),
    applyStatus: applyPart("status"),
    patch,
    replace,
    delete: del
  })

  const controls = FakeKube.of({
    requests: Effect.sync(() => [...log]),
    clearRequests: Effect.sync(() => {
      log.length = 0
    }),
    failNext: (verb, injection) =>
      Effect.sync(() => {
        const pending = injections.get(verb) ?? []
        pending.push({ injection, remaining: injection.times ?? 1 })
        injections.set(verb, pending)
      }),
    setLatency: (verb, latency) => Effect.sync(() => latencies.set(verb, Duration.fromInputUnsafe(latency))),
    bookmark: Effect.sync(() => {
      for (const watcher of watchers)
        Queue.offerUnsafe(watcher.queue, { type: "BOOKMARK", resourceVersion: String(rv) })
    }),
    compact: Effect.sync(() => {
      history = []
    }),
    closeWatches: Effect.sync(() => {
      const open = [...watchers]
      watchers.clear()
      for (const watcher of open) Queue.endUnsafe(watcher.queue)
    }),
    resourceVersion: Effect.sync(() => String(rv))
  })

  return { client, controls }
})

/**
 * A fresh fake per layer build: `KubeClient` plus its {@link FakeKube} controls.
 *
 * @category layers
 */
export const layer: Layer.Layer<KubeClient.KubeClient | FakeKube> = Layer.effectContext(
  Effect.map(make, ({ client, controls }) =>
    Context.make(KubeClient.KubeClient, client).pipe(Context.add(FakeKube, controls))
  )
)
