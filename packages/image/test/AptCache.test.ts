import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as AptCache from "@obol/image/AptCache"

const show = `Package: libc6
Source: glibc
Version: 2.36-9+deb12u7
Architecture: amd64
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
Filename: pool/updates/main/g/glibc/libc6_2.36-9+deb12u7_amd64.deb
Size: 2757936
SHA256: eba944bd99c2f5142baf573e6294a70f00758083bc3c2dca4c9e445943a3f8e6

Package: libgcc-s1
Version: 12.2.0-14+deb12u1
Architecture: amd64
Depends: gcc-12-base (= 12.2.0-14+deb12u1), libc6 (>= 2.35)
Filename: pool/main/g/gcc-12/libgcc-s1_12.2.0-14+deb12u1_amd64.deb
Size: 49856
SHA256: 3016e62cb4b7cd8038822870601f5ed131befe942774d0f745622cc77d8a88f7

Package: gcc-12-base
Version: 12.2.0-14+deb12u1
Architecture: amd64
Filename: pool/main/g/gcc-12/gcc-12-base_12.2.0-14+deb12u1_amd64.deb
Size: 37596
SHA256: 1896a2aacf4ad681ff5eacc24a5b0ca4d5d9c9b9c9e4b6de5197bc1e116ea619

Package: base-files
Version: 12.4+deb12u14
Architecture: amd64
Pre-Depends: awk
Filename: pool/main/b/base-files/base-files_12.4+deb12u14_amd64.deb
Size: 70940
SHA256: f6d54a67bcc56ec1698de8093ebd9dce8ad02cfb8828882be676e6f157f3f6b3
`

describe("AptCache", () => {
  it("parses control paragraphs, continuation lines included", () => {
    const [libc6] = AptCache.parseParagraphs(show)
    expect(libc6?.["Package"]).toBe("libc6")
    expect(libc6?.["Description"]).toBe(
      "GNU C Library: Shared libraries\n Contains the standard libraries that are used by nearly all programs on\n the system."
    )
  })

  it("reads dependency clauses with versions, architectures and alternatives", () => {
    expect(AptCache.dependencies("libc6 (>= 2.35), libfoo:any | libbar, gcc-12-base (= 1)")).toEqual([
      ["libc6"],
      ["libfoo", "libbar"],
      ["gcc-12-base"]
    ])
  })

  it.effect("pins each package from its archive: security updates from debian-security", () =>
    Effect.gen(function* () {
      const lock = yield* AptCache.toLock(
        "bookworm",
        ["libc6", "libgcc-s1", "gcc-12-base"],
        AptCache.parseParagraphs(show)
      )
      expect(lock.packages.map((p) => [p.name, p.url])).toEqual([
        ["libc6", "http://deb.debian.org/debian-security/pool/updates/main/g/glibc/libc6_2.36-9+deb12u7_amd64.deb"],
        ["libgcc-s1", "http://deb.debian.org/debian/pool/main/g/gcc-12/libgcc-s1_12.2.0-14+deb12u1_amd64.deb"],
        ["gcc-12-base", "http://deb.debian.org/debian/pool/main/g/gcc-12/gcc-12-base_12.2.0-14+deb12u1_amd64.deb"]
      ])
      expect(lock.packages[0]).toMatchObject({ version: "2.36-9+deb12u7", size: 2757936 })
    })
  )

  it.effect("refuses a package set missing a dependency, except for data-only packages", () =>
    Effect.gen(function* () {
      const paragraphs = AptCache.parseParagraphs(show)
      const missing = yield* Effect.flip(AptCache.toLock("bookworm", ["libc6", "libgcc-s1"], paragraphs))
      expect(missing).toMatchObject({
        reason: "LockInvalid",
        message: "libgcc-s1 depends on gcc-12-base, which the image does not include"
      })
      const awk = yield* Effect.flip(AptCache.toLock("bookworm", ["base-files"], paragraphs))
      expect(awk.message).toBe("base-files depends on awk, which the image does not include")
      const lock = yield* AptCache.toLock("bookworm", ["base-files"], paragraphs, ["base-files"])
      expect(lock.packages.map((p) => p.name)).toEqual(["base-files"])
      const unknown = yield* Effect.flip(AptCache.toLock("bookworm", ["busybox"], paragraphs))
      expect(unknown.message).toContain('apt-cache knows no package "busybox"')
    })
  )
})
