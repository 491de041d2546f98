/**
 * `npm run image`: builds the OCI archive (`Build.ts`) and ends with `KEY=value` lines: `IMAGE`
 * (the reference), `ARCHIVE` (its path), `SIZE` (bytes) and `DIGEST` (the manifest digest, the
 * same for the same inputs). `npm run image -- --update-lock` instead rewrites the Debian lock
 * from this machine's apt lists (`AptCache.ts`; run `apt-get update` first) and builds nothing.
 *
 * Exit status: 0 built; 1 a step failed (one line saying which and why); 2 an unknown argument.
 */
import { Effect } from "effect"
import { writeFile } from "node:fs/promises"
import { join, relative } from "node:path"
import * as AptCache from "./AptCache.ts"
import * as Build from "./Build.ts"
import * as DebianArchive from "./DebianArchive.ts"
import * as DebianLock from "./DebianLock.ts"
import * as Image from "./Image.ts"
import { ImageError } from "./ImageError.ts"
import * as RootFs from "./RootFs.ts"

const usage = `npm run image [-- --update-lock]

Builds ${Image.reference} without Docker into ${Image.archivePath}
(an OCI archive with a Docker manifest.json: docker load, k3d image import,
kind load image-archive, ctr images import and skopeo copy oci-archive: accept it).

  --update-lock   rewrite packages/image/debian.lock.json from apt-cache (run apt-get update first)

Environment: SOURCE_DATE_EPOCH (default 0) is the image's one timestamp;
OBOL_IMAGE_CACHE moves the package cache (default ~/.cache/obol-serviceoffer/image).
`

const updateLock = Effect.gen(function* () {
  const previous = yield* DebianLock.read(Build.lockPath).pipe(Effect.option)
  const lock = yield* AptCache.resolve(RootFs.suite, RootFs.packages, RootFs.dataOnly)
  yield* Effect.tryPromise({
    try: () => writeFile(Build.lockPath, DebianLock.encode(lock)),
    catch: (error) => new ImageError({ reason: "WriteFailed", message: `${Build.lockPath}: ${String(error)}` })
  })
  for (const pkg of lock.packages) {
    const before =
      previous._tag === "Some" ? previous.value.packages.find((p) => p.name === pkg.name)?.version : undefined
    const change = before === undefined ? "new" : before === pkg.version ? "unchanged" : `was ${before}`
    console.log(`${pkg.name} ${pkg.version} (${change}) ${pkg.url}`)
  }
  console.log(`wrote ${relative(Build.repositoryRoot, Build.lockPath)}`)
})

const build = Effect.gen(function* () {
  const created = yield* Build.sourceDateEpoch(process.env["SOURCE_DATE_EPOCH"])
  const result = yield* Build.run({
    root: Build.repositoryRoot,
    lockPath: Build.lockPath,
    output: join(Build.repositoryRoot, Image.archivePath),
    created
  }).pipe(Effect.provide(DebianArchive.layer({ cacheDir: DebianArchive.defaultCacheDir() })))
  console.log(`IMAGE=${Image.reference}`)
  console.log(`ARCHIVE=${relative(Build.repositoryRoot, result.output)}`)
  console.log(`SIZE=${result.size}`)
  console.log(`DIGEST=${result.manifest.digest}`)
})

const args = process.argv.slice(2)
if (args.includes("--help") || args.includes("-h")) {
  console.log(usage)
} else if (args.some((arg) => arg !== "--update-lock")) {
  console.error(`unknown argument: ${args.find((arg) => arg !== "--update-lock")}\n\n${usage}`)
  process.exitCode = 2
} else {
  const exit = await Effect.runPromiseExit(args.includes("--update-lock") ? updateLock : build)
  if (exit._tag === "Failure") {
    const failure = exit.cause.reasons.find((reason) => reason._tag === "Fail")
    console.error(
      failure !== undefined && failure.error instanceof ImageError
        ? `image: ${failure.error.reason}: ${failure.error.message}`
        : `image: failed: ${String(exit.cause)}`
    )
    process.exitCode = 1
  }
}
