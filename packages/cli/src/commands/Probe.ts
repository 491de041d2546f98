/**
 * `obol sell probe <name>` (alias `test`): asks the offer's endpoint, through the gateway, what a
 * buyer would be asked. It expects 402, decodes `PAYMENT-REQUIRED` (x402 v2; a v1 JSON body too)
 * and prints each option: the amount in human units and atomic units, the asset, payTo, network and
 * timeout, checked against the offer's PaymentRoute. A 2xx without payment is an error: the offer
 * is not gated.
 *
 * `--pay` pays one request with the official x402 client (`@obol/x402/Buyer`): the key comes from
 * `--buyer-key-file` or `X402_BUYER_PRIVATE_KEY`, never from a flag value, and is never printed;
 * the spending limit is the PaymentRoute's own price, so a gateway asking more is refused before
 * anything is signed. It prints the upstream's status, body and the settlement receipt.
 *
 * @since 0.1.0
 */
import { Config, Duration, Effect, Option, Redacted, Result } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { decodePaymentRequiredHeader } from "@x402/core/http"
import type { PaymentRequirements } from "@x402/core/types"
import * as Names from "@obol/api/Names"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import * as Signer from "@obol/chain/Signer"
import * as Networks from "@obol/x402/Networks"
import * as Price from "@obol/x402/Price"
import * as Requirements from "@obol/x402/Requirements"
import { readFileSync } from "node:fs"
import * as CliFailure from "../CliFailure.ts"
import * as Format from "../Format.ts"
import * as Globals from "../Globals.ts"
import * as Io from "../Io.ts"
import * as Summary from "../Summary.ts"
import * as Output from "../Output.ts"

type Route = typeof PaymentRoute.schema.Type
type Offer = typeof ServiceOffer.schema.Type

/**
 * The URL to probe: the offer's endpoint, on `--gateway-url` when given, plus `path`.
 *
 * @category constructors
 */
export const target = (endpoint: string, gatewayUrl: string | undefined, path: string): Result.Result<URL, string> => {
  const suffix = path === "" || path === "/" ? "" : path.startsWith("/") ? path : `/${path}`
  let base: URL
  try {
    base = new URL(endpoint)
  } catch {
    if (gatewayUrl === undefined) {
      return Result.fail(
        `the offer's endpoint "${endpoint}" is only a path: pass --gateway-url (e.g. http://127.0.0.1:8080, GATEWAY_URL from npm start)`
      )
    }
    base = new URL(endpoint, "http://placeholder")
  }
  let origin = base.origin
  if (gatewayUrl !== undefined) {
    try {
      origin = new URL(gatewayUrl).origin
    } catch {
      return Result.fail(`--gateway-url "${gatewayUrl}" is not a URL`)
    }
  }
  return Result.succeed(new URL(`${origin}${base.pathname.replace(/\/+$/u, "")}${suffix}`))
}

/** Decimals and symbol of an option's asset, when the offer declares that token. */
const assetOf = (requirement: PaymentRequirements, offer: Offer, route: Route | undefined) => {
  const address = requirement.asset.toLowerCase()
  const symbol = Summary.symbol(offer)
  if (route !== undefined && route.spec.asset.address.toLowerCase() === address) {
    return { decimals: route.spec.asset.decimals, symbol }
  }
  if (offer.spec.payment.asset?.address.toLowerCase() === address) {
    return { decimals: offer.spec.payment.asset.decimals, symbol }
  }
  const known = Networks.defaults.find((n) => n.usdc.address.toLowerCase() === address)
  return known === undefined ? undefined : { decimals: known.usdc.decimals, symbol: "USDC" }
}

/**
 * The lines describing what a buyer is asked, and where it differs from the PaymentRoute.
 *
 * @category formatting
 */
