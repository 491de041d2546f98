/**
 * What is inside a `.deb`: its files as tar entries (`dpkg-deb --fsys-tarfile`, so modes,
 * symlinks and hard links are read from the package's own data archive, never from an extracted
 * copy on this machine's file system) and its control paragraph (`dpkg-deb --field`).
 *
 * It only reads; choosing which files go into the image is `RootFs.ts`'s job, and getting a
 * verified package file is `DebianArchive.ts`'s.
 *
 * @since 0.1.0
 */
import { Effect, Result } from "effect"
import { spawn } from "node:child_process"
import { ImageError } from "./ImageError.ts"
import * as Tar from "./Tar.ts"

/**
 * A package's contents.
 *
 * @category models
 */
export interface Contents {
  /** The package's files, paths relative to the root (`lib/x86_64-linux-gnu/libc.so.6`). */
  readonly entries: ReadonlyArray<Tar.Entry>
  /** The control paragraph (`Package:`, `Version:`, …), ending in one newline. */
  readonly control: string
}

const missing = (error: unknown): boolean =>
  typeof error === "object" && error !== null && "code" in error && error.code === "ENOENT"

const toolMissing = () =>
  new ImageError({
    reason: "ToolMissing",
    message: "dpkg-deb is not installed: `npm run image` reads Debian packages with it (apt-get install dpkg)"
  })

/**
 * Runs `dpkg-deb args`, handing its stdout to `consume` while it runs. A missing program is
 * `ToolMissing`; a failing one `ExtractFailed` with its stderr; when `consume` fails, the program
 * is stopped (so it cannot block on a full pipe) and `consume`'s error is the answer.
 */
const dpkgDeb = <A>(
  args: ReadonlyArray<string>,
  consume: (stdout: AsyncIterable<Uint8Array>) => Effect.Effect<A, ImageError>
): Effect.Effect<A, ImageError> =>
  Effect.suspend(() => {
    const child = spawn("dpkg-deb", args, { stdio: ["ignore", "pipe", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = Effect.tryPromise({
      try: () =>
        new Promise<number | null>((resolve, reject) => {
          child.on("error", reject)
          child.on("close", resolve)
        }),
      catch: (error) =>
        missing(error)
          ? toolMissing()
          : new ImageError({ reason: "ExtractFailed", message: `dpkg-deb ${args.join(" ")}: ${String(error)}` })
    })
    return Effect.all(
      [
        consume(child.stdout).pipe(
          Effect.tapError(() => Effect.sync(() => child.kill())),
          Effect.result
        ),
        exited
      ],
      { concurrency: 2 }
    ).pipe(
      Effect.flatMap(([result, code]) =>
        Result.isFailure(result)
          ? Effect.fail(result.failure)
          : code === 0
            ? Effect.succeed(result.success)
            : Effect.fail(
                new ImageError({
                  reason: "ExtractFailed",
                  message: `dpkg-deb ${args.join(" ")} exited with ${code}: ${stderr.trim()}`
                })
              )
      )
    )
  })

const collect = (stream: AsyncIterable<Uint8Array>) =>
  Effect.promise(async () => {
    const chunks: Array<Uint8Array> = []
    for await (const chunk of stream) chunks.push(chunk)
    return Buffer.concat(chunks).toString("utf8")
  })

/**
 * Reads a `.deb` file's contents and control paragraph.
 *
 * @category constructors
 */
export const read = Effect.fn("DebianPackage.read")(function* (path: string) {
  const entries = yield* dpkgDeb(["--fsys-tarfile", path], (stdout) => Tar.read(stdout, path))
  const control = yield* dpkgDeb(["--field", path], collect)
  return { entries, control: `${control.trimEnd()}\n` } satisfies Contents
})
