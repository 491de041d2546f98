/**
 * One definition per custom resource kind: its API coordinates, names, printer columns and the
 * Effect Schemas of its spec and status. From that single value we derive
 *
 * - the Schema that decodes whole objects (`apiVersion`, `kind`, `metadata`, `spec`, `status`),
 * - readable, path-qualified decoding errors ({@link InvalidObject}),
 * - the CustomResourceDefinition manifest, with a structural `openAPIV3Schema` (its YAML file is
 *   `CrdFile`, kept apart so that processes which only decode never load a YAML printer).
 *
 * It performs no I/O: `scripts/gen-crds.ts` writes the YAML, and `@obol/kube` talks to the server.
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema } from "effect"
import * as InvalidObject from "@obol/kube/InvalidObject"
import { ObjectMeta } from "@obol/kube/ObjectMeta"
import * as ResourceKind from "@obol/kube/ResourceKind"
import * as StructuralSchema from "./StructuralSchema.ts"

/**
 * Spec and status schemas must decode without services, so that any code can decode objects.
 *
 * @category models
 */
export type Codec = Schema.Codec<any, any, never, never>

/**
 * A column `kubectl get` shows, in CRD `additionalPrinterColumns` form.
 *
 * @category models
 */
export interface PrinterColumn {
  readonly name: string
  readonly type: "string" | "integer" | "number" | "boolean" | "date"
  readonly jsonPath: string
  readonly description?: string
  /** 0 shows in the default view, higher only with `-o wide`. */
  readonly priority?: number
}

/**
 * @category models
 */
export interface Options<Spec extends Codec, Status extends Codec> {
  readonly group: string
  readonly version: string
  readonly kind: string
  readonly plural: string
  readonly singular: string
  readonly shortNames: ReadonlyArray<string>
  readonly categories: ReadonlyArray<string>
  /** What the resource is, for `kubectl explain <kind>`. */
  readonly description: string
  readonly printerColumns: ReadonlyArray<PrinterColumn>
  readonly spec: Spec
  readonly status: Status
}

/**
 * The whole-object Schema for a kind with the given spec and status.
 *
 * @category models
 */
export type ObjectSchema<Spec extends Codec, Status extends Codec> = Schema.Struct<{
  readonly apiVersion: Schema.Literal<string>
  readonly kind: Schema.Literal<string>
  readonly metadata: typeof ObjectMeta
  readonly spec: Spec
  readonly status: Schema.optionalKey<Status>
}>

/**
 * A custom resource kind: a {@link ResourceKind.ResourceKind} plus everything its CRD needs.
 *
 * @category models
 */
export interface CustomResource<Spec extends Codec, Status extends Codec>
  extends ResourceKind.ResourceKind<ObjectSchema<Spec, Status>>, Options<Spec, Status> {
  readonly listKind: string
}

/**
 * Any custom resource kind, for code that treats kinds uniformly (CRD generation, installation).
 *
 * @category models
 */
export type Any = CustomResource<Codec, Codec>

/**
 * Options for decoding an object.
 *
 * @category models
 */
export interface DecodeOptions {
  /**
   * Reject fields the schema does not know (typos in a hand-written manifest). The API server
   * prunes such fields silently, so the CLI uses this to warn before they are lost.
   */
  readonly strict?: boolean
}

/**
 * @category constructors
 */
export const make = <Spec extends Codec, Status extends Codec>(
  options: Options<Spec, Status>
): CustomResource<Spec, Status> => {
  const apiVersion = `${options.group}/${options.version}`
  const schema = Schema.Struct({
    apiVersion: Schema.Literal(apiVersion),
    kind: Schema.Literal(options.kind),
    metadata: ObjectMeta,
    spec: options.spec,
    status: Schema.optionalKey(options.status)
  })
  return {
    ...options,
    ...ResourceKind.make({
      group: options.group,
      version: options.version,
      kind: options.kind,
      plural: options.plural,
      namespaced: true,
      statusSubresource: true,
      schema
    }),
    listKind: `${options.kind}List`
  }
}

const nameOf = (input: unknown): string | undefined => {
  if (typeof input !== "object" || input === null) return undefined
  const metadata = (input as { metadata?: unknown }).metadata
  if (typeof metadata !== "object" || metadata === null) return undefined
  const name = (metadata as { name?: unknown }).name
  return typeof name === "string" ? name : undefined
}

/**
 * Decodes an unknown value as an object of this kind, applying schema defaults, and reports
 * every problem with its path.
 *
 * @category decoding
 */
export const decodeResult = <Spec extends Codec, Status extends Codec>(
  resource: CustomResource<Spec, Status>,
  input: unknown,
  options?: DecodeOptions
): Result.Result<ObjectSchema<Spec, Status>["Type"], InvalidObject.InvalidObject> =>
  Schema.decodeUnknownResult(resource.schema)(input, {
    errors: "all",
    reportInput: true,
    onExcessProperty: options?.strict === true ? "error" : "ignore"
  }).pipe(Result.mapError((error) => InvalidObject.fromSchemaError(resource.kind, error, nameOf(input))))

/**
 * Effect version of {@link decodeResult}.
 *
 * @category decoding
 */
export const decode = <Spec extends Codec, Status extends Codec>(
  resource: CustomResource<Spec, Status>,
  input: unknown,
  options?: DecodeOptions
): Effect.Effect<ObjectSchema<Spec, Status>["Type"], InvalidObject.InvalidObject> =>
  Effect.fromResult(decodeResult(resource, input, options))

/**
 * The `openAPIV3Schema` of the kind: the standard top-level fields plus the lowered spec and status.
 *
 * @throws StructuralSchema.NotStructural when spec or status cannot be expressed structurally.
 * @category crd
 */
export const openApiSchema = <Spec extends Codec, Status extends Codec>(
  resource: CustomResource<Spec, Status>
): StructuralSchema.Node => ({
  type: "object",
  description: resource.description,
  required: ["spec"],
  properties: {
    apiVersion: {
      type: "string",
      description: `APIVersion defines the versioned schema of this representation of an object; ${resource.apiVersion} for this kind.`
    },
    kind: {
      type: "string",
      description: `Kind is a string value representing the REST resource this object represents; ${resource.kind} for this kind.`
    },
    // The API server forbids anything but `type` here: metadata's schema is built in.
    metadata: { type: "object" },
    spec: StructuralSchema.fromSchema(resource.spec),
    status: StructuralSchema.fromSchema(resource.status)
  }
})

/**
 * The CustomResourceDefinition manifest (apiextensions.k8s.io/v1) for the kind.
 *
 * @category crd
 */
export const toCrd = <Spec extends Codec, Status extends Codec>(resource: CustomResource<Spec, Status>) => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `${resource.plural}.${resource.group}` },
  spec: {
    group: resource.group,
    names: {
      kind: resource.kind,
      listKind: resource.listKind,
      plural: resource.plural,
      singular: resource.singular,
      shortNames: [...resource.shortNames],
      categories: [...resource.categories]
    },
    scope: resource.namespaced ? "Namespaced" : "Cluster",
    versions: [
      {
        name: resource.version,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: resource.printerColumns.map((column) => ({ ...column })),
        schema: { openAPIV3Schema: openApiSchema(resource) }
      }
    ]
  }
})
