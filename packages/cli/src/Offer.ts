/**
 * `obol sell http|inference` flags → a ServiceOffer manifest, validated before anything is sent.
 *
 * The flags are obol-stack's (`--wallet/-w` with `X402_WALLET`, `--chain`, one of
 * `--price`/`--per-request`/`--per-mtok`/`--per-hour`, `--upstream`, `--port`, `--health-path`,
 * `--path`, `--max-timeout`, `--register*`, `--provenance-file`) plus `--upstream-namespace`,
 * `--asset*` for a token other than the network's USDC, and `--paused`. Validation uses what the
 * controller uses: the ServiceOffer Schema (its patterns and CEL twins), the `@obol/x402/Networks`
 * table (with the same `NETWORKS_JSON` extension) and `@obol/x402/Price`'s integer math, so an
 * offer the CLI accepts is one the controller can price. Every problem is reported, one line each,
 * naming the flag to fix.
 *
 * The manifest carries only what the flags say (server-side apply owns exactly those fields):
 * `path` and `paused` are written only when given, so the controller's default path applies and
 * `obol sell stop`/`resume` own `paused`. This module performs no I/O except through the
 * `readFile` it is given.
 *
 * @since 0.1.0
 */
import { Config, Option, Result } from "effect"
import { type Command, Flag } from "effect/cli"
import * as CustomResource from "@obol/api/CustomResource"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import type { Manifest } from "@obol/kube/KubeClient"
import * as Networks from "@obol/x402/Networks"
import * as Price from "@obol/x402/Price"

const optionalString = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.optional)

/**
 * The flags `sell http` and `sell inference` share.
 *
 * @category flags
 */