export const describe = (
  accepts: ReadonlyArray<PaymentRequirements>,
  offer: Offer,
  route: Route | undefined
): { readonly lines: ReadonlyArray<string>; readonly mismatches: ReadonlyArray<string> } => {
  const lines: Array<string> = []
  const mismatches: Array<string> = []
  accepts.forEach((r, i) => {
    const atomic = Requirements.amountOf(r)
    const asset = assetOf(r, offer, route)
    const amount = /^[0-9]+$/u.test(atomic)
      ? Format.amount(BigInt(atomic), asset?.decimals, asset?.symbol ?? "units")
      : `"${atomic}" (not an amount)`
    lines.push(
      `${accepts.length > 1 ? `option ${i + 1}: ` : ""}${amount}`,
      `  asset     ${r.asset}`,
      `  pay to    ${r.payTo}`,
      `  network   ${r.network} (scheme ${r.scheme})`,
      `  timeout   ${r.maxTimeoutSeconds}s to complete the payment`
    )
    if (route !== undefined) {
      if (atomic !== route.spec.price)
        mismatches.push(`amount ${atomic} differs from the PaymentRoute's ${route.spec.price}`)
      if (r.payTo.toLowerCase() !== route.spec.payTo.toLowerCase())
        mismatches.push(`payTo ${r.payTo} differs from the PaymentRoute's ${route.spec.payTo}`)
      if (r.network !== route.spec.network) mismatches.push(`network ${r.network} differs from ${route.spec.network}`)
    }
  })
  return { lines, mismatches }
}

const accepted = (response: Response, body: string): ReadonlyArray<PaymentRequirements> | string => {
  const header = response.headers.get("PAYMENT-REQUIRED")
  if (header !== null) {
    try {
      return decodePaymentRequiredHeader(header).accepts
    } catch (error) {
      return `the PAYMENT-REQUIRED header could not be decoded: ${(error as Error).message}`
    }
  }
  try {
    const json = JSON.parse(body) as { accepts?: ReadonlyArray<PaymentRequirements> }
    if (Array.isArray(json.accepts)) return json.accepts
  } catch {
    // fall through
  }
  return "the 402 carried neither a PAYMENT-REQUIRED header nor a JSON body with accepts"
}

/** A 2xx without payment: the route serves for free. */
const notGated = (url: URL, answered: string, name: string) =>
  CliFailure.make(
    "NotGated",
    `${url.href} answered ${answered}`,
    `check \`obol sell status ${name}\`; a route serving without the x402 Middleware is free to anyone`
  )

/** Looks like a private key: never echo it, even when it was passed where a file name belongs. */
const keyLike = /^(0x)?[0-9a-fA-F]{64}$/u

const keyFrom = (
  file: string | undefined,
  env: string | undefined
): Result.Result<{ readonly key: string; readonly source: string }, string> => {
  if (file !== undefined) {
    const shown = keyLike.test(file) ? "<a private key, not a file name>" : file
    try {
      return Result.succeed({ key: readFileSync(file, "utf8").trim(), source: shown })
    } catch (error) {
      return Result.fail(
        `--buyer-key-file ${shown}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "cannot be read"}`
      )
    }
  }
  return env === undefined || env === ""
    ? Result.fail("--pay needs the buyer's key: --buyer-key-file <file> or X402_BUYER_PRIVATE_KEY (never a flag value)")
    : Result.succeed({ key: env, source: "X402_BUYER_PRIVATE_KEY" })
}

/**
 * @category commands
 */
