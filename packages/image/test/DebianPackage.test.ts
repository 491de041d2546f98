import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { chmodSync, linkSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import * as DebianPackage from "@obol/image/DebianPackage"

/** A real, small .deb made with `dpkg-deb --build`, as the archive would serve one. */
const makeDeb = () => {
  const dir = mkdtempSync(join(tmpdir(), "deb-test-"))
  const tree = join(dir, "tree")
  const put = (path: string, text: string, mode = 0o644) => {
    mkdirSync(dirname(join(tree, path)), { recursive: true })
    writeFileSync(join(tree, path), text)
    chmodSync(join(tree, path), mode)
  }
  put(
    "DEBIAN/control",
    "Package: libfoo1\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: Test <t@example.org>\nDescription: test\n long text\n"
  )
  put("usr/lib/x86_64-linux-gnu/libfoo.so.1.0", "ELF", 0o755)
  symlinkSync("libfoo.so.1.0", join(tree, "usr/lib/x86_64-linux-gnu/libfoo.so.1"))
  linkSync(join(tree, "usr/lib/x86_64-linux-gnu/libfoo.so.1.0"), join(tree, "usr/lib/x86_64-linux-gnu/libfoo-hard.so"))
  put("usr/share/doc/libfoo1/copyright", "MIT")
  put("usr/share/man/man1/foo.1", "manual")
  const deb = join(dir, "libfoo1_1.0-1_amd64.deb")
  const built = spawnSync("dpkg-deb", ["--root-owner-group", "--build", tree, deb], { encoding: "utf8" })
  expect(built.status, built.stderr).toBe(0)
  return deb
}

describe("DebianPackage", () => {
  it.effect("reads a package's files from its data archive, with modes and links, and its control paragraph", () =>
    Effect.gen(function* () {
      const contents = yield* DebianPackage.read(makeDeb())
      const byPath = new Map(contents.entries.map((e) => [e.path, e]))
      expect(byPath.get("usr/lib/x86_64-linux-gnu/libfoo.so.1.0")).toMatchObject({ mode: 0o755, uid: 0 })
      expect(byPath.get("usr/lib/x86_64-linux-gnu/libfoo.so.1")).toMatchObject({
        type: "symlink",
        target: "libfoo.so.1.0"
      })
      const hard = [
        byPath.get("usr/lib/x86_64-linux-gnu/libfoo-hard.so"),
        byPath.get("usr/lib/x86_64-linux-gnu/libfoo.so.1.0")
      ]
      // one of the two names holds the bytes, the other is a hard link to it
      expect(hard.map((e) => e?.type).toSorted()).toEqual(["file", "hardlink"])
      const link = hard.find((e) => e?.type === "hardlink")
      expect(link?.type === "hardlink" && hard.some((e) => e?.type === "file" && e.path === link.target)).toBe(true)
      expect(byPath.get("usr/share/doc/libfoo1/copyright")).toMatchObject({ type: "file" })
      expect(byPath.get("usr/share")).toMatchObject({ type: "directory", mode: 0o755 })
      expect(contents.control).toBe(
        "Package: libfoo1\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: Test <t@example.org>\nDescription: test\n long text\n"
      )
    })
  )

  it.effect("says what is wrong with a file that is not a package", () =>
    Effect.gen(function* () {
      const path = join(mkdtempSync(join(tmpdir(), "deb-test-")), "broken.deb")
      writeFileSync(path, "not an ar archive")
      const error = yield* Effect.flip(DebianPackage.read(path))
      expect(error.reason).toBe("ExtractFailed")
      expect(error.message).toContain("broken.deb")
    })
  )
})