export const flags = {
  wallet: Flag.String("wallet").pipe(
    Flag.withAlias("w"),
    Flag.withDescription("Address that receives the payments (0x + 40 hex digits); default $X402_WALLET"),
    Flag.withFallbackConfig(Config.String("X402_WALLET")),
    Flag.optional
  ),
  chain: Flag.String("chain").pipe(
    Flag.withDescription(
      "Network buyers pay on: base-sepolia, base, polygon, polygon-amoy, avalanche, avalanche-fuji, or a CAIP-2 id such as eip155:84532 (default base-sepolia)"
    ),
    Flag.withDefault("base-sepolia")
  ),
  price: optionalString("price", 'Price per request in USDC, e.g. "0.001" (same as --per-request)'),
  perRequest: optionalString("per-request", 'Price per request in USDC, e.g. "0.001"'),
  perMTok: optionalString("per-mtok", 'Price per million tokens in USDC, e.g. "1.25" (charged per request)'),
  perHour: optionalString("per-hour", 'Price per hour in USDC, e.g. "2" (one request buys the hour)'),
  upstream: optionalString("upstream", "Name of the Kubernetes Service that serves the offer (required)"),
  upstreamNamespace: optionalString("upstream-namespace", "Namespace of that Service (default: the offer's)"),
  port: Flag.Int("port").pipe(
    Flag.withDescription("Port of the upstream Service (default 8080)"),
    Flag.withDefault(8080)
  ),
  healthPath: Flag.String("health-path").pipe(
    Flag.withDescription("Path the controller probes for upstream health (default /health)"),
    Flag.withDefault("/health")
  ),
  path: optionalString("path", "Public path prefix (default: /services/<name>)"),
  maxTimeout: Flag.Int("max-timeout").pipe(
    Flag.withDescription("Seconds a signed payment stays valid, 1-3600 (default 300)"),
    Flag.withDefault(300)
  ),
  asset: optionalString("asset", "Token address to be paid in instead of the network's USDC (needs --asset-decimals)"),
  assetDecimals: Flag.Int("asset-decimals").pipe(Flag.withDescription("Decimals of --asset"), Flag.optional),
  assetName: optionalString("asset-name", "EIP-712 domain name of --asset (required with it)"),
  assetVersion: optionalString("asset-version", "EIP-712 domain version of --asset (required with it)"),
  assetSymbol: optionalString("asset-symbol", "Display symbol of --asset"),
  register: Flag.Boolean("register").pipe(
    Flag.withDescription("Register the offer on-chain (ERC-8004) once it serves"),
    Flag.withDefault(false)
  ),
  registerName: optionalString("register-name", "Agent name in the registration document"),
  registerDescription: optionalString("register-description", "Agent description in the registration document"),
  registerImage: optionalString("register-image", "Image URL in the registration document"),
  registerSkills: Flag.String("register-skills").pipe(
    Flag.withDescription("OASF skill (repeat, or comma-separate)"),
    Flag.atLeast(0)
  ),
  registerDomains: Flag.String("register-domains").pipe(
    Flag.withDescription("OASF domain (repeat, or comma-separate)"),
    Flag.atLeast(0)
  ),
  registerMetadata: Flag.KeyValuePair("register-metadata").pipe(
    Flag.withDescription("Extra registration metadata key=value (repeatable)"),
    Flag.optional
  ),
  provenanceFile: optionalString("provenance-file", "JSON file of string provenance fields (framework, metricName…)"),
  upstreamAuthSecret: optionalString(
    "upstream-auth-secret",
    "Secret (in the offer's namespace) whose key the verifier sends the upstream as Authorization, e.g. litellm-secrets; grants the verifier read access to it"
  ),
  upstreamAuthKey: optionalString(
    "upstream-auth-key",
    "Key of --upstream-auth-secret holding the credential, e.g. LITELLM_MASTER_KEY"
  ),
  upstreamAuthScheme: Flag.String("upstream-auth-scheme").pipe(
    Flag.withDescription(
      'Scheme before the credential: Authorization: <scheme> <value> (default Bearer; "" sends it as is)'
    ),
    Flag.withDefault("Bearer")
  ),
  verifierServiceAccount: Flag.String("verifier-service-account").pipe(
    Flag.withDescription(
      "The x402-verifier's ServiceAccount as namespace/name, granted read access to --upstream-auth-secret (default x402/x402-verifier)"
    ),
    Flag.withDefault("x402/x402-verifier")
  ),
  settlement: Flag.Literals("settlement", ["onSuccess", "upfront"]).pipe(
    Flag.withDescription(
      "When buyers are charged: onSuccess (the default: after the upstream answers below 400, receipt returned) or upfront (before it runs, through Traefik ForwardAuth)"
    ),
    Flag.optional
  ),
  paused: Flag.Boolean("paused").pipe(
    Flag.withDescription("Create the offer paused (route withdrawn until `obol sell resume`)"),
    Flag.withDefault(false)
  )
}

/**
 * The parsed flags.
 *
 * @category models
 */
export type Input = Command.Command.Config.Infer<typeof flags>

const get = Option.getOrUndefined

/**
 * What `inference` adds.
 *
 * @category models
 */
export interface Model {
  readonly name: string | undefined
  readonly runtime: "ollama" | "vllm" | "tgi"
}

/**
 * @category models
 */
export interface Context {
  readonly name: string
  readonly namespace: string
  readonly type: "http" | "inference"
  readonly model?: Model
  readonly networks: ReadonlyArray<Networks.Network>
  readonly approxTokensPerRequest: number
  /** The text of a file, or an error message. */
  readonly readFile: (path: string) => Result.Result<string, string>
}

