import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Tar from "@obol/image/Tar"

const file = (
  path: string,
  text: string,
  extra: Partial<{ mode: number; uid: number; gid: number }> = {}
): Tar.Entry => ({
  type: "file",
  path,
  content: Buffer.from(text),
  ...extra
})

const entries: ReadonlyArray<Tar.Entry> = [
  file("usr/lib/b.so", "b"),
  { type: "symlink", path: "usr/lib/a.so", target: "b.so" },
  { type: "directory", path: "tmp", mode: 0o1777 },
  { type: "directory", path: "home/nonroot", mode: 0o700, uid: 65532, gid: 65532 },
  { type: "directory", path: "./usr/" },
  { type: "directory", path: "usr/lib" },
  { type: "directory", path: "home" },
  { type: "hardlink", path: "usr/lib/c.so", target: "/usr/lib/b.so" },
  file("etc/passwd", "root:x:0:0::/root:/sbin/nologin\n"),
  { type: "directory", path: "etc" }
]

/** `tar -tvf` as GNU tar prints it (full times, numeric owners). */
const gnuTarList = (archive: Uint8Array) => {
  const path = join(mkdtempSync(join(tmpdir(), "tar-test-")), "a.tar")
  writeFileSync(path, archive)
  const listed = spawnSync("tar", ["--full-time", "--numeric-owner", "-tvf", path], { encoding: "utf8" })
  expect(listed.status, listed.stderr).toBe(0)
  return listed.stdout.trimEnd().split("\n")
}

describe("Tar", () => {
  it.effect("writes entries sorted by path, with one mtime, root ownership unless set, and default modes", () =>
    Effect.gen(function* () {
      const archive = yield* Tar.pack(entries, { mtime: 1_700_000_000 })
      const lines = gnuTarList(archive)
      expect(lines.map((line) => line.split(/\s+/u).slice(5).join(" "))).toEqual([
        "etc/",
        "etc/passwd",
        "home/",
        "home/nonroot/",
        "tmp/",
        "usr/",
        "usr/lib/",
        "usr/lib/a.so -> b.so",
        "usr/lib/b.so",
        "usr/lib/c.so link to usr/lib/b.so"
      ])
      for (const line of lines) expect(line).toContain("2023-11-14 22:13:20")
      expect(lines.find((l) => l.endsWith("home/nonroot/"))).toMatch(/^drwx------ 65532\/65532 /u)
      expect(lines.find((l) => l.endsWith("tmp/"))).toMatch(/^drwxrwxrwt 0\/0 /u)
      expect(lines.find((l) => l.endsWith("etc/passwd"))).toMatch(/^-rw-r--r-- 0\/0 /u)
      expect(lines.find((l) => l.endsWith("etc/"))).toMatch(/^drwxr-xr-x 0\/0 /u)
    })
  )

  it.effect("gives the same bytes for the same entries in any order; mtime defaults to the epoch", () =>
    Effect.gen(function* () {
      const one = yield* Tar.pack(entries)
      const two = yield* Tar.pack(entries.toReversed())
      expect(Buffer.from(one).equals(Buffer.from(two))).toBe(true)
      expect(gnuTarList(one)[0]).toContain("1970-01-01 00:00:00")
    })
  )

  it.effect("writes a ustar archive whose user and group names are empty (readers use the numbers)", () =>
    Effect.gen(function* () {
      const archive = Buffer.from(yield* Tar.pack([file("a", "x", { uid: 65532, gid: 65532 })]))
      expect(archive.subarray(257, 263).toString("latin1")).toBe("ustar\0")
      expect(archive.subarray(265, 265 + 32).every((byte) => byte === 0)).toBe(true)
      expect(archive.byteLength % 512).toBe(0)
    })
  )

  it.effect("stores a path longer than ustar allows in a pax header that GNU tar reads", () =>
    Effect.gen(function* () {
      const long = `${"a".repeat(120)}/${"b".repeat(120)}.txt`
      const archive = yield* Tar.pack([file(long, "long")])
      expect(Buffer.from(archive).includes(Buffer.from(" path="))).toBe(true)
      expect(gnuTarList(archive)[0]).toContain(long)
      const back = yield* Tar.read(archive, "test")
      expect(back.map((e) => e.path)).toEqual([long])
    })
  )

  it.effect("reads back what it wrote: contents, link targets, modes and owners", () =>
    Effect.gen(function* () {
      const back = yield* Tar.read(yield* Tar.pack(entries), "test")
      const byPath = new Map(back.map((entry) => [entry.path, entry]))
      const passwd = byPath.get("etc/passwd")
      expect(passwd?.type === "file" && Buffer.from(passwd.content).toString()).toBe(
        "root:x:0:0::/root:/sbin/nologin\n"
      )
      expect(byPath.get("usr/lib/a.so")).toMatchObject({ type: "symlink", target: "b.so" })
      expect(byPath.get("usr/lib/c.so")).toMatchObject({ type: "hardlink", target: "usr/lib/b.so" })
      expect(byPath.get("tmp")).toMatchObject({ type: "directory", mode: 0o1777, uid: 0 })
      expect(byPath.get("home/nonroot")).toMatchObject({ mode: 0o700, uid: 65532, gid: 65532 })
    })
  )

  it.effect("refuses two entries for one path, and paths that leave the root", () =>
    Effect.gen(function* () {
      const twice = yield* Effect.flip(Tar.pack([file("etc/passwd", "a"), file("/etc/passwd", "b")]))
      expect(twice).toMatchObject({ reason: "InvalidEntry", message: 'two entries for "etc/passwd"' })
      const escape = yield* Effect.flip(Tar.pack([file("../etc/passwd", "a")]))
      expect(escape.reason).toBe("InvalidEntry")
      const empty = yield* Effect.flip(Tar.pack([file("./", "a")]))
      expect(empty.reason).toBe("InvalidEntry")
    })
  )
})
