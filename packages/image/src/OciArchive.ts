/**
 * The image as one tar file that every loader accepts: an OCI image layout (`oci-layout`,
 * `index.json`, `blobs/sha256/…`) with a Docker `manifest.json` beside it, the shape `docker save`
 * has written since Docker 25. `docker load` reads `manifest.json`; `ctr images import` (and so
 * `kind load image-archive` and `k3d image import`) and `skopeo copy oci-archive:` read
 * `index.json`, whose one manifest carries `org.opencontainers.image.ref.name` (the tag) and
 * `io.containerd.image.name` (the full reference).
 *
 * Layers are stored uncompressed (`application/vnd.oci.image.layer.v1.tar`, as `docker save`
 * does): their digests then depend only on their contents, not on a compressor's version or the
 * CPU it ran on (docs/adr/0009). All JSON is written with sorted keys and no whitespace, and the
 * archive itself goes through {@link Tar.pack}, so the same layers give the same bytes.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { createHash } from "node:crypto"
import type { ImageError } from "./ImageError.ts"
import * as Tar from "./Tar.ts"

/**
 * @category constants
 */
export const mediaTypes = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar"
} as const

/**
 * One layer: an uncompressed tar, and what made it (the config's `history`).
 *
 * @category models
 */
export interface Layer {
  readonly tar: Uint8Array
  readonly createdBy: string
}

/**
 * @category models
 */
export interface Options {
  /** `<name>:<tag>`. */
  readonly reference: string
  readonly layers: ReadonlyArray<Layer>
  readonly runtime: {
    readonly entrypoint: ReadonlyArray<string>
    readonly cmd: ReadonlyArray<string>
    readonly workingDir: string
    readonly user: string
    readonly env: ReadonlyArray<string>
  }
  readonly labels?: Readonly<Record<string, string>>
  /** Seconds since the epoch: the config's `created` and every archive member's mtime. */
  readonly created?: number
}

/**
 * A content descriptor.
 *
 * @category models
 */
export interface Descriptor {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
}

/**
 * @category models
 */
export interface Built {
  readonly archive: Uint8Array
  readonly manifest: Descriptor
  readonly config: Descriptor
  readonly layers: ReadonlyArray<Descriptor>
}

/**
 * `sha256:<hex>` of some bytes.
 *
 * @category constructors
 */
export const digest = (bytes: Uint8Array): string => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

const sortKeys = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(sortKeys)
    : typeof value === "object" && value !== null
      ? Object.fromEntries(
          Object.keys(value)
            .toSorted()
            .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])])
        )
      : value

/**
 * JSON with object keys sorted and no whitespace: one text for one value.
 *
 * @category constructors
 */
export const canonicalJson = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(sortKeys(value)))

const blobPath = (d: Descriptor) => `blobs/${d.digest.replace(":", "/")}`

const describe = (mediaType: string, bytes: Uint8Array): Descriptor => ({
  mediaType,
  digest: digest(bytes),
  size: bytes.byteLength
})

/**
 * Builds the archive.
 *
 * @category constructors
 */
export const build = (options: Options): Effect.Effect<Built, ImageError> => {
  const created = options.created ?? 0
  const createdAt = new Date(created * 1000).toISOString().replace(/\.000Z$/u, "Z")
  const tag = options.reference.slice(options.reference.lastIndexOf(":") + 1)
  const layers = options.layers.map((layer) => describe(mediaTypes.layer, layer.tar))
  const configBytes = canonicalJson({
    created: createdAt,
    architecture: "amd64",
    os: "linux",
    config: {
      User: options.runtime.user,
      Env: options.runtime.env,
      Entrypoint: options.runtime.entrypoint,
      Cmd: options.runtime.cmd,
      WorkingDir: options.runtime.workingDir,
      ...(options.labels === undefined ? {} : { Labels: options.labels })
    },
    rootfs: { type: "layers", diff_ids: layers.map((layer) => layer.digest) },
    history: options.layers.map((layer) => ({ created: createdAt, created_by: layer.createdBy }))
  })
  const config = describe(mediaTypes.config, configBytes)
  const manifestBytes = canonicalJson({
    schemaVersion: 2,
    mediaType: mediaTypes.manifest,
    config,
    layers
  })
  const manifest = describe(mediaTypes.manifest, manifestBytes)
  const index = canonicalJson({
    schemaVersion: 2,
    mediaType: mediaTypes.index,
    manifests: [
      {
        ...manifest,
        platform: { architecture: "amd64", os: "linux" },
        annotations: {
          "io.containerd.image.name": options.reference,
          "org.opencontainers.image.ref.name": tag
        }
      }
    ]
  })
  const dockerManifest = canonicalJson([
    { Config: blobPath(config), RepoTags: [options.reference], Layers: layers.map(blobPath) }
  ])
  const blobs = new Map<string, Uint8Array>([
    [blobPath(config), configBytes],
    [blobPath(manifest), manifestBytes],
    ...options.layers.map((layer, i): [string, Uint8Array] => [blobPath(layers[i] as Descriptor), layer.tar])
  ])
  const entries: ReadonlyArray<Tar.Entry> = [
    { type: "directory", path: "blobs" },
    { type: "directory", path: "blobs/sha256" },
    ...[...blobs].map(([path, content]): Tar.Entry => ({ type: "file", path, content })),
    { type: "file", path: "oci-layout", content: canonicalJson({ imageLayoutVersion: "1.0.0" }) },
    { type: "file", path: "index.json", content: index },
    { type: "file", path: "manifest.json", content: dockerManifest }
  ]
  return Tar.pack(entries, { mtime: created }).pipe(Effect.map((archive) => ({ archive, manifest, config, layers })))
}