export const probe = Command.make(
  "probe",
  {
    name: Argument.String("name").pipe(Argument.withDescription("The offer to probe")),
    gatewayUrl: Flag.String("gateway-url").pipe(
      Flag.withDescription("Gateway to send the request to (default: the offer's endpoint), e.g. $GATEWAY_URL"),
      Flag.optional
    ),
    path: Flag.String("path").pipe(
      Flag.withDescription("Path below the offer's endpoint (default: the upstream's health path)"),
      Flag.optional
    ),
    pay: Flag.Boolean("pay").pipe(
      Flag.withDescription("Pay for one request with the official x402 client and show the receipt"),
      Flag.withDefault(false)
    ),
    buyerKeyFile: Flag.String("buyer-key-file").pipe(
      Flag.withDescription("File holding the buyer's private key (default: $X402_BUYER_PRIVATE_KEY)"),
      Flag.optional
    ),
    rpcUrl: Flag.String("rpc-url").pipe(
      Flag.withDescription("RPC of the offer's chain, to check the token before paying (default: $RPC_URL)"),
      Flag.optional
    ),
    method: Flag.String("method").pipe(
      Flag.withAlias("X"),
      Flag.withDescription("HTTP method (default GET, or POST with --data)"),
      Flag.optional
    ),
    data: Flag.String("data").pipe(Flag.withAlias("d"), Flag.withDescription("Request body"), Flag.optional)
  },
  (input) =>
    Effect.scoped(
      Effect.gen(function* () {
        const io = yield* Io.Io
        yield* Output.supported("sell probe", yield* Globals.output, [])
        const session = yield* Globals.connect
        const name = input.name
        const ref = { name, namespace: session.namespace }
        const offer = yield* session.find(session.client.get(ServiceOffer, ref))
        if (Option.isNone(offer)) {
          return yield* CliFailure.make("NotFound", `ServiceOffer ${session.namespace}/${name} does not exist`)
        }
        const route = Option.getOrUndefined(
          yield* session.find(
            session.client.get(PaymentRoute, { name: Names.paymentRoute(name), namespace: session.namespace })
          )
        )
        const url = target(
          offer.value.status?.endpoint ?? offer.value.spec.path ?? `/services/${name}`,
          Option.getOrUndefined(input.gatewayUrl),
          Option.getOrElse(input.path, () => offer.value.spec.upstream.healthPath)
        )
        if (Result.isFailure(url)) return yield* CliFailure.usage([url.failure])

        // GET unless a body is sent; a body on GET or HEAD is refused before anything is sent.
        const method = Option.getOrElse(input.method, () => (Option.isSome(input.data) ? "POST" : "GET")).toUpperCase()
        if (Option.isSome(input.data) && (method === "GET" || method === "HEAD")) {
          return yield* CliFailure.usage([
            `--data cannot be sent with -X ${method}; use -X POST (the default with --data)`
          ])
        }

        if (input.pay) {
          const envKey = yield* Config.option(Config.Redacted("X402_BUYER_PRIVATE_KEY")).pipe(
            Effect.orElseSucceed(() => Option.none<Redacted.Redacted<string>>())
          )
          const key = keyFrom(
            Option.getOrUndefined(input.buyerKeyFile),
            Option.getOrUndefined(Option.map(envKey, Redacted.value))
          )
          if (Result.isFailure(key)) return yield* CliFailure.usage([key.failure])
          const signer = Signer.fromPrivateKey(key.success.key)
          if (Result.isFailure(signer)) {
            return yield* CliFailure.usage([
              `the buyer key from ${key.success.source} is not a private key: ${signer.failure.message}`
            ])
          }
          const rpcUrl = Option.isSome(input.rpcUrl)
            ? input.rpcUrl.value
            : Option.getOrElse(
                yield* Config.option(Config.String("RPC_URL")).pipe(Effect.orElseSucceed(() => Option.none<string>())),
                () => ""
              )
          if (rpcUrl === "") {
            return yield* CliFailure.usage([
              "--pay needs --rpc-url (or RPC_URL): the chain's RPC, to check the token before signing"
            ])
          }
          // Never pay more than the offer's own admitted price; without a PaymentRoute there is none to trust.
          if (route === undefined || route.status?.admitted !== true) {
            return yield* CliFailure.make(
              "Payment",
              `ServiceOffer ${session.namespace}/${name} has no admitted PaymentRoute, so there is no price to pay within; nothing was paid`,
              `see \`obol sell status ${name}\``
            )
          }
          const max = Price.toDecimal(BigInt(route.spec.price), route.spec.asset.decimals)
          // The official client (viem, @x402/evm) loads only when a payment is made.
          const Buyer = yield* Effect.promise(() => import("@obol/x402/Buyer"))
          const outcome = yield* Effect.tryPromise({
            try: () =>
              Buyer.run(
                {
                  url: url.success,
                  method,
                  headers: [],
                  ...(Option.isSome(input.data) ? { data: input.data.value } : {}),
                  max
                },
                { signer: signer.success, rpcUrl, sources: { key: key.success.source, rpcUrl: "--rpc-url/RPC_URL" } },
                { progress: (line) => Effect.runSync(io.err(line)) }
              ),
            catch: (error) => CliFailure.make("Payment", `paying failed: ${(error as Error).message}`)
          })
          if (outcome._tag === "Answered" && !outcome.asked && outcome.status >= 200 && outcome.status < 300) {
            return yield* notGated(
              url.success,
              `${outcome.status} without asking for payment: the offer is NOT payment-gated; nothing was paid`,
              name
            )
          }
          const report = Buyer.report(outcome)
          if (report.stdout !== "") yield* io.out(report.stdout.trimEnd())
          if (report.failure !== undefined) return yield* CliFailure.make("Payment", report.failure)
          return
        }

        yield* io.err(`${method} ${url.success.href}`)
        const response = yield* Effect.tryPromise({
          try: (signal) =>
            fetch(url.success, {
              method,
              ...(Option.isSome(input.data) ? { body: input.data.value } : {}),
              signal: AbortSignal.any([signal, AbortSignal.timeout(15_000)])
            }),
          catch: (error) =>
            CliFailure.make(
              "Failed",
              `could not reach ${url.success.origin}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`,
              "is the gateway running, and is --gateway-url right?"
            )
        })
        const body = yield* Effect.promise(() => response.text())
        if (response.status >= 200 && response.status < 300) {
          return yield* notGated(
            url.success,
            `${response.status} without payment: the offer is NOT payment-gated`,
            name
          )
        }
        if (response.status !== 402) {
          return yield* CliFailure.make(
            "Failed",
            `${url.success.href} answered ${response.status} ${response.statusText}, not 402: ${body.slice(0, 300).trim()}`,
            response.status === 404
              ? "the gateway has no route for this path yet: is the offer Ready (`obol sell status`)?"
              : `see \`obol sell status ${name}\``
          )
        }
        const accepts = accepted(response, body)
        if (typeof accepts === "string") return yield* CliFailure.make("Failed", `402, but ${accepts}`)
        const { lines, mismatches } = describe(accepts, offer.value, route)
        yield* io.out(`${url.success.href} is live and payment-gated (402). A buyer is asked:`)
        for (const line of lines) yield* io.out(`  ${line}`)
        for (const m of mismatches)
          yield* io.err(`warning: ${m} (a verifier replica may still be loading the new price)`)
        yield* io.err(`pay for one request with \`obol sell probe ${name} --pay\``)
      })
    ).pipe(
      Effect.timeout(Duration.minutes(2)),
      Effect.catchTag("TimeoutError", () =>
        Effect.fail(CliFailure.make("Failed", "the probe took longer than 2 minutes"))
      )
    )
).pipe(
  Command.withAlias("test"),
  Command.withDescription("Check that an offer answers 402 through the gateway, and optionally pay for one request"),
  Command.withExamples([
    { command: "obol sell probe weather --gateway-url http://127.0.0.1:8080", description: "What a buyer is asked" },
    {
      command: "X402_BUYER_PRIVATE_KEY=0x… obol sell probe weather --pay --rpc-url http://127.0.0.1:8545",
      description: "Pay for one request with the official x402 client"
    }
  ])
)
