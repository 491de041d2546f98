/**
 * Debian packages on disk, exactly as the lock file pins them: {@link DebianArchive} hands out the
 * path of a verified `.deb` in a cache outside the repository
 * (`~/.cache/obol-serviceoffer/image/debs/`, `OBOL_IMAGE_CACHE` moves it), downloading it from the
 * URL in the lock on first use.
 *
 * Every file is checked against the lock's size and sha256 before it is used or cached: a wrong
 * download is refused and never written to the cache, and a cached file that no longer matches
 * (a truncated write, a hand edit) is downloaded again. This module knows nothing about what is
 * inside a package (`DebianPackage.ts` reads that).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises"
import { homedir } from "node:os"
import { basename, join } from "node:path"
import * as DebianLock from "./DebianLock.ts"
import { ImageError } from "./ImageError.ts"

/**
 * @category models
 */
export interface Fetched {
  /** The verified `.deb` in the cache. */
  readonly path: string
  /** True when the file came from the cache, false when it was downloaded now. */
  readonly cached: boolean
}

/**
 * @category models
 */
export interface Shape {
  readonly fetch: (pkg: DebianLock.Package) => Effect.Effect<Fetched, ImageError>
}

/**
 * @category services
 */
export class DebianArchive extends Context.Service<DebianArchive, Shape>()("@obol/image/DebianArchive") {}

/**
 * `$OBOL_IMAGE_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/obol-serviceoffer/image`.
 *
 * @category constants
 */
export const defaultCacheDir = (): string =>
  process.env["OBOL_IMAGE_CACHE"] ??
  join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "obol-serviceoffer", "image")

const readIfPresent = (path: string) =>
  Effect.promise(() =>
    readFile(path).then(
      (bytes): Uint8Array | undefined => bytes,
      () => undefined
    )
  )

const download = (pkg: DebianLock.Package, timeoutMillis: number) =>
  Effect.tryPromise({
    try: async () => {
      const response = await fetch(pkg.url, { signal: AbortSignal.timeout(timeoutMillis) })
      if (!response.ok) {
        throw new Error(
          `${response.status} ${response.statusText}` +
            (response.status === 404
              ? " (the archive no longer has this version: run `npm run image -- --update-lock` and commit the lock)"
              : "")
        )
      }
      return new Uint8Array(await response.arrayBuffer())
    },
    catch: (error) =>
      new ImageError({
        reason: "DownloadFailed",
        message: `${pkg.name} ${pkg.version}: GET ${pkg.url}: ${error instanceof Error ? error.message : String(error)}`
      })
  })

/**
 * @category constructors
 */
export const make = (options: { readonly cacheDir: string; readonly timeoutMillis?: number }): Shape => ({
  fetch: Effect.fn("DebianArchive.fetch")(function* (pkg: DebianLock.Package) {
    const dir = join(options.cacheDir, "debs")
    const path = join(dir, basename(new URL(pkg.url).pathname))
    const cached = yield* readIfPresent(path)
    if (cached !== undefined) {
      const ok = yield* DebianLock.verify(pkg, cached, path).pipe(
        Effect.as(true),
        Effect.catch(() => Effect.succeed(false))
      )
      if (ok) return { path, cached: true }
    }
    const bytes = yield* download(pkg, options.timeoutMillis ?? 300_000)
    yield* DebianLock.verify(pkg, bytes)
    const partial = `${path}.${process.pid}.partial`
    yield* Effect.tryPromise({
      try: async () => {
        await mkdir(dir, { recursive: true })
        await writeFile(partial, bytes)
        await rename(partial, path)
      },
      catch: (error) =>
        new ImageError({ reason: "WriteFailed", message: `caching ${pkg.name} in ${path}: ${String(error)}` })
    }).pipe(Effect.tapError(() => Effect.promise(() => rm(partial, { force: true }))))
    return { path, cached: false }
  })
})

/**
 * The archive over HTTP with the on-disk cache.
 *
 * @category layers
 */
export const layer = (options: { readonly cacheDir: string; readonly timeoutMillis?: number }) =>
  Layer.succeed(DebianArchive, make(options))
