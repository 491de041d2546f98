import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Image from "@obol/image/Image"
import * as OciArchive from "@obol/image/OciArchive"
import * as RootFs from "@obol/image/RootFs"
import * as Tar from "@obol/image/Tar"

const file = (path: string, text: string, mode?: number): Tar.Entry => ({
  type: "file",
  path,
  content: Buffer.from(text),
  ...(mode === undefined ? {} : { mode })
})

const input = (name: string, entries: ReadonlyArray<Tar.Entry>): RootFs.DebianInput => ({
  pkg: {
    name,
    version: "1.0-1",
    architecture: "amd64",
    url: `http://deb.debian.org/debian/pool/main/x/${name}_1.0-1_amd64.deb`,
    size: 1,
    sha256: "0".repeat(64)
  },
  contents: { entries, control: `Package: ${name}\nVersion: 1.0-1\n` }
})

const libc = input("libc6", [
  { type: "directory", path: "lib" },
  { type: "directory", path: "lib/x86_64-linux-gnu" },
  file("lib/x86_64-linux-gnu/libc.so.6", "libc", 0o755),
  { type: "symlink", path: "lib64/ld-linux-x86-64.so.2", target: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" },
  file("usr/lib/x86_64-linux-gnu/gconv/UTF-16.so", "iconv"),
  file("usr/share/doc/libc6/copyright", "LGPL"),
  file("usr/share/doc/libc6/changelog.Debian.gz", "changes"),
  file("usr/share/locale/de/LC_MESSAGES/libc.mo", "de"),
  file("usr/share/lintian/overrides/libc6", "lintian")
])
const libstdcxx = input("libstdc++6", [
  file("usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30", "c++"),
  { type: "symlink", path: "usr/share/doc/libstdc++6", target: "gcc-12-base" },
  file("usr/share/gdb/auto-load/libstdc++.py", "gdb")
])
const baseFiles = input("base-files", [
  file("etc/debian_version", "12.12\n"),
  { type: "symlink", path: "etc/os-release", target: "../usr/lib/os-release" },
  file("usr/lib/os-release", 'ID=debian\nVERSION_ID="12"\n'),
  file("etc/profile", "PATH=..."),
  file("usr/share/common-licenses/GPL-3", "GPL"),
  file("usr/share/doc/base-files/copyright", "GPL"),
  file("usr/share/doc/base-files/README", "readme")
])

const paths = (entries: ReadonlyArray<Tar.Entry>) => entries.map((e) => e.path).toSorted()

describe("RootFs", () => {
  it("keeps libraries and copyright files; drops documentation, locales, lintian, gdb helpers and iconv modules", () => {
    expect(RootFs.keeps("libc6", "lib/x86_64-linux-gnu/libc.so.6")).toBe(true)
    expect(RootFs.keeps("libc6", "usr/share/doc/libc6/copyright")).toBe(true)
    expect(RootFs.keeps("libstdc++6", "usr/share/doc/libstdc++6")).toBe(true)
    expect(RootFs.keeps("libc6", "usr/share/doc/libc6/NEWS.gz")).toBe(false)
    expect(RootFs.keeps("libc6", "usr/share/man/man8/ld.so.8.gz")).toBe(false)
    expect(RootFs.keeps("libc6", "usr/share/locale/de/LC_MESSAGES/libc.mo")).toBe(false)
    expect(RootFs.keeps("libc6", "usr/lib/x86_64-linux-gnu/gconv/UTF-16.so")).toBe(false)
    expect(RootFs.keeps("base-files", "etc/profile")).toBe(false)
    expect(RootFs.keeps("base-files", "usr/share/common-licenses/Apache-2.0")).toBe(true)
  })

  it.effect("builds the base: kept package files, users, /tmp, home, status.d, and every parent directory", () =>
    Effect.gen(function* () {
      const base = yield* RootFs.base([libc, libstdcxx, baseFiles])
      expect(paths(base)).toEqual(
        [
          "dev",
          "etc",
          "etc/debian_version",
          "etc/group",
          "etc/nsswitch.conf",
          "etc/os-release",
          "etc/passwd",
          "home",
          "home/nonroot",
          "lib",
          "lib/x86_64-linux-gnu",
          "lib/x86_64-linux-gnu/libc.so.6",
          "lib64",
          "lib64/ld-linux-x86-64.so.2",
          "proc",
          "root",
          "run",
          "sys",
          "tmp",
          "usr",
          "usr/lib",
          "usr/lib/os-release",
          "usr/lib/x86_64-linux-gnu",
          "usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30",
          "usr/local",
          "usr/local/bin",
          "usr/share",
          "usr/share/common-licenses",
          "usr/share/common-licenses/GPL-3",
          "usr/share/doc",
          "usr/share/doc/base-files",
          "usr/share/doc/base-files/copyright",
          "usr/share/doc/libc6",
          "usr/share/doc/libc6/copyright",
          "usr/share/doc/libstdc++6",
          "var",
          "var/lib",
          "var/lib/dpkg",
          "var/lib/dpkg/status.d",
          "var/lib/dpkg/status.d/base-files",
          "var/lib/dpkg/status.d/libc6",
          "var/lib/dpkg/status.d/libstdc++6"
        ].toSorted()
      )
      const byPath = new Map(base.map((e) => [e.path, e]))
      expect(byPath.get("tmp")).toMatchObject({ type: "directory", mode: 0o1777 })
      expect(byPath.get("home/nonroot")).toMatchObject({ mode: 0o700, uid: Image.user.uid, gid: Image.user.gid })
      expect(byPath.get("lib/x86_64-linux-gnu/libc.so.6")).toMatchObject({ mode: 0o755, uid: 0, gid: 0 })
      const status = byPath.get("var/lib/dpkg/status.d/libc6")
      expect(status?.type === "file" && Buffer.from(status.content).toString()).toBe("Package: libc6\nVersion: 1.0-1\n")
      expect(RootFs.passwd).toContain("nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")
      expect(RootFs.group).toContain("nonroot:x:65532:\n")
    })
  )

  it.effect("accepts a file two packages ship identically, and refuses one they ship differently", () =>
    Effect.gen(function* () {
      const same = input("gcc-12-base", [file("usr/share/doc/libc6/copyright", "LGPL")])
      yield* RootFs.base([libc, same])
      const clash = input("gcc-12-base", [file("lib/x86_64-linux-gnu/libc.so.6", "other", 0o755)])
      const error = yield* Effect.flip(RootFs.base([libc, clash]))
      expect(error).toMatchObject({
        reason: "InvalidEntry",
        message: "lib/x86_64-linux-gnu/libc.so.6 is in both libc6 and gcc-12-base, with different contents"
      })
      const passwd = yield* Effect.flip(RootFs.base([input("evil", [file("etc/passwd", "root::0:0::/:/bin/sh")])]))
      expect(passwd.message).toBe("etc/passwd is in evil, and the image writes its own")
    })
  )

  it.effect("puts Node and the bundles where the image contract says", () =>
    Effect.gen(function* () {
      const node = RootFs.node(Buffer.from("ELF"), Buffer.from("MIT"))
      expect(node.find((e) => e.path === "usr/local/bin/node")).toMatchObject({ type: "file", mode: 0o755 })
      const app = RootFs.app([{ process: "x402-verifier", code: Buffer.from("export {}") }], "notices")
      expect(paths(app)).toEqual(["app", "app/THIRD-PARTY-NOTICES", "app/x402-verifier.mjs"])
      // chunks next to the bundles; one two processes share is written once
      const shared = { path: "chunks/client-node-AAAA.mjs", code: Buffer.from("export const k = 1") }
      const withChunks = RootFs.app(
        [
          { process: "x402-verifier", code: Buffer.from("a"), chunks: [shared] },
          {
            process: "registrar",
            code: Buffer.from("b"),
            chunks: [shared, { path: "chunks/c-BBBB.mjs", code: Buffer.from("c") }]
          }
        ],
        "notices"
      )
      expect(paths(withChunks)).toEqual([
        "app",
        "app/THIRD-PARTY-NOTICES",
        "app/chunks",
        "app/chunks/c-BBBB.mjs",
        "app/chunks/client-node-AAAA.mjs",
        "app/registrar.mjs",
        "app/x402-verifier.mjs"
      ])
      yield* Effect.void
    })
  )

  it.effect("is reproducible: the same small inputs, in any order, give the same image bytes and digest", () =>
    Effect.gen(function* () {
      const build = (inputs: ReadonlyArray<RootFs.DebianInput>, bundles: Parameters<typeof RootFs.app>[0]) =>
        Effect.gen(function* () {
          const layers = [
            yield* RootFs.base(inputs),
            RootFs.node(Buffer.from("ELF"), Buffer.from("MIT")),
            RootFs.app(bundles, "notices")
          ]
          const packed: Array<OciArchive.Layer> = []
          for (const entries of layers) {
            packed.push({ tar: yield* Tar.pack(entries), createdBy: "test" })
          }
          return yield* OciArchive.build({ reference: Image.reference, layers: packed, runtime: Image.runtime })
        })
      const a = [
        { process: "registrar" as const, code: Buffer.from("a") },
        { process: "x402-verifier" as const, code: Buffer.from("b") }
      ]
      const one = yield* build([libc, libstdcxx, baseFiles], a)
      const two = yield* build(
        [
          baseFiles,
          { ...libstdcxx, contents: { ...libstdcxx.contents, entries: libstdcxx.contents.entries.toReversed() } },
          libc
        ],
        a.toReversed()
      )
      expect(two.manifest.digest).toBe(one.manifest.digest)
      expect(Buffer.from(two.archive).equals(Buffer.from(one.archive))).toBe(true)
    })
  )
})
