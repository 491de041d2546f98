/**
 * The Kubernetes API as an Effect service: typed reads (decoded with each kind's Schema), writes
 * including server-side apply, JSON/merge patches with preconditions, and watches as a `Stream`.
 * Every failure is a {@link KubeError.KubeError} with a `reason`.
 *
 * Two implementations share this interface: {@link layer} (HTTP over Effect's `HttpClient`, one
 * pooled connection; see `NodeKubeClient` for the Node wiring) and `@obol/kube/testing`'s
 * `FakeKube` (in memory). One conformance suite holds both to the same behaviour.
 *
 * This module knows nothing of caches, queues or controllers (`@obol/controller` builds those on
 * top of `list` and `watch`).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Schema, Stream } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import type { HttpClientResponse } from "effect/http"
import * as InvalidObject from "./InvalidObject.ts"
import * as KubeConfig from "./KubeConfig.ts"
import * as KubeError from "./KubeError.ts"
import type { ResourceKind } from "./ResourceKind.ts"
import * as ResourcePath from "./internal/resourcePath.ts"

/**
 * Names one object. `namespace` is required for namespaced kinds.
 *
 * @category models
 */
export interface ObjectRef {
  readonly name: string
  readonly namespace?: string
}

/**
 * @category models
 */
export interface ListOptions {
  /** Omit to list across all namespaces (namespaced kinds). */
  readonly namespace?: string
  readonly labelSelector?: string
  readonly fieldSelector?: string
  /** Page size; `list` returns one page, `listAll` follows `continue` tokens. */
  readonly limit?: number
  readonly continue?: string
  /** `""`/absent: most recent (quorum read); `"0"`: any (from the watch cache). */
  readonly resourceVersion?: string
}

/**
 * @category models
 */
export interface ListResult<A> {
  readonly items: ReadonlyArray<A>
  /** The collection's resourceVersion: start a watch from here to see every later change. */
  readonly resourceVersion: string
  /** Present when more pages remain. */
  readonly continue?: string
}

/**
 * @category models
 */
export interface WatchOptions {
  readonly namespace?: string
  readonly labelSelector?: string
  readonly fieldSelector?: string
  /** Start after this resourceVersion. A too-old one fails the stream with reason `Gone`. */
  readonly resourceVersion?: string
  /** Server-side timeout: the server ends the stream after this many seconds. */
  readonly timeoutSeconds?: number
  /** Ask for BOOKMARK events carrying fresh resourceVersions. Default true. */
  readonly allowWatchBookmarks?: boolean
}

/**
 * One watch event. `Malformed` carries a line or object that could not be decoded; it does not end
 * the stream, so one bad object never blinds a watcher to the others.
 *
 * @category models
 */
export type WatchEvent<A> =
  | { readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: A }
  | { readonly type: "BOOKMARK"; readonly resourceVersion: string }
  | { readonly type: "Malformed"; readonly error: KubeError.KubeError }

/**
 * An object to create or apply. It is sent as given (encoded form), so it may be partial for
 * server-side apply: leave out every field you do not own.
 *
 * It is untyped beyond its identity, so generic writers (any kind) can use it. For a kind known
 * statically, build the object with `ApplyConfiguration.make` or write it with
 * `ApplyConfiguration.apply`/`applyStatus`: a misspelt field then fails the typecheck.
 *
 * @category models
 */
export interface Manifest {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown }
  readonly [key: string]: unknown
}

/**
 * @category models
 */
export interface ApplyOptions {
  /** Our field manager; fields we stop sending are removed if no one else owns them. */
  readonly fieldManager: string
  /** Take ownership of fields another manager owns instead of failing with `Conflict`. */
  readonly force?: boolean
  readonly dryRun?: boolean
}

/**
 * A patch document. JSON patch supports `test` operations, which make the patch conditional
 * (e.g. remove a finalizer only if it is still at index 2).
 *
 * @category models
 */
export type Patch =
  | { readonly type: "merge"; readonly patch: unknown }
  | {
      readonly type: "json"
      readonly patch: ReadonlyArray<{
        readonly op: string
        readonly path: string
        readonly value?: unknown
        readonly from?: string
      }>
    }

/**
 * @category models
 */
export interface DeleteOptions {
  readonly propagationPolicy?: "Foreground" | "Background" | "Orphan"
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string }
  readonly gracePeriodSeconds?: number
  readonly dryRun?: boolean
}

/**
 * @category models
 */
export interface WriteOptions {
  readonly fieldManager?: string
  readonly dryRun?: boolean
  /** Write the status subresource instead of the main resource. */
  readonly subresource?: "status"
}

