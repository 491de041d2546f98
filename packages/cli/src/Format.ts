/**
 * How the CLI writes things for people: prices in the asset's units, kubectl-style ages and
 * tables, elapsed times, and the `--wait`/`--timeout` durations it reads. Pure functions; money
 * goes through `@obol/x402/Price` (integer math), never through floats.
 *
 * @since 0.1.0
 */
import * as Price from "@obol/x402/Price"

/**
 * @category models
 */
export interface Prices {
  readonly perRequest?: string | undefined
  readonly perMTok?: string | undefined
  readonly perHour?: string | undefined
}

/**
 * Every price set, in the order the controller applies them: `0.001 USDC/request`,
 * `1.25 USDC/MTok`, `2 USDC/hour`. Prices are the seller's decimal strings, shown as written.
 *
 * @category formatting
 */
export const priceSummary = (prices: Prices, symbol = "USDC"): string => {
  const parts = [
    prices.perRequest === undefined ? undefined : `${prices.perRequest} ${symbol}/request`,
    prices.perMTok === undefined ? undefined : `${prices.perMTok} ${symbol}/MTok`,
    prices.perHour === undefined ? undefined : `${prices.perHour} ${symbol}/hour`
  ].filter((p) => p !== undefined)
  return parts.length === 0 ? "<none>" : parts.join(", ")
}

/**
 * `1000` atomic units of a 6-decimal asset → `0.001 USDC (1000 atomic units)`.
 *
 * @category formatting
 */
export const amount = (atomic: bigint, decimals: number | undefined, symbol: string): string =>
  decimals === undefined
    ? `${atomic} atomic units (decimals unknown)`
    : `${Price.toDecimal(atomic, decimals)} ${symbol} (${atomic} atomic units)`

/**
 * kubectl's age format (`duration.HumanDuration`): `45s`, `3m20s`, `42m`, `5h10m`, `3d4h`, `400d`.
 *
 * @category formatting
 */
export const age = (millis: number): string => {
  const seconds = Math.floor(millis / 1000)
  if (seconds < -1) return "<invalid>"
  if (seconds < 0) return "0s"
  if (seconds < 120) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`
  if (minutes < 180) return `${minutes}m`
  const hours = Math.floor(minutes / 60)
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`
  if (hours < 48) return `${hours}h`
  const days = Math.floor(hours / 24)
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`
  if (days < 365 * 2) return `${days}d`
  const years = Math.floor(days / 365)
  return years < 8 ? `${years}y${days % 365}d` : `${years}y`
}

/**
 * The age of an RFC 3339 timestamp at `now`, or `<unknown>`.
 *
 * @category formatting
 */
export const ageOf = (timestamp: string | undefined, now: number): string => {
  const at = timestamp === undefined ? Number.NaN : Date.parse(timestamp)
  return Number.isNaN(at) ? "<unknown>" : age(now - at)
}

/**
 * Elapsed time for progress lines: `0.21s`, `12.3s`, `2m05s`.
 *
 * @category formatting
 */
export const elapsed = (millis: number): string => {
  if (millis < 10_000) return `${(millis / 1000).toFixed(2)}s`
  if (millis < 60_000) return `${(millis / 1000).toFixed(1)}s`
  const seconds = Math.floor(millis / 1000)
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`
}

/**
 * A kubectl-style table: upper-case headers, columns left-aligned and three spaces apart, empty
 * cells as `<none>`.
 *
 * @category formatting
 */
export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => r.map((c) => (c === "" ? "<none>" : c)))]
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)))
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join("   ")
        .trimEnd()
    )
    .join("\n")
}

/**
 * Go-style durations as kubectl's `--timeout` takes them (`90s`, `5m`, `1h30m`, `500ms`), or plain
 * seconds (`90`); milliseconds, or undefined when the text is none of these.
 *
 * @category parsing
 */
export const parseDuration = (text: string): number | undefined => {
  if (/^[0-9]+$/u.test(text)) return Number(text) * 1000
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 }
  const pattern = /([0-9]+(?:\.[0-9]+)?)(ms|h|m|s)/gu
  let total = 0
  let consumed = 0
  for (const match of text.matchAll(pattern)) {
    if (match.index !== consumed) return undefined
    total += Number(match[1]) * units[match[2]!]!
    consumed += match[0].length
  }
  return consumed === text.length && consumed > 0 ? Math.round(total) : undefined
}

const paint = (code: number) => (text: string, color: boolean) => (color ? `\u001b[${code}m${text}\u001b[0m` : text)

/**
 * A condition status coloured for a terminal: True green, False red, Unknown yellow.
 *
 * @category formatting
 */
export const status = (value: string, color: boolean): string =>
  value === "True" ? paint(32)(value, color) : value === "False" ? paint(31)(value, color) : paint(33)(value, color)
