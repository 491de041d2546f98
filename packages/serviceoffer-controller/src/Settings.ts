/**
 * Every setting of the serviceoffer-controller process, read from the environment through
 * Effect `Config`, and the `--help` text listing them (name, environment variable, default).
 * One table drives both, so the help can never miss a setting.
 *
 * @since 0.1.0
 */
import { Config, Duration, Effect, Option, Result } from "effect"
import * as Children from "./Children.ts"
import * as Networks from "@obol/x402/Networks"
import * as Main from "@obol/controller/Main"

interface Entry {
  readonly env: string
  readonly fallback: string
  readonly help: string
}

/**
 * @category constants
 */
export const table: ReadonlyArray<Entry> = [
  { env: "KUBECONFIG", fallback: "(~/.kube/config, then in-cluster)", help: "cluster to manage" },
  { env: "WATCH_NAMESPACE", fallback: "(all namespaces)", help: "watch ServiceOffers in this namespace only" },
  {
    env: "VERIFIER_ADDRESS",
    fallback: Children.defaultSettings.verifierAddress,
    help: "ForwardAuth address; {namespace} and {name} name the offer"
  },
  {
    env: "VERIFIER_SERVICE",
    fallback: "x402/x402-verifier:8080",
    help: "the verifier's Service (namespace/name:port), the HTTPRoute backend of pay-on-success offers"
  },
  {
    env: "UPSTREAM_NAMESPACES",
    fallback: "llm",
    help: "comma-separated namespaces whose Services offers in other namespaces may sell; * for any"
  },
  { env: "GATEWAY_NAMESPACE", fallback: "traefik", help: "namespace of the Gateway HTTPRoutes attach to" },
  { env: "GATEWAY_NAME", fallback: "traefik-gateway", help: "name of that Gateway" },
  { env: "GATEWAY_SECTION", fallback: "web", help: "listener (sectionName) of that Gateway; empty for none" },
  {
    env: "PUBLIC_BASE_URL",
    fallback: Children.defaultSettings.publicBaseUrl,
    help: "public URL of the Gateway, for endpoints and registrations"
  },
  { env: "FIELD_MANAGER", fallback: "serviceoffer-controller", help: "server-side apply field manager" },
  {
    env: "NETWORKS_JSON",
    fallback: "(Base, Polygon and Avalanche, mainnets and testnets, with USDC)",
    help: "extra networks: JSON [{names, caip2, usdc:{address,decimals,eip712Name,eip712Version}}]"
  },
  {
    env: "APPROX_TOKENS_PER_REQUEST",
    fallback: "1000",
    help: "tokens assumed per request when pricing perMTok offers"
  },
  { env: "HEALTH_PERIOD_SECONDS", fallback: "30", help: "how often upstream health is re-probed" },
  { env: "CONCURRENCY", fallback: "4", help: "offers reconciled at once" },
  { env: "HEALTH_PORT", fallback: "8081", help: "port of /healthz, /readyz and /metrics" },
  { env: "WELL_KNOWN_PORT", fallback: "8082", help: "port of /.well-known/agent-registration.json (public)" },
  { env: "AGENT_NAME", fallback: "Obol Stack seller", help: "name in the registration document" },
  {
    env: "AGENT_DESCRIPTION",
    fallback: "Services sold with x402 payments",
    help: "description in the registration document"
  },
  { env: "AGENT_IMAGE", fallback: "(none)", help: "image URL in the registration document" },
  {
    env: "CONTROLLER_NAMESPACE",
    fallback: "(POD_NAMESPACE, else default)",
    help: "namespace of the controller's Service (for the well-known HTTPRoute)"
  },
  {
    env: "CONTROLLER_SERVICE",
    fallback: "serviceoffer-controller",
    help: "the controller's Service name (for the well-known HTTPRoute)"
  },
  Main.listenSetting,
  ...Main.leaderElectionSettings
]

/**
 * The help text for `--help`.
 *
 * @category constants
 */
