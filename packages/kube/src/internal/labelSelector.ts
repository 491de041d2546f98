/**
 * Kubernetes label selector strings (`app=web,tier!=db,env in (a,b),!legacy`) as predicates over
 * label maps, for the in-memory API server.
 */

type Requirement = (labels: Readonly<Record<string, string>>) => boolean

export class InvalidSelector extends Error {}

const splitTerms = (selector: string): Array<string> => {
  const terms: Array<string> = []
  let depth = 0
  let current = ""
  for (const ch of selector) {
    if (ch === "(") depth++
    if (ch === ")") depth--
    if (ch === "," && depth === 0) {
      terms.push(current)
      current = ""
    } else current += ch
  }
  if (current.trim() !== "") terms.push(current)
  return terms.map((t) => t.trim()).filter((t) => t !== "")
}

const parseTerm = (term: string): Requirement => {
  let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/u.exec(term)
  if (m !== null) {
    const [, key, op, values] = m
    const set = new Set(values!.split(",").map((v) => v.trim()))
    return op === "in"
      ? (labels) => labels[key!] !== undefined && set.has(labels[key!]!)
      : (labels) => labels[key!] === undefined || !set.has(labels[key!]!)
  }
  m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/u.exec(term)
  if (m !== null) {
    const [, key, op, value] = m
    return op === "!=" ? (labels) => labels[key!] !== value : (labels) => labels[key!] === value
  }
  m = /^(!?)([\w./-]+)$/u.exec(term)
  if (m !== null) {
    const [, not, key] = m
    return not === "!" ? (labels) => labels[key!] === undefined : (labels) => labels[key!] !== undefined
  }
  throw new InvalidSelector(`unable to parse requirement: ${term}`)
}

/** Parses a selector; the empty selector matches everything. */
export const parse = (selector: string | undefined): Requirement => {
  if (selector === undefined || selector.trim() === "") return () => true
  const requirements = splitTerms(selector).map(parseTerm)
  return (labels) => requirements.every((r) => r(labels))
}