type Decoded<K extends ResourceKind> = K["schema"]["Type"]

/**
 * @category models
 */
export interface Shape {
  readonly get: <K extends ResourceKind>(kind: K, ref: ObjectRef) => Effect.Effect<Decoded<K>, KubeError.KubeError>
  readonly list: <K extends ResourceKind>(
    kind: K,
    options?: ListOptions
  ) => Effect.Effect<ListResult<Decoded<K>>, KubeError.KubeError>
  readonly watch: <K extends ResourceKind>(
    kind: K,
    options?: WatchOptions
  ) => Stream.Stream<WatchEvent<Decoded<K>>, KubeError.KubeError>
  readonly create: <K extends ResourceKind>(
    kind: K,
    object: Manifest,
    options?: WriteOptions
  ) => Effect.Effect<Decoded<K>, KubeError.KubeError>
  /** Server-side apply of the main resource (spec, metadata). */
  readonly apply: <K extends ResourceKind>(
    kind: K,
    object: Manifest,
    options: ApplyOptions
  ) => Effect.Effect<Decoded<K>, KubeError.KubeError>
  /** Server-side apply of the status subresource. */
  readonly applyStatus: <K extends ResourceKind>(
    kind: K,
    object: Manifest,
    options: ApplyOptions
  ) => Effect.Effect<Decoded<K>, KubeError.KubeError>
  readonly patch: <K extends ResourceKind>(
    kind: K,
    ref: ObjectRef,
    patch: Patch,
    options?: WriteOptions
  ) => Effect.Effect<Decoded<K>, KubeError.KubeError>
  /** Full update; `metadata.resourceVersion` in the object makes it conditional. */
  readonly replace: <K extends ResourceKind>(
    kind: K,
    object: Manifest,
    options?: WriteOptions
  ) => Effect.Effect<Decoded<K>, KubeError.KubeError>
  /** Deletes (or marks for deletion when finalizers remain). `NotFound` if it is already gone. */
  readonly delete: <K extends ResourceKind>(
    kind: K,
    ref: ObjectRef,
    options?: DeleteOptions
  ) => Effect.Effect<void, KubeError.KubeError>
}

/**
 * @category services
 */
export class KubeClient extends Context.Service<KubeClient, Shape>()("@obol/kube/KubeClient") {}

/**
 * Every page of a list, following `continue` tokens. The result's resourceVersion is the last
 * page's (the consistent snapshot all pages belong to).
 *
 * @category combinators
 */
export const listAll = <K extends ResourceKind>(
  client: Shape,
  kind: K,
  options: ListOptions = {}
): Effect.Effect<ListResult<Decoded<K>>, KubeError.KubeError> =>
  Effect.gen(function* () {
    const items: Array<Decoded<K>> = []
    let token: string | undefined = options.continue
    for (;;) {
      const page: ListResult<Decoded<K>> = yield* client.list(kind, {
        ...options,
        ...(token === undefined ? {} : { continue: token })
      })
      items.push(...page.items)
      if (page.continue === undefined || page.continue === "") return { items, resourceVersion: page.resourceVersion }
      token = page.continue
    }
  })

// ----------------------------------------------------------------------------------------------
// HTTP implementation
// ----------------------------------------------------------------------------------------------

const ListEnvelope = Schema.Struct({
  metadata: Schema.optionalKey(
    Schema.Struct({
      resourceVersion: Schema.optionalKey(Schema.String),
      continue: Schema.optionalKey(Schema.String)
    })
  ),
  items: Schema.Array(Schema.Unknown)
})

const RawWatchEvent = Schema.Struct({
  type: Schema.Literals(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]),
  object: Schema.Unknown
})

const decodeObject = <K extends ResourceKind>(kind: K, request: string, body: unknown) =>
  Schema.decodeUnknownEffect(kind.schema)(body, { errors: "all" }).pipe(
    Effect.mapError((error) => {
      const invalid = InvalidObject.fromSchemaError(kind.kind, error as Schema.SchemaError, nameOf(body))
      return KubeError.decode(request, invalid.message)
    })
  ) as Effect.Effect<Decoded<K>, KubeError.KubeError>

const nameOf = (body: unknown): string | undefined => {
  const metadata = (body as { metadata?: { name?: unknown } } | null)?.metadata
  return typeof metadata?.name === "string" ? metadata.name : undefined
}

/**
 * Decodes one line of a watch response into an event. Exported for tests.
 *
 * @category decoding
 */
