/**
 * Every setting of the serviceoffer-controller process, read from the environment through
 * Effect `Config`, and the `--help` text listing them (name, environment variable, default).
 * Each variable is one `Setting`, so the help can never miss a setting or show another default.
 *
 * @since 0.1.0
 */
import { Config, Duration, Effect, Option, Result } from "effect"
import * as Children from "./Children.ts"
import * as Networks from "@obol/x402/Networks"
import * as Setting from "@obol/controller/Setting"

const service = Children.defaultSettings.verifierService

/**
 * Every variable the process reads, each defined once (name, default, help, how it is read).
 *
 * @category constants
 */
export const settings = {
  kubeconfig: Setting.documented("KUBECONFIG", "(~/.kube/config, then in-cluster)", "cluster to manage"),
  namespace: Setting.optional("WATCH_NAMESPACE", "(all namespaces)", "watch ServiceOffers in this namespace only"),
  verifierAddress: Setting.string(
    "VERIFIER_ADDRESS",
    Children.defaultSettings.verifierAddress,
    "ForwardAuth address; {namespace} and {name} name the offer"
  ),
  verifierService: Setting.make("VERIFIER_SERVICE", {
    help: "the verifier's Service (namespace/name:port), the HTTPRoute backend of pay-on-success offers",
    fallback: `${service.namespace}/${service.name}:${service.port}`,
    config: Config.String("VERIFIER_SERVICE").pipe(
      Config.option,
      Config.mapEffect((value) => {
        if (value._tag === "None") return Effect.succeed(service)
        const match = /^([a-z0-9-]+)\/([a-z0-9-]+):([0-9]{1,5})$/u.exec(value.value)
        return match === null
          ? Effect.die(
              new Error(
                `VERIFIER_SERVICE must be namespace/name:port, e.g. x402/x402-verifier:8080; got "${value.value}"`
              )
            )
          : Effect.succeed({ namespace: match[1]!, name: match[2]!, port: Number(match[3]) })
      })
    )
  }),
  upstreamNamespaces: Setting.make("UPSTREAM_NAMESPACES", {
    help: "comma-separated namespaces whose Services offers in other namespaces may sell; * for any",
    fallback: "llm",
    config: Config.String("UPSTREAM_NAMESPACES").pipe(
      Config.withDefault("llm"),
      Config.map((value): ReadonlyArray<string> | "*" => {
        const names = value
          .split(",")
          .map((n) => n.trim())
          .filter((n) => n !== "")
        return names.includes("*") ? "*" : names
      })
    )
  }),
  gatewayNamespace: Setting.string("GATEWAY_NAMESPACE", "traefik", "namespace of the Gateway HTTPRoutes attach to"),
  gatewayName: Setting.string("GATEWAY_NAME", "traefik-gateway", "name of that Gateway"),
  gatewaySection: Setting.string("GATEWAY_SECTION", "web", "listener (sectionName) of that Gateway; empty for none"),
  publicBaseUrl: Setting.string(
    "PUBLIC_BASE_URL",
    Children.defaultSettings.publicBaseUrl,
    "public URL of the Gateway, for endpoints and registrations"
  ),
  fieldManager: Setting.string("FIELD_MANAGER", "serviceoffer-controller", "server-side apply field manager"),
  networksJson: Setting.optional(
    "NETWORKS_JSON",
    "(Base, Polygon and Avalanche, mainnets and testnets, with USDC)",
    "extra networks: JSON [{names, caip2, usdc:{address,decimals,eip712Name,eip712Version}}]"
  ),
  approxTokensPerRequest: Setting.int(
    "APPROX_TOKENS_PER_REQUEST",
    1000,
    "tokens assumed per request when pricing perMTok offers"
  ),
  healthPeriodSeconds: Setting.int("HEALTH_PERIOD_SECONDS", 30, "how often upstream health is re-probed"),
  concurrency: Setting.int("CONCURRENCY", 4, "offers reconciled at once"),
  healthPort: Setting.port("HEALTH_PORT", 8081, "port of /healthz, /readyz and /metrics"),
  wellKnownPort: Setting.port("WELL_KNOWN_PORT", 8082, "port of /.well-known/agent-registration.json (public)"),
  agentName: Setting.string("AGENT_NAME", "Obol Stack seller", "name in the registration document"),
  agentDescription: Setting.string(
    "AGENT_DESCRIPTION",
    "Services sold with x402 payments",
    "description in the registration document"
  ),
  agentImage: Setting.optional("AGENT_IMAGE", "(none)", "image URL in the registration document"),
  controllerNamespace: Setting.namespace(
    "CONTROLLER_NAMESPACE",
    "namespace of the controller's Service (for the well-known HTTPRoute)"
  ),
  controllerService: Setting.string(
    "CONTROLLER_SERVICE",
    "serviceoffer-controller",
    "the controller's Service name (for the well-known HTTPRoute)"
  ),
  listen: Setting.listen,
  leaseNamespace: Setting.leaseNamespace,
  identity: Setting.identity
}

/**
 * The help text for `--help`.
 *
 * @category constants
 */
export const help = (bin: string) =>
  Setting.help(bin, "reconciles ServiceOffers into x402-gated routes (obol.org/v1alpha1).", settings)

/**
 * The settings, read from the environment.
 *
 * @category constructors
 */
export const fromEnv = Effect.gen(function* () {
  const read = yield* Setting.read(settings)
  const networks = Networks.configured(Option.getOrUndefined(read.networksJson))
  if (Result.isFailure(networks)) return yield* Effect.die(new Error(networks.failure))
  return {
    namespace: read.namespace,
    verifierAddress: read.verifierAddress,
    verifierService: read.verifierService,
    upstreamNamespaces: read.upstreamNamespaces,
    gateway: {
      namespace: read.gatewayNamespace,
      name: read.gatewayName,
      ...(read.gatewaySection === "" ? {} : { sectionName: read.gatewaySection })
    },
    publicBaseUrl: read.publicBaseUrl,
    fieldManager: read.fieldManager,
    networks: networks.success,
    approxTokensPerRequest: read.approxTokensPerRequest,
    healthPeriod: Duration.seconds(read.healthPeriodSeconds),
    tombstoneTimeout: Duration.minutes(2),
    concurrency: read.concurrency,
    healthPort: read.healthPort,
    listen: read.listen,
    leaseNamespace: read.leaseNamespace,
    identity: read.identity,
    wellKnownPort: read.wellKnownPort,
    agent: { name: read.agentName, description: read.agentDescription, image: read.agentImage },
    controllerNamespace: read.controllerNamespace,
    controllerService: read.controllerService
  }
})
