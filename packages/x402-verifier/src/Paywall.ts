/**
 * The 402 a browser gets: a readable page saying what the resource costs, on which network, paid
 * to whom, and how to pay, sent with the same `PAYMENT-REQUIRED` header x402 clients read. Chosen
 * when the request's `Accept` prefers `text/html` over JSON (a browser's navigation does).
 *
 * Not `@x402/paywall`: its 2.12 release is a 53 MB React wallet app that pins `@x402/core` 2.12
 * (we speak 2.27), needs React as a peer and brings Solana, Algorand and wagmi connectors into the
 * verifier; a payment-gated API's browser visitors need the terms and a pointer to a client, not
 * a wallet inside the gate. Every value on the page is HTML-escaped.
 *
 * It renders; it does not decide when a 402 is due (`Decision.ts`).
 *
 * @since 0.1.0
 */
import type * as Requirements from "@obol/x402/Requirements"
import * as Price from "@obol/x402/Price"

/**
 * Whether `accept` asks for HTML before JSON (`text/html` present with a higher q than any JSON).
 *
 * @category predicates
 */
export const wantsHtml = (accept: string | undefined): boolean => {
  if (accept === undefined) return false
  let html = -1
  let json = -1
  for (const part of accept.split(",")) {
    const [type = "", ...params] = part.trim().toLowerCase().split(";")
    const q = Number(
      params
        .map((p) => p.trim())
        .find((p) => p.startsWith("q="))
        ?.slice(2) ?? "1"
    )
    const weight = Number.isFinite(q) ? q : 0
    if (type === "text/html" || type === "application/xhtml+xml") html = Math.max(html, weight)
    if (type === "application/json" || type.endsWith("+json")) json = Math.max(json, weight)
  }
  return html > 0 && html >= json
}

const escape = (text: string) =>
  text.replace(/[&<>"']/gu, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)

const networks: Readonly<Record<string, string>> = {
  "eip155:8453": "Base",
  "eip155:84532": "Base Sepolia"
}

/**
 * The page for `route` at `resource`, with the reason a payment was refused, if any.
 *
 * @category constructors
 */
export const render = (input: {
  readonly route: Requirements.Route
  readonly resource: Requirements.Resource
  readonly error?: string
}): string => {
  const { route } = input
  const decimals = route.asset.decimals
  const amount =
    decimals === undefined
      ? `${route.amount} atomic units of ${route.asset.eip712Name}`
      : `${Price.toDecimal(BigInt(route.amount), decimals)} ${route.asset.eip712Name}`
  const network =
    networks[route.network] === undefined ? route.network : `${networks[route.network]} (${route.network})`
  const rows: ReadonlyArray<readonly [string, string]> = [
    ["Price", `${amount} per request`],
    ["Network", network],
    ["Pay to", route.payTo],
    ["Token", route.asset.address],
    ["Valid for", `${route.maxTimeoutSeconds} s after signing`]
  ]
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Payment required</title>
<style>
body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1rem}dt{font-weight:600}dd{margin:0;word-break:break-all}
code{background:#f2f2f2;padding:.1rem .3rem;border-radius:3px}.error{color:#a40000}
</style>
</head>
<body>
<h1>Payment required</h1>
<p>${escape(route.description === "" ? input.resource.url : route.description)}</p>
${input.error === undefined ? "" : `<p class="error">The payment was not accepted: ${escape(input.error)}</p>\n`}<dl>
${rows.map(([label, value]) => `<dt>${escape(label)}</dt><dd>${escape(value)}</dd>`).join("\n")}
</dl>
<p>This resource is paid per request with <a href="https://x402.org">x402</a>. Request it with an x402 client
(for example <code>@x402/fetch</code>): the terms are in this response's <code>PAYMENT-REQUIRED</code> header,
and the client signs the payment and sends the request again.</p>
</body>
</html>
`
}