export const decodeWatchLine = <K extends ResourceKind>(
  kind: K,
  request: string,
  line: string
): Effect.Effect<WatchEvent<Decoded<K>>, KubeError.KubeError> =>
  Effect.gen(function* () {
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch {
      return {
        type: "Malformed" as const,
        error: KubeError.decode(request, `watch line is not JSON: ${line.slice(0, 200)}`)
      }
    }
    const raw = Schema.decodeUnknownOption(RawWatchEvent)(json)
    if (Option.isNone(raw)) {
      return {
        type: "Malformed" as const,
        error: KubeError.decode(request, `not a watch event: ${line.slice(0, 200)}`)
      }
    }
    const event = raw.value
    if (event.type === "ERROR") {
      const code = (event.object as { code?: unknown } | null)?.code
      return yield* KubeError.fromResponse({ code: typeof code === "number" ? code : 500, body: event.object, request })
    }
    if (event.type === "BOOKMARK") {
      const rv = (event.object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion
      return { type: "BOOKMARK" as const, resourceVersion: typeof rv === "string" ? rv : "" }
    }
    return yield* decodeObject(kind, request, event.object).pipe(
      Effect.map((object) => ({ type: event.type as "ADDED" | "MODIFIED" | "DELETED", object })),
      Effect.catch((error) => Effect.succeed({ type: "Malformed" as const, error }))
    )
  })

const params = (entries: Record<string, string | number | boolean | undefined>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(entries)) if (value !== undefined) out[key] = String(value)
  return out
}

/**
 * Builds the HTTP client from a {@link KubeConfig.KubeConfig} and an `HttpClient` whose
 * connections already trust the cluster's CA and present its client certificate (the Node
 * wiring lives in `NodeKubeClient`).
 *
 * @category constructors
 */
