/**
 * The Debian lock file (`packages/image/debian.lock.json`): the exact packages the image's root
 * filesystem is made of, each with its version, download URL, size and sha256. The build fetches
 * exactly these files and refuses any other bytes, so the root filesystem changes only when the
 * committed lock changes (`npm run image -- --update-lock` rewrites it from `apt-cache`, see
 * `AptCache.ts`).
 *
 * This module parses, verifies against and writes the lock; it downloads nothing
 * (`DebianArchive.ts` does, and calls {@link verify} on every file it hands out).
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { ImageError } from "./ImageError.ts"

/**
 * One pinned package.
 *
 * @category models
 */
export const Package = Schema.Struct({
  name: Schema.String.check(Schema.isPattern(/^[a-z0-9][a-z0-9+.-]+$/u, { expected: "a Debian package name" })),
  version: Schema.String.check(Schema.isMinLength(1)),
  architecture: Schema.String.check(Schema.isMinLength(1)),
  url: Schema.String.check(Schema.isPattern(/^https?:\/\/\S+\.deb$/u, { expected: "an http(s) URL of a .deb" })),
  size: Schema.Int.check(Schema.isGreaterThan(0)),
  sha256: Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/u, { expected: "64 lowercase hex digits" }))
})

/**
 * @category models
 */
export type Package = typeof Package.Type

/**
 * @category models
 */
export const Lock = Schema.Struct({
  /** The Debian release the packages come from, e.g. `bookworm`. */
  suite: Schema.String.check(Schema.isMinLength(1)),
  packages: Schema.Array(Package).check(Schema.isMinLength(1))
})

/**
 * @category models
 */
export type Lock = typeof Lock.Type

const decodeLock = Schema.decodeUnknownEffect(Schema.fromJsonString(Lock))

/**
 * Parses a lock file's text; `source` names it in errors.
 *
 * @category constructors
 */
export const decode = (text: string, source: string): Effect.Effect<Lock, ImageError> =>
  decodeLock(text).pipe(
    Effect.mapError((error) => new ImageError({ reason: "LockInvalid", message: `${source}: ${error.message}` })),
    Effect.flatMap((lock) => {
      const names = lock.packages.map((p) => p.name)
      const duplicate = names.find((name, i) => names.indexOf(name) !== i)
      return duplicate === undefined
        ? Effect.succeed(lock)
        : Effect.fail(new ImageError({ reason: "LockInvalid", message: `${source}: "${duplicate}" is pinned twice` }))
    })
  )

/**
 * Reads and parses a lock file.
 *
 * @category constructors
 */
export const read = (path: string): Effect.Effect<Lock, ImageError> =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (error) => new ImageError({ reason: "LockInvalid", message: `${path}: cannot be read (${String(error)})` })
  }).pipe(Effect.flatMap((text) => decode(text, path)))

/**
 * The lock file's text: two-space JSON, packages sorted by name, one trailing newline.
 *
 * @category constructors
 */
export const encode = (lock: Lock): string =>
  `${JSON.stringify(
    {
      suite: lock.suite,
      packages: lock.packages
        .toSorted((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((p) => ({
          name: p.name,
          version: p.version,
          architecture: p.architecture,
          url: p.url,
          size: p.size,
          sha256: p.sha256
        }))
    },
    null,
    2
  )}\n`

/**
 * The sha256 of some bytes, as lowercase hex.
 *
 * @category constructors
 */
export const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/**
 * Succeeds when `bytes` are the file the lock pins for `pkg` (size and sha256); otherwise fails
 * with `ChecksumMismatch`, naming the package, the URL and both values.
 *
 * @category predicates
 */
export const verify = (pkg: Package, bytes: Uint8Array, source: string = pkg.url): Effect.Effect<void, ImageError> => {
  if (bytes.byteLength !== pkg.size) {
    return Effect.fail(
      new ImageError({
        reason: "ChecksumMismatch",
        message:
          `${pkg.name} ${pkg.version}: ${source} has ${bytes.byteLength} bytes, the lock file pins ${pkg.size}; ` +
          "refusing it"
      })
    )
  }
  const actual = sha256(bytes)
  return actual === pkg.sha256
    ? Effect.void
    : Effect.fail(
        new ImageError({
          reason: "ChecksumMismatch",
          message: `${pkg.name} ${pkg.version}: sha256 of ${source} is ${actual}, the lock file pins ${pkg.sha256}; refusing it`
        })
      )
}
