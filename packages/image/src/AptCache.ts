/**
 * Refreshing the Debian lock from this machine's apt lists (`npm run image -- --update-lock`):
 * `apt-cache show --no-all-versions` gives each package's candidate version with its pool
 * `Filename`, `Size` and `SHA256`, and this module turns that into lock entries. Packages from
 * the security archive (`pool/updates/…`) are fetched from `debian-security`, the rest from
 * `debian`.
 *
 * It also refuses a package set that is not closed under `Depends`/`Pre-Depends` (a library whose
 * dependency the image lacks would fail at run time, not at build time), except for packages the
 * image takes a few data files from (`base-files`' os-release and licences), whose dependencies
 * are about their own scripts. Run `apt-get update`
 * first: the lock is only as fresh as the lists. The build never calls this; it reads the
 * committed lock.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import type * as DebianLock from "./DebianLock.ts"
import { ImageError } from "./ImageError.ts"

/**
 * @category constants
 */
export const mirror = "http://deb.debian.org/debian/"

/**
 * @category constants
 */
export const securityMirror = "http://deb.debian.org/debian-security/"

/**
 * Parses Debian control paragraphs (`Key: value`, continuation lines start with a space) into
 * one record per paragraph.
 *
 * @category constructors
 */
export const parseParagraphs = (text: string): ReadonlyArray<Readonly<Record<string, string>>> =>
  text
    .split(/\n\s*\n/u)
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const fields: Record<string, string> = {}
      let last: string | undefined
      for (const line of block.split("\n")) {
        if ((line.startsWith(" ") || line.startsWith("\t")) && last !== undefined) {
          fields[last] = `${fields[last]}\n${line}`
        } else {
          const colon = line.indexOf(":")
          if (colon > 0) {
            last = line.slice(0, colon)
            fields[last] = line.slice(colon + 1).trim()
          }
        }
      }
      return fields
    })

/**
 * The package names a `Depends` value needs, one list of alternatives per clause:
 * `libc6 (>= 2.35), libfoo | libbar` gives `[["libc6"], ["libfoo", "libbar"]]`.
 *
 * @category constructors
 */
export const dependencies = (value: string | undefined): ReadonlyArray<ReadonlyArray<string>> =>
  (value ?? "")
    .split(",")
    .map((clause) =>
      clause
        .split("|")
        .map((alternative) => alternative.trim().split(/[\s(:]/u)[0] ?? "")
        .filter((name) => name !== "")
    )
    .filter((alternatives) => alternatives.length > 0)

/**
 * Lock entries from `apt-cache show` paragraphs, checking that `names` are all there and that
 * every dependency of a package not in `dataOnly` is among them.
 *
 * @category constructors
 */
export const toLock = (
  suite: string,
  names: ReadonlyArray<string>,
  paragraphs: ReadonlyArray<Readonly<Record<string, string>>>,
  dataOnly: ReadonlyArray<string> = []
): Effect.Effect<DebianLock.Lock, ImageError> => {
  const invalid = (message: string) => Effect.fail(new ImageError({ reason: "LockInvalid", message }))
  const packages: Array<DebianLock.Package> = []
  for (const name of names) {
    const p = paragraphs.find((fields) => fields["Package"] === name)
    if (p === undefined) return invalid(`apt-cache knows no package "${name}" (run apt-get update?)`)
    const filename = p["Filename"]
    const sha256 = p["SHA256"]
    const size = Number(p["Size"])
    if (filename === undefined || sha256 === undefined || !Number.isInteger(size)) {
      return invalid(`apt-cache show ${name}: no Filename/SHA256/Size (installed from outside the archive?)`)
    }
    const unmet = dataOnly.includes(name)
      ? []
      : [...dependencies(p["Pre-Depends"]), ...dependencies(p["Depends"])].filter(
          (alternatives) => !alternatives.some((dep) => names.includes(dep))
        )
    if (unmet.length > 0) {
      return invalid(
        `${name} depends on ${unmet.map((a) => a.join(" | ")).join(", ")}, which the image does not include`
      )
    }
    packages.push({
      name,
      version: p["Version"] ?? "",
      architecture: p["Architecture"] ?? "",
      url: (filename.startsWith("pool/updates/") ? securityMirror : mirror) + filename,
      size,
      sha256
    })
  }
  return Effect.succeed({ suite, packages })
}

/**
 * Runs `apt-cache show --no-all-versions names…` and builds the lock from its answer.
 *
 * @category constructors
 */
export const resolve = (
  suite: string,
  names: ReadonlyArray<string>,
  dataOnly: ReadonlyArray<string> = []
): Effect.Effect<DebianLock.Lock, ImageError> =>
  Effect.tryPromise({
    try: () =>
      new Promise<string>((resolvePromise, reject) => {
        const child = spawn("apt-cache", ["show", "--no-all-versions", ...names], { stdio: ["ignore", "pipe", "pipe"] })
        let stdout = ""
        let stderr = ""
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
        child.on("error", reject)
        child.on("close", (code) =>
          code === 0 ? resolvePromise(stdout) : reject(new Error(`exited with ${code}: ${stderr.trim()}`))
        )
      }),
    catch: (error) =>
      typeof error === "object" && error !== null && "code" in error && error.code === "ENOENT"
        ? new ImageError({
            reason: "ToolMissing",
            message: "apt-cache is not installed: --update-lock needs a Debian machine"
          })
        : new ImageError({ reason: "LockInvalid", message: `apt-cache show ${names.join(" ")}: ${String(error)}` })
  }).pipe(Effect.flatMap((text) => toLock(suite, names, parseParagraphs(text), dataOnly)))