export const help = (bin: string) =>
  Main.help(bin, "reconciles ServiceOffers into x402-gated routes (obol.org/v1alpha1).", table)

/**
 * The settings, read from the environment.
 *
 * @category constructors
 */
export const fromEnv = Effect.gen(function* () {
  const optional = (name: string) => Config.String(name).pipe(Config.option)
  const networksJson = yield* optional("NETWORKS_JSON")
  const networks = Networks.configured(Option.getOrUndefined(networksJson))
  if (Result.isFailure(networks)) return yield* Effect.die(new Error(networks.failure))
  const section = yield* Config.String("GATEWAY_SECTION").pipe(Config.withDefault("web"))
  return {
    namespace: yield* optional("WATCH_NAMESPACE"),
    verifierAddress: yield* Config.String("VERIFIER_ADDRESS").pipe(
      Config.withDefault(Children.defaultSettings.verifierAddress)
    ),
    verifierService: yield* Config.String("VERIFIER_SERVICE").pipe(
      Config.option,
      Effect.flatMap((value) => {
        if (value._tag === "None") return Effect.succeed(Children.defaultSettings.verifierService)
        const match = /^([a-z0-9-]+)\/([a-z0-9-]+):([0-9]{1,5})$/u.exec(value.value)
        return match === null
          ? Effect.die(
              new Error(
                `VERIFIER_SERVICE must be namespace/name:port, e.g. x402/x402-verifier:8080; got "${value.value}"`
              )
            )
          : Effect.succeed({ namespace: match[1]!, name: match[2]!, port: Number(match[3]) })
      })
    ),
    upstreamNamespaces: yield* Config.String("UPSTREAM_NAMESPACES").pipe(
      Config.withDefault("llm"),
      Config.map((value): ReadonlyArray<string> | "*" => {
        const names = value
          .split(",")
          .map((n) => n.trim())
          .filter((n) => n !== "")
        return names.includes("*") ? "*" : names
      })
    ),
    gateway: {
      namespace: yield* Config.String("GATEWAY_NAMESPACE").pipe(Config.withDefault("traefik")),
      name: yield* Config.String("GATEWAY_NAME").pipe(Config.withDefault("traefik-gateway")),
      ...(section === "" ? {} : { sectionName: section })
    },
    publicBaseUrl: yield* Config.String("PUBLIC_BASE_URL").pipe(
      Config.withDefault(Children.defaultSettings.publicBaseUrl)
    ),
    fieldManager: yield* Config.String("FIELD_MANAGER").pipe(Config.withDefault("serviceoffer-controller")),
    networks: networks.success,
    approxTokensPerRequest: yield* Config.Int("APPROX_TOKENS_PER_REQUEST").pipe(Config.withDefault(1000)),
    healthPeriod: Duration.seconds(yield* Config.Int("HEALTH_PERIOD_SECONDS").pipe(Config.withDefault(30))),
    tombstoneTimeout: Duration.minutes(2),
    concurrency: yield* Config.Int("CONCURRENCY").pipe(Config.withDefault(4)),
    healthPort: yield* Config.Port("HEALTH_PORT").pipe(Config.withDefault(8081)),
    listen: yield* Main.listenConfig,
    leaseNamespace: yield* Main.namespaceConfig("LEASE_NAMESPACE"),
    identity: yield* Main.identityConfig,
    wellKnownPort: yield* Config.Port("WELL_KNOWN_PORT").pipe(Config.withDefault(8082)),
    agent: {
      name: yield* Config.String("AGENT_NAME").pipe(Config.withDefault("Obol Stack seller")),
      description: yield* Config.String("AGENT_DESCRIPTION").pipe(
        Config.withDefault("Services sold with x402 payments")
      ),
      image: yield* optional("AGENT_IMAGE")
    },
    controllerNamespace: yield* Main.namespaceConfig("CONTROLLER_NAMESPACE"),
    controllerService: yield* Config.String("CONTROLLER_SERVICE").pipe(Config.withDefault("serviceoffer-controller"))
  }
})
