/**
 * The slice of Kubernetes `metav1.ObjectMeta` (and `OwnerReference`) that our code reads and writes.
 *
 * Every resource schema in the project embeds {@link ObjectMeta}. Fields we never look at are left
 * out on purpose: decoding drops them, and nothing we write with server-side apply ever sends them,
 * so the API server keeps whatever other managers own. This module describes data only; it knows
 * nothing about clients, caches or controllers.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A reference from a dependent object to its owner, in the same namespace.
 *
 * @category models
 */
export const OwnerReference = Schema.Struct({
  apiVersion: Schema.String.annotate({ description: "API version of the owner, e.g. obol.org/v1alpha1." }),
  kind: Schema.String.annotate({ description: "Kind of the owner, e.g. ServiceOffer." }),
  name: Schema.String.annotate({ description: "Name of the owner." }),
  uid: Schema.String.annotate({
    description: "UID of the owner; a reference to a deleted-and-recreated owner does not match."
  }),
  controller: Schema.optionalKey(
    Schema.Boolean.annotate({ description: "True when the owner is the managing controller; at most one owner is." })
  ),
  blockOwnerDeletion: Schema.optionalKey(
    Schema.Boolean.annotate({
      description: "With foreground deletion, the owner is not removed until this dependent is."
    })
  )
}).annotate({
  description: "An owner of this object; the garbage collector deletes the object when all owners are gone."
})

/**
 * @category models
 */
export type OwnerReference = typeof OwnerReference.Type

const StringMap = Schema.Record(Schema.String, Schema.String)

/**
 * Object metadata as the API server returns it. All fields are optional because the same schema
 * describes objects we are about to create (no `uid`, no `resourceVersion`) and objects we read.
 *
 * @category models
 */
export const ObjectMeta = Schema.Struct({
  name: Schema.optionalKey(Schema.String),
  generateName: Schema.optionalKey(Schema.String),
  namespace: Schema.optionalKey(Schema.String),
  uid: Schema.optionalKey(Schema.String),
  resourceVersion: Schema.optionalKey(Schema.String),
  generation: Schema.optionalKey(Schema.Int),
  creationTimestamp: Schema.optionalKey(Schema.String),
  deletionTimestamp: Schema.optionalKey(Schema.String),
  deletionGracePeriodSeconds: Schema.optionalKey(Schema.Int),
  labels: Schema.optionalKey(StringMap),
  annotations: Schema.optionalKey(StringMap),
  finalizers: Schema.optionalKey(Schema.Array(Schema.String)),
  ownerReferences: Schema.optionalKey(Schema.Array(OwnerReference)),
  managedFields: Schema.optionalKey(Schema.Array(Schema.Unknown))
})

/**
 * @category models
 */
export type ObjectMeta = typeof ObjectMeta.Type

/**
 * An object reduced to its identity and metadata (Kubernetes' `PartialObjectMetadata`): what a
 * cache needs when it only asks "does this object exist, with which uid, since when".
 *
 * @category models
 */
export const PartialObjectMetadata = Schema.Struct({
  apiVersion: Schema.String,
  kind: Schema.String,
  metadata: ObjectMeta
})

/**
 * @category models
 */
export type PartialObjectMetadata = typeof PartialObjectMetadata.Type
