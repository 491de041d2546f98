/**
 * `/app/THIRD-PARTY-NOTICES`: the name, version, declared licence and licence file of every npm
 * package whose code is inside a bundle, found from esbuild's list of bundled inputs. MIT, ISC,
 * BSD and Apache licences ask that their notice travels with the code; a bundle erases
 * `node_modules`, so the notices are collected here instead.
 *
 * It reads package directories; it does not judge licences. The Debian packages' copyright files
 * are in the base layer (`/usr/share/doc/<package>/copyright`), Node's licence beside the binary.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { readdir, readFile } from "node:fs/promises"
import { join } from "node:path"

/**
 * The package directories (`node_modules/@scope/name`, nested ones included) that bundled input
 * paths belong to, sorted and without repeats.
 *
 * @category constructors
 */
export const packageDirs = (inputs: Iterable<string>): ReadonlyArray<string> => {
  const dirs = new Set<string>()
  for (const input of inputs) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//u.exec(input)
    if (match?.[1] !== undefined) dirs.add(match[1])
  }
  return [...dirs].toSorted()
}

const licenseFile = /^(?:licen[cs]e|copying|notice)(?:[.-].*)?$/iu

/**
 * The notices text for the packages the inputs come from.
 *
 * @category constructors
 */
export const make = (root: string, inputs: Iterable<string>): Effect.Effect<string> =>
  Effect.promise(async () => {
    const sections: Array<{ readonly title: string; readonly body: string }> = []
    for (const dir of packageDirs(inputs)) {
      const manifest = JSON.parse(await readFile(join(root, dir, "package.json"), "utf8")) as {
        readonly name?: string
        readonly version?: string
        readonly license?: unknown
      }
      const files = (await readdir(join(root, dir))).filter((file) => licenseFile.test(file)).toSorted()
      const texts = await Promise.all(files.map((file) => readFile(join(root, dir, file), "utf8")))
      const license = typeof manifest.license === "string" ? manifest.license : "see the package"
      sections.push({
        title: `${manifest.name ?? dir}@${manifest.version ?? "?"} (${license})`,
        body: texts.length > 0 ? texts.map((t) => t.trimEnd()).join("\n\n") : "(the package ships no licence file)"
      })
    }
    const unique = [...new Map(sections.map((s) => [s.title, s])).values()].toSorted((a, b) =>
      a.title < b.title ? -1 : a.title > b.title ? 1 : 0
    )
    return [
      "Third-party software bundled into /app/*.mjs, with its licence texts.",
      "",
      ...unique.flatMap((s) => [`${"=".repeat(78)}`, s.title, `${"=".repeat(78)}`, s.body, ""])
    ].join("\n")
  })
