import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { mkdirSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as DebianArchive from "@obol/image/DebianArchive"
import type * as DebianLock from "@obol/image/DebianLock"

const good = Buffer.from("the real package")

/** An archive double on loopback serving `body` for every path; counts requests. */
const archive = (answer: () => { readonly status: number; readonly body: Buffer }) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ url: string; requests: () => number; close: () => Promise<void> }>((resolve) => {
          let requests = 0
          const server = createServer((_req, res) => {
            requests++
            const { status, body } = answer()
            res.writeHead(status)
            res.end(body)
          })
          server.listen(0, "127.0.0.1", () =>
            resolve({
              url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
              requests: () => requests,
              close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r())))
            })
          )
        })
    ),
    (s) => Effect.promise(s.close)
  )

const pinned = (base: string): DebianLock.Package => ({
  name: "libfoo1",
  version: "1.0-1",
  architecture: "amd64",
  url: `${base}/debian/pool/main/f/foo/libfoo1_1.0-1_amd64.deb`,
  size: good.byteLength,
  sha256: createHash("sha256").update(good).digest("hex")
})

describe("DebianArchive", () => {
  it.effect("downloads a pinned package once, then serves it from the cache", () =>
    Effect.gen(function* () {
      const server = yield* archive(() => ({ status: 200, body: good }))
      const cacheDir = mkdtempSync(join(tmpdir(), "image-cache-"))
      const debs = DebianArchive.make({ cacheDir })
      const first = yield* debs.fetch(pinned(server.url))
      expect(first).toEqual({ path: join(cacheDir, "debs", "libfoo1_1.0-1_amd64.deb"), cached: false })
      expect(readFileSync(first.path).equals(good)).toBe(true)
      const second = yield* debs.fetch(pinned(server.url))
      expect(second.cached).toBe(true)
      expect(server.requests()).toBe(1)
    })
  )

  it.effect("refuses a download whose sha256 is not the pinned one, and caches nothing", () =>
    Effect.gen(function* () {
      const server = yield* archive(() => ({ status: 200, body: Buffer.from("the evil package") }))
      const cacheDir = mkdtempSync(join(tmpdir(), "image-cache-"))
      const error = yield* Effect.flip(DebianArchive.make({ cacheDir }).fetch(pinned(server.url)))
      expect(error.reason).toBe("ChecksumMismatch")
      expect(error.message).toMatch(
        /^libfoo1 1\.0-1: sha256 of http:\/\/127\.0\.0\.1:\d+\/.*libfoo1_1\.0-1_amd64\.deb is [0-9a-f]{64}, the lock file pins [0-9a-f]{64}; refusing it$/u
      )
      expect(existsSync(join(cacheDir, "debs", "libfoo1_1.0-1_amd64.deb"))).toBe(false)
    })
  )

  it.effect("downloads again when the cached file no longer matches the lock", () =>
    Effect.gen(function* () {
      const server = yield* archive(() => ({ status: 200, body: good }))
      const cacheDir = mkdtempSync(join(tmpdir(), "image-cache-"))
      mkdirSync(join(cacheDir, "debs"))
      writeFileSync(join(cacheDir, "debs", "libfoo1_1.0-1_amd64.deb"), "truncated")
      const fetched = yield* DebianArchive.make({ cacheDir }).fetch(pinned(server.url))
      expect(fetched.cached).toBe(false)
      expect(readFileSync(fetched.path).equals(good)).toBe(true)
    })
  )

  it.effect("says how to refresh the lock when the archive no longer has the version", () =>
    Effect.gen(function* () {
      const server = yield* archive(() => ({ status: 404, body: Buffer.from("gone") }))
      const error = yield* Effect.flip(
        DebianArchive.make({ cacheDir: mkdtempSync(join(tmpdir(), "image-cache-")) }).fetch(pinned(server.url))
      )
      expect(error.reason).toBe("DownloadFailed")
      expect(error.message).toContain("404")
      expect(error.message).toContain("npm run image -- --update-lock")
    })
  )
})
