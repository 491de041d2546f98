/**
 * Tar archives as lists of entries: {@link pack} writes a reproducible archive (an image layer, or
 * the OCI archive itself), {@link read} turns an archive back into entries (a Debian package's
 * data, a test's check). Headers are encoded by `tar-stream` (ustar, with a pax header for paths
 * that do not fit); this module decides everything that makes two builds byte-identical.
 *
 * What makes {@link pack} reproducible: entries sorted by path bytes (parents before children),
 * one fixed mtime for every entry, uid/gid 0 unless an entry says otherwise, no user or group
 * names (readers use the numbers), default modes by type, and no duplicate paths (refused, never
 * "last one wins"). It does not compress; a layer is stored as a plain tar (docs/adr/0009).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Readable } from "node:stream"
import { extract, pack as tarPack } from "tar-stream"
import type { Header } from "tar-stream"
import { ImageError } from "./ImageError.ts"

interface Common {
  /** Relative to the archive root, without `./`, a leading `/` or a trailing `/`. */
  readonly path: string
  /** Permission bits (with setuid/setgid/sticky); defaults: 0755 directories, 0644 files. */
  readonly mode?: number
  readonly uid?: number
  readonly gid?: number
}

/**
 * One archive member.
 *
 * @category models
 */
export type Entry =
  | (Common & { readonly type: "directory" })
  | (Common & { readonly type: "file"; readonly content: Uint8Array })
  | (Common & { readonly type: "symlink"; readonly target: string })
  /** `target` is another member's path, as {@link Common.path}. */
  | (Common & { readonly type: "hardlink"; readonly target: string })

/**
 * @category models
 */
export interface PackOptions {
  /** Seconds since the epoch written as every entry's mtime (`SOURCE_DATE_EPOCH`); default 0. */
  readonly mtime?: number
}

/**
 * `./usr/lib/` and `/usr/lib` to `usr/lib`; refuses empty paths and `..` components, which a
 * layer must never contain (they would write outside the root on extraction).
 *
 * @category constructors
 */
export const normalize = (path: string): Effect.Effect<string, ImageError> => {
  const parts = path.split("/").filter((part) => part !== "" && part !== ".")
  return parts.length === 0 || parts.includes("..")
    ? Effect.fail(new ImageError({ reason: "InvalidEntry", message: `not a plain relative path: "${path}"` }))
    : Effect.succeed(parts.join("/"))
}

/**
 * Byte order of the UTF-8 paths, so the order does not depend on a locale.
 *
 * @category sorting
 */
export const compare = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

const defaultMode = (entry: Entry): number =>
  entry.mode ?? (entry.type === "directory" ? 0o755 : entry.type === "symlink" ? 0o777 : 0o644)

/**
 * Sorts and normalizes entries and refuses duplicates: the exact list {@link pack} writes.
 *
 * @category constructors
 */
export const canonical = (entries: Iterable<Entry>): Effect.Effect<ReadonlyArray<Entry>, ImageError> =>
  Effect.gen(function* () {
    const byPath = new Map<string, Entry>()
    for (const entry of entries) {
      const path = yield* normalize(entry.path)
      if (byPath.has(path)) {
        return yield* new ImageError({ reason: "InvalidEntry", message: `two entries for "${path}"` })
      }
      byPath.set(
        path,
        entry.type === "hardlink" ? { ...entry, path, target: yield* normalize(entry.target) } : { ...entry, path }
      )
    }
    return [...byPath.values()].toSorted((a, b) => compare(a.path, b.path))
  })

const header = (entry: Entry, mtime: Date): Partial<Header> & Pick<Header, "name"> => {
  const common = {
    name: entry.type === "directory" ? `${entry.path}/` : entry.path,
    mode: defaultMode(entry),
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    uname: "",
    gname: "",
    mtime
  }
  switch (entry.type) {
    case "directory":
      return { ...common, type: "directory", size: 0 }
    case "file":
      return { ...common, type: "file", size: entry.content.byteLength }
    case "symlink":
      return { ...common, type: "symlink", size: 0, linkname: entry.target }
    case "hardlink":
      return { ...common, type: "link", size: 0, linkname: entry.target }
  }
}

/**
 * Writes entries as one tar archive, reproducibly (see the module header).
 *
 * **Gotchas**: the archive is built in memory; fine for an image of a few hundred megabytes.
 *
 * @category constructors
 */
export const pack = (entries: Iterable<Entry>, options: PackOptions = {}): Effect.Effect<Uint8Array, ImageError> =>
  Effect.gen(function* () {
    const sorted = yield* canonical(entries)
    const mtime = new Date((options.mtime ?? 0) * 1000)
    return yield* Effect.tryPromise({
      try: () =>
        new Promise<Uint8Array>((resolve, reject) => {
          const stream = tarPack()
          const chunks: Array<Buffer> = []
          stream.on("data", (chunk) => chunks.push(chunk as Buffer))
          stream.on("end", () => resolve(Buffer.concat(chunks)))
          stream.on("error", reject)
          for (const entry of sorted) {
            if (entry.type === "file") stream.entry(header(entry, mtime), Buffer.from(entry.content))
            else stream.entry(header(entry, mtime))
          }
          stream.finalize()
        }),
      catch: (error) => new ImageError({ reason: "WriteFailed", message: `writing a tar archive: ${String(error)}` })
    })
  })

/**
 * Reads a tar archive (bytes, or a stream such as `dpkg-deb --fsys-tarfile`'s output) into
 * entries with normalized paths, in archive order. Devices, FIFOs and other special members are
 * refused: nothing in an image needs them.
 *
 * @category constructors
 */
export const read = (
  source: Uint8Array | AsyncIterable<Uint8Array>,
  what: string
): Effect.Effect<ReadonlyArray<Entry>, ImageError> =>
  Effect.tryPromise({
    try: async () => {
      const extractor = extract()
      const input = source instanceof Uint8Array ? Readable.from([Buffer.from(source)]) : Readable.from(source)
      input.on("error", (error) => extractor.destroy(error))
      input.pipe(extractor)
      const entries: Array<Entry> = []
      for await (const member of extractor) {
        const chunks: Array<Buffer> = []
        for await (const chunk of member) chunks.push(chunk as Buffer)
        const h = member.header
        const parts = h.name.split("/").filter((part) => part !== "" && part !== ".")
        if (parts.length === 0) continue // the archive's own root, "./"
        const common = { path: parts.join("/"), mode: (h.mode ?? 0) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0 }
        switch (h.type) {
          case "directory":
            entries.push({ ...common, type: "directory" })
            break
          case "file":
          case "contiguous-file":
            entries.push({ ...common, type: "file", content: Buffer.concat(chunks) })
            break
          case "symlink":
            entries.push({ ...common, type: "symlink", target: h.linkname ?? "" })
            break
          case "link":
            entries.push({ ...common, type: "hardlink", target: (h.linkname ?? "").replace(/^(\.\/|\/)+/u, "") })
            break
          default:
            throw new Error(`${common.path}: unsupported member type ${String(h.type)}`)
        }
      }
      return entries
    },
    catch: (error) =>
      new ImageError({
        reason: "ExtractFailed",
        message: `reading ${what}: ${error instanceof Error ? error.message : String(error)}`
      })
  })
