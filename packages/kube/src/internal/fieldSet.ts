/**
 * Field paths and JSON helpers for the in-memory API server's server-side apply.
 *
 * A field path is the JSON path of a leaf as a string array. Objects are recursed into; arrays
 * and scalars are leaves (the fake treats every list as atomic, see FakeKube's limits).
 */

export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }
export type JsonObject = { [key: string]: Json }

export const isObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)

export const clone = <A>(value: A): A => structuredClone(value)

export const equal = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]))
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && equal(a[k], b[k]))
  }
  return false
}

/** Leaf paths of a JSON value, skipping top-level keys in `skip` (e.g. metadata identity, status). */
export const leaves = (value: Json, prefix: ReadonlyArray<string> = []): Array<ReadonlyArray<string>> => {
  if (isObject(value)) {
    const keys = Object.keys(value)
    if (keys.length === 0) return prefix.length === 0 ? [] : [prefix]
    return keys.flatMap((key) => leaves(value[key]!, [...prefix, key]))
  }
  return [prefix]
}

export const key = (path: ReadonlyArray<string>) => JSON.stringify(path)
export const unkey = (k: string): ReadonlyArray<string> => JSON.parse(k) as ReadonlyArray<string>

export const getPath = (value: Json | undefined, path: ReadonlyArray<string>): Json | undefined => {
  let current: Json | undefined = value
  for (const segment of path) {
    if (!isObject(current)) return undefined
    current = current[segment]
  }
  return current
}

export const setPath = (target: JsonObject, path: ReadonlyArray<string>, value: Json): void => {
  let current: JsonObject = target
  for (const segment of path.slice(0, -1)) {
    const next = current[segment]
    if (!isObject(next)) current[segment] = {}
    current = current[segment] as JsonObject
  }
  current[path[path.length - 1]!] = clone(value)
}

/** Removes a leaf and then any objects left empty on the way up. */
export const deletePath = (target: JsonObject, path: ReadonlyArray<string>): void => {
  const parents: Array<JsonObject> = []
  let current: JsonObject = target
  for (const segment of path.slice(0, -1)) {
    const next = current[segment]
    if (!isObject(next)) return
    parents.push(current)
    current = next
  }
  delete current[path[path.length - 1]!]
  for (let i = path.length - 2; i >= 0; i--) {
    const parent = parents[i]!
    const child = parent[path[i]!]
    if (isObject(child) && Object.keys(child).length === 0) delete parent[path[i]!]
    else break
  }
}

/** RFC 7386 JSON merge patch. */
export const mergePatch = (target: Json | undefined, patch: Json): Json => {
  if (!isObject(patch)) return clone(patch)
  const result: JsonObject = isObject(target) ? clone(target) : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k]
    else result[k] = mergePatch(result[k], v)
  }
  return result
}

export class PatchFailed extends Error {}

const pointer = (path: string): Array<string> => {
  if (path === "") return []
  if (!path.startsWith("/")) throw new PatchFailed(`invalid JSON pointer ${path}`)
  return path
    .slice(1)
    .split("/")
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"))
}

/** RFC 6902 JSON patch on a clone; throws PatchFailed (e.g. a failed `test`). */
export const jsonPatch = (
  document: Json,
  operations: ReadonlyArray<{
    readonly op: string
    readonly path: string
    readonly value?: unknown
    readonly from?: string
  }>
): Json => {
  let doc = clone(document)
  const resolve = (segments: Array<string>) => {
    let parent: any = doc
    for (const s of segments.slice(0, -1)) {
      parent = Array.isArray(parent) ? parent[Number(s)] : parent?.[s]
      if (parent === undefined || parent === null) throw new PatchFailed(`path /${segments.join("/")} does not exist`)
    }
    return { parent, last: segments[segments.length - 1]! }
  }
  const read = (segments: Array<string>) => {
    let current: any = doc
    for (const s of segments) {
      current = Array.isArray(current) ? current[Number(s)] : current?.[s]
      if (current === undefined) throw new PatchFailed(`path /${segments.join("/")} does not exist`)
    }
    return current as Json
  }
  const readOrNull = (segments: Array<string>): Json => {
    try {
      return read(segments)
    } catch {
      return null
    }
  }
  const add = (segments: Array<string>, value: Json) => {
    if (segments.length === 0) {
      doc = clone(value)
      return
    }
    const { parent, last } = resolve(segments)
    if (Array.isArray(parent)) {
      const index = last === "-" ? parent.length : Number(last)
      if (!(index >= 0 && index <= parent.length)) throw new PatchFailed(`index ${last} out of range`)
      parent.splice(index, 0, clone(value))
    } else parent[last] = clone(value)
  }
  const remove = (segments: Array<string>) => {
    const { parent, last } = resolve(segments)
    if (Array.isArray(parent)) {
      const index = Number(last)
      if (!(index >= 0 && index < parent.length)) throw new PatchFailed(`index ${last} out of range`)
      parent.splice(index, 1)
    } else {
      if (!Object.hasOwn(parent, last)) throw new PatchFailed(`path /${segments.join("/")} does not exist`)
      delete parent[last]
    }
  }
  for (const operation of operations) {
    const segments = pointer(operation.path)
    switch (operation.op) {
      case "add":
        add(segments, operation.value as Json)
        break
      case "remove":
        remove(segments)
        break
      case "replace":
        remove(segments)
        add(segments, operation.value as Json)
        break
      case "test":
        // As the API server's JSON patch does, a missing path tests equal to null.
        if (!equal(readOrNull(segments), operation.value ?? null)) {
          throw new PatchFailed(`testing value ${operation.path} failed`)
        }
        break
      case "move": {
        const from = pointer(operation.from ?? "")
        const value = read(from)
        remove(from)
        add(segments, value)
        break
      }
      case "copy":
        add(segments, read(pointer(operation.from ?? "")))
        break
      default:
        throw new PatchFailed(`unknown JSON patch op ${operation.op}`)
    }
  }
  return doc
}
