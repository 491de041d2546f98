import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import * as OciArchive from "@obol/image/OciArchive"
import * as Tar from "@obol/image/Tar"

const runtime = {
  entrypoint: ["/usr/local/bin/node"],
  cmd: ["/app/a.mjs"],
  workingDir: "/app",
  user: "65532:65532",
  env: ["NODE_ENV=production"]
}

const layer = (path: string, text: string) =>
  Tar.pack([{ type: "file", path, content: Buffer.from(text) }]).pipe(
    Effect.map((tar): OciArchive.Layer => ({ tar, createdBy: `adds ${path}` }))
  )

const image = Effect.gen(function* () {
  const layers = [yield* layer("etc/passwd", "root:x:0:0::/root:/sbin/nologin\n"), yield* layer("app/a.mjs", "1")]
  return yield* OciArchive.build({ reference: "ghcr.io/example/thing:1.2.3", layers, runtime, created: 0 })
})

/** The archive's members by path. */
const members = (archive: Uint8Array) =>
  Tar.read(archive, "archive").pipe(
    Effect.map(
      (entries) =>
        new Map(entries.flatMap((e) => (e.type === "file" ? [[e.path, Buffer.from(e.content)] as const] : [])))
    )
  )

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

/** Resolves a descriptor to its blob, checking digest and size as a loader does. */
const resolve = (files: ReadonlyMap<string, Buffer>, descriptor: OciArchive.Descriptor) => {
  const blob = files.get(`blobs/${descriptor.digest.replace(":", "/")}`)
  expect(blob, `blob of ${descriptor.digest}`).toBeDefined()
  expect(sha256(blob!)).toBe(descriptor.digest)
  expect(blob!.byteLength).toBe(descriptor.size)
  return blob!
}

describe("OciArchive", () => {
  it.effect("index.json → manifest → config and layers: every digest resolves to a blob of that size", () =>
    Effect.gen(function* () {
      const built = yield* image
      const files = yield* members(built.archive)
      expect(JSON.parse(files.get("oci-layout")!.toString())).toEqual({ imageLayoutVersion: "1.0.0" })
      const index = JSON.parse(files.get("index.json")!.toString())
      expect(index).toMatchObject({ schemaVersion: 2, mediaType: OciArchive.mediaTypes.index })
      expect(index.manifests).toHaveLength(1)
      const entry = index.manifests[0]
      expect(entry.annotations).toEqual({
        "io.containerd.image.name": "ghcr.io/example/thing:1.2.3",
        "org.opencontainers.image.ref.name": "1.2.3"
      })
      expect(entry.digest).toBe(built.manifest.digest)
      const manifest = JSON.parse(resolve(files, entry).toString())
      expect(manifest.mediaType).toBe(OciArchive.mediaTypes.manifest)
      const config = JSON.parse(resolve(files, manifest.config).toString())
      const layers = manifest.layers.map((d: OciArchive.Descriptor) => resolve(files, d))
      expect(layers).toHaveLength(2)
      expect(manifest.layers.map((d: OciArchive.Descriptor) => d.mediaType)).toEqual([
        OciArchive.mediaTypes.layer,
        OciArchive.mediaTypes.layer
      ])
      // uncompressed layers: the diff_ids are the layer digests
      expect(config.rootfs).toEqual({
        type: "layers",
        diff_ids: manifest.layers.map((d: OciArchive.Descriptor) => d.digest)
      })
      expect(config).toMatchObject({
        architecture: "amd64",
        os: "linux",
        created: "1970-01-01T00:00:00Z",
        config: {
          Entrypoint: ["/usr/local/bin/node"],
          Cmd: ["/app/a.mjs"],
          WorkingDir: "/app",
          User: "65532:65532",
          Env: ["NODE_ENV=production"]
        }
      })
      expect(config.history.map((h: { created_by: string }) => h.created_by)).toEqual([
        "adds etc/passwd",
        "adds app/a.mjs"
      ])
    })
  )

  it.effect("has the Docker manifest.json that docker load reads, naming the same blobs", () =>
    Effect.gen(function* () {
      const built = yield* image
      const files = yield* members(built.archive)
      const docker = JSON.parse(files.get("manifest.json")!.toString())
      expect(docker).toEqual([
        {
          Config: `blobs/${built.config.digest.replace(":", "/")}`,
          RepoTags: ["ghcr.io/example/thing:1.2.3"],
          Layers: built.layers.map((d) => `blobs/${d.digest.replace(":", "/")}`)
        }
      ])
      for (const path of [docker[0].Config, ...docker[0].Layers]) expect(files.has(path)).toBe(true)
    })
  )

  it.effect("is the same bytes when built twice from the same layers", () =>
    Effect.gen(function* () {
      const one = yield* image
      const two = yield* image
      expect(two.manifest.digest).toBe(one.manifest.digest)
      expect(Buffer.from(two.archive).equals(Buffer.from(one.archive))).toBe(true)
    })
  )

  it.effect("changes the digest when a layer or the created time changes", () =>
    Effect.gen(function* () {
      const base = yield* image
      const other = yield* OciArchive.build({
        reference: "ghcr.io/example/thing:1.2.3",
        layers: [yield* layer("etc/passwd", "changed\n")],
        runtime
      })
      const later = yield* OciArchive.build({
        reference: "ghcr.io/example/thing:1.2.3",
        layers: [yield* layer("etc/passwd", "root:x:0:0::/root:/sbin/nologin\n"), yield* layer("app/a.mjs", "1")],
        runtime,
        created: 1_700_000_000
      })
      expect(new Set([base.manifest.digest, other.manifest.digest, later.manifest.digest]).size).toBe(3)
    })
  )

  it("writes JSON with sorted keys and no whitespace", () => {
    expect(Buffer.from(OciArchive.canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: "x" } })).toString()).toBe(
      '{"a":{"c":"x","d":[{"y":2,"z":1}]},"b":1}'
    )
  })
})