export const make = Effect.gen(function* () {
  const config = yield* KubeConfig.KubeConfig
  const http = yield* HttpClient.HttpClient

  const send = (request: HttpClientRequest.HttpClientRequest, label: string) =>
    Effect.gen(function* () {
      const auth = yield* config.authHeaders.pipe(
        Effect.mapError(
          (error) => new KubeError.KubeError({ reason: "Unauthorized", message: error.message, request: label })
        )
      )
      const response = yield* http
        .execute(
          HttpClientRequest.setHeaders(HttpClientRequest.prependUrl(request, config.server), {
            ...auth,
            accept: "application/json"
          })
        )
        .pipe(Effect.mapError((error) => KubeError.transport(label, error)))
      if (response.status >= 400) {
        const body = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
        return yield* KubeError.fromResponse({
          code: response.status,
          body,
          request: label,
          retryAfterHeader: response.headers["retry-after"]
        })
      }
      return response
    })

  const json = (response: HttpClientResponse.HttpClientResponse, label: string) =>
    response.json.pipe(Effect.mapError((error) => KubeError.decode(label, String(error))))

  const one = <K extends ResourceKind>(kind: K, request: HttpClientRequest.HttpClientRequest, label: string) =>
    send(request, label).pipe(
      Effect.flatMap((response) => json(response, label)),
      Effect.flatMap((body) => decodeObject(kind, label, body))
    )

  const withBody = (request: HttpClientRequest.HttpClientRequest, body: unknown, contentType: string) =>
    HttpClientRequest.bodyText(request, JSON.stringify(body), contentType)

  const writeParams = (options: { fieldManager?: string; dryRun?: boolean; force?: boolean }) =>
    params({
      fieldManager: options.fieldManager,
      dryRun: options.dryRun === true ? "All" : undefined,
      force: options.force
    })

  const refOf = (object: Manifest): ObjectRef => ({
    name: object.metadata.name,
    ...(object.metadata.namespace === undefined ? {} : { namespace: object.metadata.namespace })
  })

  const get: Shape["get"] = (kind, ref) =>
    Effect.suspend(() => {
      const path = ResourcePath.object(kind, ref)
      return one(kind, HttpClientRequest.get(path), `GET ${path}`)
    })

  const list: Shape["list"] = (kind, options = {}) => {
    const path = ResourcePath.collection(kind, options.namespace)
    const label = `GET ${path}`
    const request = HttpClientRequest.get(path).pipe(
      HttpClientRequest.setUrlParams(
        params({
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          limit: options.limit,
          continue: options.continue,
          resourceVersion: options.resourceVersion
        })
      )
    )
    return send(request, label).pipe(
      Effect.flatMap((response) => json(response, label)),
      Effect.flatMap((body) =>
        Schema.decodeUnknownEffect(ListEnvelope)(body).pipe(
          Effect.mapError((error) => KubeError.decode(label, String(error)))
        )
      ),
      Effect.flatMap((envelope) =>
        // List items of built-in kinds come without apiVersion and kind; every object we decode has them.
        Effect.forEach(envelope.items, (item) =>
          decodeObject(kind, label, { apiVersion: kind.apiVersion, kind: kind.kind, ...(item as object) })
        ).pipe(
          Effect.map((items) => ({
            items,
            resourceVersion: envelope.metadata?.resourceVersion ?? "",
            ...(envelope.metadata?.continue === undefined || envelope.metadata.continue === ""
              ? {}
              : { continue: envelope.metadata.continue })
          }))
        )
      )
    )
  }

  const watch: Shape["watch"] = (kind, options = {}) => {
    const path = ResourcePath.collection(kind, options.namespace)
    const label = `WATCH ${path}`
    const request = HttpClientRequest.get(path).pipe(
      HttpClientRequest.setUrlParams(
        params({
          watch: "true",
          allowWatchBookmarks: options.allowWatchBookmarks ?? true,
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          resourceVersion: options.resourceVersion,
          timeoutSeconds: options.timeoutSeconds
        })
      )
    )
    return Stream.unwrap(
      send(request, label).pipe(
        Effect.map((response) =>
          response.stream.pipe(
            Stream.mapError((error) => KubeError.transport(label, error)),
            Stream.decodeText(),
            Stream.splitLines,
            Stream.filter((line) => line.trim().length > 0),
            Stream.mapEffect((line) => decodeWatchLine(kind, label, line))
          )
        )
      )
    )
  }

  const create: Shape["create"] = (kind, object, options = {}) => {
    const path = ResourcePath.collection(kind, object.metadata.namespace)
    return one(
      kind,
      withBody(HttpClientRequest.post(path), object, "application/json").pipe(
        HttpClientRequest.setUrlParams(writeParams(options))
      ),
      `POST ${path}`
    )
  }

  const applyTo =
    (subresource: "" | "/status"): Shape["apply"] =>
    (kind, object, options) =>
      Effect.suspend(() => {
        const path = `${ResourcePath.object(kind, refOf(object))}${subresource}`
        return one(
          kind,
          withBody(HttpClientRequest.patch(path), object, "application/apply-patch+yaml").pipe(
            HttpClientRequest.setUrlParams(writeParams({ ...options, force: options.force ?? false }))
          ),
          `APPLY ${path}`
        )
      })

  const patch: Shape["patch"] = (kind, ref, patchDoc, options = {}) =>
    Effect.suspend(() => {
      const path = `${ResourcePath.object(kind, ref)}${options.subresource === "status" ? "/status" : ""}`
      const contentType = patchDoc.type === "json" ? "application/json-patch+json" : "application/merge-patch+json"
      return one(
        kind,
        withBody(HttpClientRequest.patch(path), patchDoc.patch, contentType).pipe(
          HttpClientRequest.setUrlParams(writeParams(options))
        ),
        `PATCH ${path}`
      )
    })

  const replace: Shape["replace"] = (kind, object, options = {}) =>
    Effect.suspend(() => {
      const path = `${ResourcePath.object(kind, refOf(object))}${options.subresource === "status" ? "/status" : ""}`
      return one(
        kind,
        withBody(HttpClientRequest.put(path), object, "application/json").pipe(
          HttpClientRequest.setUrlParams(writeParams(options))
        ),
        `PUT ${path}`
      )
    })

  const del: Shape["delete"] = (kind, ref, options = {}) =>
    Effect.suspend(() => {
      const path = ResourcePath.object(kind, ref)
      const body = {
        apiVersion: "v1",
        kind: "DeleteOptions",
        ...(options.propagationPolicy === undefined ? {} : { propagationPolicy: options.propagationPolicy }),
        ...(options.preconditions === undefined ? {} : { preconditions: options.preconditions }),
        ...(options.gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds: options.gracePeriodSeconds }),
        ...(options.dryRun === true ? { dryRun: ["All"] } : {})
      }
      return send(withBody(HttpClientRequest.make("DELETE")(path), body, "application/json"), `DELETE ${path}`).pipe(
        Effect.asVoid
      )
    })

  return KubeClient.of({
    get,
    list,
    watch,
    create,
    apply: applyTo(""),
    applyStatus: applyTo("/status"),
    patch,
    replace,
    delete: del
  })
})

/**
 * The HTTP client. Needs a {@link KubeConfig.KubeConfig} and an `HttpClient` configured for the
 * cluster's TLS (see `NodeKubeClient.layer`).
 *
 * @category layers
 */
export const layer: Layer.Layer<KubeClient, never, KubeConfig.KubeConfig | HttpClient.HttpClient> = Layer.effect(
  KubeClient,
  make
)