/** Schema paths → the flag that sets them, so Schema problems name what to change. */
const flagOfPath: ReadonlyArray<readonly [RegExp, string]> = [
  [/^metadata\.name/u, "<name>"],
  [/^spec\.upstream\.service/u, "--upstream"],
  [/^spec\.upstream\.namespace/u, "--upstream-namespace"],
  [/^spec\.upstream\.port/u, "--port"],
  [/^spec\.upstream\.healthPath/u, "--health-path"],
  [/^spec\.upstream\.authorization\.secretKeyRef\.name/u, "--upstream-auth-secret"],
  [/^spec\.upstream\.authorization\.secretKeyRef\.key/u, "--upstream-auth-key"],
  [/^spec\.upstream\.authorization\.scheme/u, "--upstream-auth-scheme"],
  [/^spec\.upstream\.authorization/u, "--upstream-auth-secret"],
  [/^spec\.payment\.payTo/u, "--wallet"],
  [/^spec\.payment\.network/u, "--chain"],
  [/^spec\.payment\.maxTimeoutSeconds/u, "--max-timeout"],
  [/^spec\.payment\.price\.perRequest/u, "--per-request/--price"],
  [/^spec\.payment\.price\.perMTok/u, "--per-mtok"],
  [/^spec\.payment\.price\.perHour/u, "--per-hour"],
  [/^spec\.payment\.price/u, "--price"],
  [/^spec\.payment\.asset\.address/u, "--asset"],
  [/^spec\.payment\.asset\.decimals/u, "--asset-decimals"],
  [/^spec\.payment\.asset/u, "--asset"],
  [/^spec\.path/u, "--path"],
  [/^spec\.model/u, "--model"],
  [/^spec\.registration/u, "--register-*"],
  [/^spec\.provenance/u, "--provenance-file"]
]

/** Whether `problem` names `flag` (as a whole flag: `--upstream` is not named by `--upstream-namespace`). */
const mentions = (problem: string, flag: string) =>
  new RegExp(`${flag.replace(/[.*+?^${}()|[\]\\]/gu, "\\$&")}(?![-a-z])`, "u").test(problem)

const nameProblem = (name: string): string | undefined =>
  name.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/u.test(name)
    ? `<name> "${name}" must be a DNS label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit`
    : undefined

const list = (values: ReadonlyArray<string>) =>
  values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "")

/**
 * The manifest the flags describe, or every problem with them.
 *
 * @category constructors
 */
