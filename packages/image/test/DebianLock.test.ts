import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import * as DebianLock from "@obol/image/DebianLock"
import * as RootFs from "@obol/image/RootFs"

const bytes = Buffer.from("a pretend .deb")

const pkg: DebianLock.Package = {
  name: "libc6",
  version: "2.36-9+deb12u14",
  architecture: "amd64",
  url: "http://deb.debian.org/debian/pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb",
  size: bytes.byteLength,
  sha256: createHash("sha256").update(bytes).digest("hex")
}

const lockText = (packages: ReadonlyArray<unknown>) => JSON.stringify({ suite: "bookworm", packages })

describe("DebianLock", () => {
  it.effect("parses a lock and writes it back as the same text", () =>
    Effect.gen(function* () {
      const lock = yield* DebianLock.decode(lockText([pkg]), "test.lock.json")
      expect(lock.packages).toEqual([pkg])
      const again = yield* DebianLock.decode(DebianLock.encode(lock), "again")
      expect(DebianLock.encode(again)).toBe(DebianLock.encode(lock))
    })
  )

  it.effect("refuses a malformed lock, naming the file and the field", () =>
    Effect.gen(function* () {
      const badSha = yield* Effect.flip(DebianLock.decode(lockText([{ ...pkg, sha256: "ABC" }]), "test.lock.json"))
      expect(badSha.reason).toBe("LockInvalid")
      expect(badSha.message).toContain("test.lock.json")
      expect(badSha.message).toContain("sha256")
      const noUrl = yield* Effect.flip(DebianLock.decode(lockText([{ ...pkg, url: "ftp://x/y.deb" }]), "l"))
      expect(noUrl.message).toContain("url")
      const twice = yield* Effect.flip(DebianLock.decode(lockText([pkg, pkg]), "l"))
      expect(twice.message).toBe('l: "libc6" is pinned twice')
      const notJson = yield* Effect.flip(DebianLock.decode("{", "l"))
      expect(notJson.reason).toBe("LockInvalid")
    })
  )

  it.effect("accepts the pinned bytes and refuses others with both digests in the message", () =>
    Effect.gen(function* () {
      yield* DebianLock.verify(pkg, bytes)
      const tampered = Buffer.from(bytes)
      tampered[0] = 0x41
      const wrong = yield* Effect.flip(DebianLock.verify(pkg, tampered))
      expect(wrong.reason).toBe("ChecksumMismatch")
      expect(wrong.message).toBe(
        `libc6 2.36-9+deb12u14: sha256 of ${pkg.url} is ${DebianLock.sha256(tampered)}, ` +
          `the lock file pins ${pkg.sha256}; refusing it`
      )
      const short = yield* Effect.flip(DebianLock.verify(pkg, bytes.subarray(1)))
      expect(short.reason).toBe("ChecksumMismatch")
      expect(short.message).toContain(`has ${bytes.byteLength - 1} bytes, the lock file pins ${bytes.byteLength}`)
    })
  )

  it.effect("the committed lock pins exactly the packages the root file system needs", () =>
    Effect.gen(function* () {
      const lock = yield* DebianLock.read(join(import.meta.dirname, "..", "debian.lock.json"))
      expect(lock.suite).toBe(RootFs.suite)
      expect(lock.packages.map((p) => p.name).toSorted()).toEqual([...RootFs.packages].toSorted())
      const text = readFileSync(join(import.meta.dirname, "..", "debian.lock.json"), "utf8")
      expect(DebianLock.encode(lock)).toBe(text)
    })
  )
})
