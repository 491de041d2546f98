/**
 * The image's file system, as three layers of tar entries, from the bottom:
 *
 * 1. {@link base}: the Debian packages Node links against (glibc, libgcc, libstdc++; `ldd` on the
 *    Node binary lists nothing else: Node bundles OpenSSL, zlib, ICU and its CA store) plus
 *    base-files' os-release and common licences; each package's copyright file; `/etc/passwd`,
 *    `/etc/group` and `/etc/nsswitch.conf` with `root` and `nonroot`; `/tmp` (1777), the home
 *    directories, empty mount points, and `/var/lib/dpkg/status.d/<package>` so image scanners
 *    see the package versions (the distroless convention). No shell, no package manager.
 * 2. {@link node}: `/usr/local/bin/node` and its licence.
 * 3. {@link app}: `/app/<process>.mjs`, the chunks they import lazily (`/app/chunks/`) and the
 *    notices of the libraries bundled into them.
 *
 * Documentation, manual pages, locales, lintian overrides, gdb/Python helpers and glibc's iconv
 * modules (`gconv`, unused by Node, whose ICU does the conversions) are dropped. Directories are
 * re-created from the kept files' paths, all 0755 root, except the ones listed here.
 *
 * This module is pure: reading packages, Node and bundles happens in `Build.ts`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type * as DebianLock from "./DebianLock.ts"
import type * as DebianPackage from "./DebianPackage.ts"
import * as Image from "./Image.ts"
import { ImageError } from "./ImageError.ts"
import * as Tar from "./Tar.ts"

/**
 * The Debian release the base comes from.
 *
 * @category constants
 */
export const suite = "bookworm"

/**
 * The Debian packages of the base layer (`--update-lock` pins these names).
 *
 * @category constants
 */
export const packages = ["base-files", "gcc-12-base", "libc6", "libgcc-s1", "libstdc++6"] as const

/**
 * Packages the image takes only data files from (see {@link keeps}); their dependencies serve
 * their maintainer scripts, which never run here.
 *
 * @category constants
 */
export const dataOnly = ["base-files"] as const

/**
 * A pinned package and what is in it.
 *
 * @category models
 */
export interface DebianInput {
  readonly pkg: DebianLock.Package
  readonly contents: DebianPackage.Contents
}

const dropped = [
  "usr/share/man/",
  "usr/share/info/",
  "usr/share/locale/",
  "usr/share/lintian/",
  "usr/share/gdb/",
  "usr/share/gcc/",
  "usr/lib/x86_64-linux-gnu/gconv/"
]

/** base-files is the system's skeleton; of it the image wants only these (and their parents). */
const fromBaseFiles = (path: string) =>
  path === "etc/debian_version" ||
  path === "etc/os-release" ||
  path === "usr/lib/os-release" ||
  path.startsWith("usr/share/common-licenses/") ||
  path === "usr/share/doc/base-files/copyright"

/**
 * Whether the image keeps a (non-directory) file of a package.
 *
 * @category predicates
 */
export const keeps = (packageName: string, path: string): boolean => {
  if (packageName === "base-files") return fromBaseFiles(path)
  if (path.startsWith("usr/share/doc/")) {
    const rest = path.slice("usr/share/doc/".length).split("/")
    // the copyright file, or the package's doc directory as a symlink to another's (libstdc++6 -> gcc-12-base)
    return rest.length === 1 || (rest.length === 2 && rest[1] === "copyright")
  }
  return !dropped.some((prefix) => path.startsWith(prefix))
}

const text = (path: string, content: string, mode = 0o644): Tar.Entry => ({
  type: "file",
  path,
  content: Buffer.from(content),
  mode
})

const dir = (path: string, mode = 0o755, owner = 0): Tar.Entry => ({
  type: "directory",
  path,
  mode,
  uid: owner,
  gid: owner
})

/**
 * Adds a 0755 root directory entry for every parent of every entry that has none.
 *
 * @category constructors
 */
export const withParents = (entries: ReadonlyArray<Tar.Entry>): ReadonlyArray<Tar.Entry> => {
  const present = new Set(entries.map((entry) => entry.path))
  const parents: Array<Tar.Entry> = []
  for (const entry of entries) {
    const parts = entry.path.split("/")
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/")
      if (!present.has(parent)) {
        present.add(parent)
        parents.push(dir(parent))
      }
    }
  }
  return [...entries, ...parents]
}

