/**
 * Typed server-side apply: the apply configuration of a kind is derived from the encoded side of
 * its Schema (what goes over the wire), so an object literal with a misspelt or unknown field
 * (`spce:`, `spec.upstream.nmae`) fails the typecheck instead of being pruned by the API server.
 *
 * The shape follows server-side apply: `apiVersion`, `kind` and `metadata.name` are required; every
 * other field of an object may be left out (a field manager sends only the fields it owns); list
 * items are sent whole (see {@link Fields}). The writes ({@link apply}, {@link applyStatus}) only
 * check types and call the {@link KubeClient.Shape} method of the same name with the same value.
 *
 * This module does not validate values at runtime, fill in defaults or `apiVersion`/`kind`, or
 * require the fields an object needs on create: the API server's validation does that. Generic
 * code that writes objects of any kind (status writers, test fixtures) keeps calling
 * `KubeClient.Shape` with an untyped {@link KubeClient.Manifest}.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type * as KubeClient from "./KubeClient.ts"
import type * as KubeError from "./KubeError.ts"
import type { ObjectMeta } from "./ObjectMeta.ts"
import type { ResourceKind } from "./ResourceKind.ts"

type Primitive = string | number | boolean | bigint | symbol | null | undefined

/** Flattens an intersection into one object type, so errors and hovers name one type. */
type Flatten<T> = { [P in keyof T]: T[P] } & {}

/**
 * The apply configuration of one encoded value:
 *
 * - a struct: every field optional and itself an apply configuration (deep partial), excess
 *   fields rejected on object literals as usual;
 * - a map (`Schema.Record`, e.g. labels): keys free, values apply configurations;
 * - a list: exactly the encoded list. Server-side apply sends list items whole: an atomic list
 *   replaces the list, a `listType: map` list matches items by their key fields, so an item must
 *   carry its required (key) fields; a partial item would be a different item, not a patch of one;
 * - a primitive, literal or `unknown`: itself (`undefined` only where the Schema allows it).
 *
 * @category models
 */
export type Fields<T> = 0 extends 1 & T
  ? T
  : unknown extends T
    ? T
    : T extends Primitive
      ? T
      : T extends ReadonlyArray<unknown>
        ? T
        : string extends keyof T
          ? { readonly [P in keyof T]: Fields<T[P]> }
          : { readonly [P in keyof T]?: Fields<T[P]> }

/**
 * Object metadata in an apply configuration: `name` required, every other field optional.
 * `namespace` stays optional at the type level (a descriptor's `namespaced` is a runtime
 * `boolean`); a namespaced kind applied without one fails before any request is sent.
 *
 * @category models
 */
export type Metadata<M> = Flatten<
  { readonly name: string } & { readonly [P in keyof M as P extends "name" ? never : P]?: Fields<M[P]> }
>

/**
 * The metadata of an apply configuration over the shared {@link ObjectMeta} Schema, for helpers
 * that build the metadata of several kinds' configurations.
 *
 * @category models
 */
export type ObjectMetadata = Metadata<(typeof ObjectMeta)["Encoded"]>

/**
 * The apply configuration of an encoded whole object: `apiVersion`, `kind` and `metadata.name`
 * required, every other field a deep-partial {@link Fields}. An encoded type without
 * `apiVersion`/`kind`/`metadata` (a descriptor whose Schema is not known statically) yields the
 * untyped {@link KubeClient.Manifest}.
 *
 * @category models
 */
export type Of<E> = E extends {
  readonly apiVersion: infer V
  readonly kind: infer Kind
  readonly metadata: infer M
}
  ? Flatten<
      { readonly apiVersion: V; readonly kind: Kind; readonly metadata: Metadata<M> } & {
        readonly [P in keyof E as P extends "apiVersion" | "kind" | "metadata" ? never : P]?: Fields<E[P]>
      }
    >
  : KubeClient.Manifest

/**
 * What a server-side apply of kind `K` may send, derived from `K["schema"]["Encoded"]`.
 *
 * @example
 * ```ts
 * import type { ApplyConfiguration } from "@obol/kube/ApplyConfiguration"
 * import { ConfigMap } from "@obol/kube/builtin/ConfigMap"
 *
 * const config: ApplyConfiguration<typeof ConfigMap> = {
 *   apiVersion: "v1",
 *   kind: "ConfigMap",
 *   metadata: { name: "settings", namespace: "default", labels: { app: "web" } },
 *   data: { mode: "fast" }
 * }
 * ```
 *
 * @category models
 */
export type ApplyConfiguration<K extends ResourceKind> = Of<K["schema"]["Encoded"]>

/**
 * `C` where every key, at any depth, is a key of the configuration `T` it is checked against;
 * a key that is not becomes `never`, so the value there fails the typecheck. Unlike the
 * typechecker's excess-property check, it also sees keys that come from spreads.
 */
type Exact<C, T> = 0 extends 1 & C
  ? C
  : unknown extends T
    ? C
    : C extends Primitive
      ? C
      : C extends ReadonlyArray<infer I>
        ? NonNullable<T> extends ReadonlyArray<infer J>
          ? ReadonlyArray<Exact<I, J>>
          : C
        : { readonly [P in keyof C]: P extends keyof NonNullable<T> ? Exact<C[P], NonNullable<T>[P]> : never }

/**
 * Types an object as the apply configuration of `kind` and returns it unchanged. Use it where the
 * configuration is built away from the write (a pure function computing children).
 *
 * **Gotchas**: an annotation (`const c: ApplyConfiguration<K> = {...}`) rejects unknown keys
 * written in the literal, but not keys of an object spread into it
 * (`...(cheap ? { pirce: 1 } : {})`); `make` checks those too, at every depth.
 *
 * @category constructors
 */
export const make = <K extends ResourceKind, const C>(
  _kind: K,
  config: C & Exact<C, ApplyConfiguration<K>> & ApplyConfiguration<K>
): ApplyConfiguration<K> => config

/**
 * The configuration as the untyped manifest `KubeClient.Shape` takes. Every apply configuration
 * is one (required `apiVersion`, `kind`, `metadata.name`); only a generic `K` hides that from the
 * typechecker.
 *
 * @category conversions
 */
export const toManifest = <K extends ResourceKind>(config: ApplyConfiguration<K>): KubeClient.Manifest =>
  config as KubeClient.Manifest

/**
 * Server-side apply of the main resource with a typed configuration: {@link KubeClient.Shape}'s
 * `apply`, unchanged at runtime.
 *
 * @category writes
 */
export const apply = <K extends ResourceKind>(
  client: KubeClient.Shape,
  kind: K,
  config: NoInfer<ApplyConfiguration<K>>,
  options: KubeClient.ApplyOptions
): Effect.Effect<K["schema"]["Type"], KubeError.KubeError> => client.apply(kind, toManifest<K>(config), options)

/**
 * Server-side apply of the status subresource with a typed configuration:
 * {@link KubeClient.Shape}'s `applyStatus`, unchanged at runtime.
 *
 * @category writes
 */
export const applyStatus = <K extends ResourceKind>(
  client: KubeClient.Shape,
  kind: K,
  config: NoInfer<ApplyConfiguration<K>>,
  options: KubeClient.ApplyOptions
): Effect.Effect<K["schema"]["Type"], KubeError.KubeError> => client.applyStatus(kind, toManifest<K>(config), options)