export const build = (input: Input, context: Context): Result.Result<Manifest, ReadonlyArray<string>> => {
  const problems: Array<string> = []
  const naming = nameProblem(context.name)
  if (naming !== undefined) problems.push(naming)

  const wallet = get(input.wallet)
  if (wallet === undefined)
    problems.push("--wallet is required (or set X402_WALLET): the address that receives payments")
  else if (!/^0x[0-9a-fA-F]{40}$/u.test(wallet))
    problems.push(`--wallet "${wallet}" is not an address: expected 0x followed by 40 hex digits`)

  const upstream = get(input.upstream)
  if (upstream === undefined) problems.push("--upstream is required: the name of the Service that serves the offer")

  if (context.type === "inference" && (context.model?.name === undefined || context.model.name === "")) {
    problems.push("--model is required for inference offers: the model name as the runtime knows it, e.g. qwen3:8b")
  }

  // Prices: exactly one source.
  const given = (
    [
      ["--price", get(input.price)],
      ["--per-request", get(input.perRequest)],
      ["--per-mtok", get(input.perMTok)],
      ["--per-hour", get(input.perHour)]
    ] as const
  ).filter(([, v]) => v !== undefined)
  if (given.length === 0)
    problems.push("a price is required: give one of --price, --per-request, --per-mtok or --per-hour")
  if (given.length > 1) {
    problems.push(`give only one price flag, not ${given.map(([f]) => f).join(" and ")}`)
  }

  const network = Networks.find(context.networks, input.chain)
  if (network._tag === "None") {
    problems.push(
      `--chain "${input.chain}" is not a known network (known: ${[...Networks.names(context.networks), ...context.networks.map((n) => n.caip2)].join(", ")}); networks your controller adds with NETWORKS_JSON need the same NETWORKS_JSON here`
    )
  }

  // The token and its decimals, for the price math.
  const assetAddress = get(input.asset)
  const assetDecimals = get(input.assetDecimals)
  let decimals: number | undefined = network._tag === "Some" ? network.value.usdc.decimals : undefined
  let asset: Record<string, unknown> | undefined
  if (assetAddress !== undefined) {
    if (!/^0x[0-9a-fA-F]{40}$/u.test(assetAddress))
      problems.push(`--asset "${assetAddress}" is not a token address: expected 0x followed by 40 hex digits`)
    if (assetDecimals === undefined)
      problems.push("--asset needs --asset-decimals (the token's decimals, e.g. 6 or 18)")
    else if (!Number.isInteger(assetDecimals) || assetDecimals < 0 || assetDecimals > 36)
      problems.push(`--asset-decimals ${assetDecimals} must be between 0 and 36`)
    // Buyers sign against the token's EIP-712 domain: a guessed one makes every payment fail.
    if (get(input.assetName) === undefined)
      problems.push('--asset needs --asset-name: the token\'s EIP-712 domain name (its name(), e.g. "USD Coin")')
    if (get(input.assetVersion) === undefined)
      problems.push('--asset needs --asset-version: the token\'s EIP-712 domain version (e.g. "2")')
    decimals = assetDecimals
    asset = {
      address: assetAddress,
      decimals: assetDecimals,
      eip712Name: get(input.assetName) ?? "",
      eip712Version: get(input.assetVersion) ?? "",
      ...(get(input.assetSymbol) === undefined ? {} : { symbol: get(input.assetSymbol) })
    }
  } else {
    for (const [flag, value] of [
      ["--asset-decimals", assetDecimals],
      ["--asset-name", get(input.assetName)],
      ["--asset-version", get(input.assetVersion)],
      ["--asset-symbol", get(input.assetSymbol)]
    ] as const) {
      if (value !== undefined) problems.push(`${flag} needs --asset (the token address)`)
    }
  }

  const price: Record<string, string> = {}
  const first = given[0]
  if (given.length === 1 && first !== undefined) {
    const [flag, value] = first
    const key = flag === "--per-mtok" ? "perMTok" : flag === "--per-hour" ? "perHour" : "perRequest"
    price[key] = value ?? ""
    if (decimals !== undefined && Number.isInteger(decimals) && decimals >= 0 && decimals <= 36) {
      const priced = Price.effective(price, decimals, context.approxTokensPerRequest)
      if (Result.isFailure(priced)) problems.push(`${flag} ${priced.failure.message}`)
    }
  }

  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535)
    problems.push(`--port ${input.port} must be between 1 and 65535`)
  if (!Number.isInteger(input.maxTimeout) || input.maxTimeout < 1 || input.maxTimeout > 3600)
    problems.push(`--max-timeout ${input.maxTimeout} must be between 1 and 3600 seconds`)

  let provenance: Record<string, string> | undefined
  const provenanceFile = get(input.provenanceFile)
  if (provenanceFile !== undefined) {
    const text = context.readFile(provenanceFile)
    if (Result.isFailure(text)) problems.push(`--provenance-file ${provenanceFile}: ${text.failure}`)
    else {
      try {
        const json: unknown = JSON.parse(text.success)
        if (
          typeof json !== "object" ||
          json === null ||
          Array.isArray(json) ||
          !Object.values(json).every((v) => typeof v === "string" || typeof v === "number")
        ) {
          problems.push(
            `--provenance-file ${provenanceFile} must hold one JSON object of string (or number) values, e.g. {"framework": "autoresearch"}`
          )
        } else {
          provenance = Object.fromEntries(Object.entries(json).map(([k, v]) => [k, String(v)]))
        }
      } catch (error) {
        problems.push(`--provenance-file ${provenanceFile} is not JSON: ${(error as Error).message}`)
      }
    }
  }

  const skills = list(input.registerSkills)
  const domains = list(input.registerDomains)
  const metadata = get(input.registerMetadata)
  const registerDetails =
    get(input.registerName) !== undefined ||
    get(input.registerDescription) !== undefined ||
    get(input.registerImage) !== undefined ||
    skills.length > 0 ||
    domains.length > 0 ||
    metadata !== undefined
  const registration =
    input.register || registerDetails
      ? {
          enabled: input.register,
          ...(get(input.registerName) === undefined ? {} : { name: get(input.registerName) }),
          ...(get(input.registerDescription) === undefined ? {} : { description: get(input.registerDescription) }),
          ...(get(input.registerImage) === undefined ? {} : { image: get(input.registerImage) }),
          ...(skills.length === 0 ? {} : { skills }),
          ...(domains.length === 0 ? {} : { domains }),
          ...(metadata === undefined ? {} : { metadata })
        }
      : undefined

  // The upstream credential: a Secret and its key together, only where the verifier proxies.
  const authSecret = get(input.upstreamAuthSecret)
  const authKey = get(input.upstreamAuthKey)
  if ((authSecret === undefined) !== (authKey === undefined)) {
    problems.push(
      authSecret === undefined
        ? "--upstream-auth-key needs --upstream-auth-secret (the Secret that holds the key)"
        : "--upstream-auth-secret needs --upstream-auth-key (the key of the Secret holding the credential)"
    )
  }
  if (authSecret !== undefined && get(input.settlement) === "upfront") {
    problems.push(
      "--upstream-auth-secret needs --settlement onSuccess (the default): only the verifier's proxy sends the credential"
    )
  }
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/u.test(input.verifierServiceAccount)) {
    problems.push(
      `--verifier-service-account "${input.verifierServiceAccount}" must be namespace/name, e.g. x402/x402-verifier`
    )
  }
  const authorization =
    authSecret === undefined || authKey === undefined
      ? undefined
      : { secretKeyRef: { name: authSecret, key: authKey }, scheme: input.upstreamAuthScheme }

  const upstreamNamespace = get(input.upstreamNamespace)
  const path = get(input.path)
  const manifest: Manifest = {
    apiVersion: ServiceOffer.apiVersion,
    kind: ServiceOffer.kind,
    metadata: { name: context.name, namespace: context.namespace },
    spec: {
      type: context.type,
      ...(context.type === "inference" && context.model?.name !== undefined
        ? { model: { name: context.model.name, runtime: context.model.runtime } }
        : {}),
      upstream: {
        service: upstream ?? "",
        ...(upstreamNamespace === undefined ? {} : { namespace: upstreamNamespace }),
        port: input.port,
        healthPath: input.healthPath,
        ...(authorization === undefined ? {} : { authorization })
      },
      payment: {
        scheme: "exact",
        network: input.chain,
        payTo: wallet ?? "",
        maxTimeoutSeconds: input.maxTimeout,
        price,
        ...(asset === undefined ? {} : { asset }),
        ...(get(input.settlement) === undefined ? {} : { settlement: get(input.settlement) })
      },
      ...(path === undefined ? {} : { path }),
      ...(registration === undefined ? {} : { registration }),
      ...(provenance === undefined ? {} : { provenance }),
      ...(input.paused ? { paused: true } : {})
    }
  }

  // The Schema the CRD is generated from catches what the flag checks above do not (paths, names).
  const decoded = CustomResource.decodeResult(ServiceOffer, manifest)
  if (Result.isFailure(decoded)) {
    for (const problem of decoded.failure.problems) {
      const flag = flagOfPath.find(([pattern]) => pattern.test(problem.path))?.[1] ?? problem.path
      const line = `${flag}: ${problem.message}`
      // Skip what a flag check above already reported: a problem that names the same flag.
      const covered = flag.split("/").some((name) => problems.some((p) => mentions(p, name)))
      if (!covered && !problems.includes(line)) problems.push(line)
    }
  }
  return problems.length > 0 ? Result.fail(problems) : Result.succeed(manifest)
}