const same = (a: Tar.Entry, b: Tar.Entry): boolean =>
  a.type === b.type &&
  (a.mode ?? 0) === (b.mode ?? 0) &&
  (a.type !== "file" || (b.type === "file" && Buffer.from(a.content).equals(Buffer.from(b.content)))) &&
  ((a.type !== "symlink" && a.type !== "hardlink") ||
    ((b.type === "symlink" || b.type === "hardlink") && a.target === b.target))

const { uid, gid } = Image.user

/**
 * /etc/passwd: root and nonroot (and nobody), all with a shell that does not exist, as in
 * distroless: nobody logs in.
 *
 * @category constants
 */
export const passwd = [
  "root:x:0:0:root:/root:/sbin/nologin",
  "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin",
  `${Image.user.name}:x:${uid}:${gid}:${Image.user.name}:${Image.user.home}:/sbin/nologin`,
  ""
].join("\n")

/**
 * @category constants
 */
export const group = ["root:x:0:", "nogroup:x:65534:", `${Image.user.name}:x:${gid}:`, ""].join("\n")

/** glibc's default without this file would ask DNS before /etc/hosts. */
const nsswitch = ["passwd: files", "group: files", "shadow: files", "hosts: files dns", ""].join("\n")

/**
 * The base layer from the pinned packages' contents.
 *
 * @category constructors
 */
export const base = (inputs: ReadonlyArray<DebianInput>): Effect.Effect<ReadonlyArray<Tar.Entry>, ImageError> =>
  Effect.gen(function* () {
    const files = new Map<string, { readonly entry: Tar.Entry; readonly from: string }>()
    for (const { pkg, contents } of inputs) {
      for (const entry of contents.entries) {
        if (entry.type === "directory" || !keeps(pkg.name, entry.path)) continue
        const previous = files.get(entry.path)
        if (previous !== undefined && !same(previous.entry, entry)) {
          return yield* new ImageError({
            reason: "InvalidEntry",
            message: `${entry.path} is in both ${previous.from} and ${pkg.name}, with different contents`
          })
        }
        // Debian ships everything as root; the image does not trust a package to say otherwise.
        files.set(entry.path, { entry: { ...entry, uid: 0, gid: 0 }, from: pkg.name })
      }
    }
    const system: ReadonlyArray<Tar.Entry> = [
      text("etc/passwd", passwd),
      text("etc/group", group),
      text("etc/nsswitch.conf", nsswitch),
      dir("tmp", 0o1777),
      dir("root", 0o700),
      dir("home"),
      dir(Image.user.home.slice(1), 0o700, uid),
      dir("dev"),
      dir("proc"),
      dir("sys"),
      dir("run"),
      dir("usr/local/bin"),
      ...inputs.map(({ pkg, contents }) => text(`var/lib/dpkg/status.d/${pkg.name}`, contents.control))
    ]
    for (const entry of system) {
      if (files.has(entry.path)) {
        return yield* new ImageError({
          reason: "InvalidEntry",
          message: `${entry.path} is in ${files.get(entry.path)?.from}, and the image writes its own`
        })
      }
    }
    return withParents([...[...files.values()].map(({ entry }) => entry), ...system])
  })

/**
 * The Node layer: the binary (0755) and its licence.
 *
 * @category constructors
 */
export const node = (binary: Uint8Array, license: Uint8Array): ReadonlyArray<Tar.Entry> =>
  withParents([
    { type: "file", path: Image.node.slice(1), content: binary, mode: 0o755 },
    { type: "file", path: "usr/local/share/doc/node/LICENSE", content: license }
  ])

/**
 * The application layer: one bundle per process, the chunks they import (`/app/chunks/…`; a chunk
 * two processes share is one file, its name being a hash of its content) and the third-party
 * notices, read-only for everyone but root.
 *
 * @category constructors
 */
export const app = (
  bundles: ReadonlyArray<{
    readonly process: Image.Process
    readonly code: Uint8Array
    readonly chunks?: ReadonlyArray<{ readonly path: string; readonly code: Uint8Array }>
  }>,
  notices: string
): ReadonlyArray<Tar.Entry> => {
  const chunks = new Map(
    bundles
      .flatMap((bundle) => bundle.chunks ?? [])
      .map((chunk) => [`${Image.appDir.slice(1)}/${chunk.path}`, chunk.code])
  )
  return withParents([
    dir(Image.appDir.slice(1)),
    ...bundles.map(({ process, code }): Tar.Entry => ({
      type: "file",
      path: Image.bundle(process).slice(1),
      content: code
    })),
    ...[...chunks].map(([path, content]): Tar.Entry => ({ type: "file", path, content })),
    text(`${Image.appDir.slice(1)}/THIRD-PARTY-NOTICES`, notices)
  ])
}
