/**
 * Every setting of the x402-verifier process, from the environment, and its `--help` text.
 *
 * @since 0.1.0
 */
import { Config, Effect } from "effect"
import * as Main from "@obol/controller/Main"

/**
 * Default ports. Every process of the stack has its own defaults, so all of them run side by side
 * on one machine without settings: serviceoffer-controller 8081 (health) and 8082 (well-known),
 * registrar 8083, this verifier 8080 (`/verify`) and 8084 (health).
 *
 * @category constants
 */
export const defaultPorts = { port: 8080, healthPort: 8084 } as const

/**
 * @category constants
 */
export const table = [
  { env: "KUBECONFIG", fallback: "(~/.kube/config, then in-cluster)", help: "cluster to read PaymentRoutes from" },
  {
    env: "WATCH_NAMESPACE",
    fallback: "(all namespaces)",
    help: "serve PaymentRoutes of these namespaces only (comma-separated)"
  },
  { env: "FACILITATOR_URL", fallback: "(required)", help: "x402 facilitator; https, or http on loopback" },
  { env: "FACILITATOR_TIMEOUT_SECONDS", fallback: "10", help: "per-call timeout; slower answers are 503" },
  { env: "FIELD_MANAGER", fallback: "x402-verifier", help: "server-side apply field manager for admission status" },
  {
    env: "ALLOW_UNKNOWN_PATHS",
    fallback: "false",
    help: "let /verify pass requests that match no route (default: deny with 403)"
  },
  {
    env: "PORT",
    fallback: String(defaultPorts.port),
    help: "port of /verify (ForwardAuth) and of the pay-on-success proxy (every other path)"
  },
  { env: "HEALTH_PORT", fallback: String(defaultPorts.healthPort), help: "port of /healthz, /readyz and /metrics" },
  Main.listenSetting
] as const

/**
 * @category constants
 */
export const help = (bin: string) =>
  Main.help(bin, "x402 payment gate for Traefik ForwardAuth, serving PaymentRoutes (obol.org/v1alpha1).", table)

/**
 * @category constructors
 */
export const fromEnv = Effect.gen(function* () {
  return {
    namespaces: yield* Config.String("WATCH_NAMESPACE").pipe(
      Config.map((list) =>
        list
          .split(",")
          .map((ns) => ns.trim())
          .filter((ns) => ns !== "")
      ),
      Config.option
    ),
    facilitatorUrl: yield* Config.String("FACILITATOR_URL"),
    facilitatorTimeoutSeconds: yield* Config.Int("FACILITATOR_TIMEOUT_SECONDS").pipe(Config.withDefault(10)),
    fieldManager: yield* Config.String("FIELD_MANAGER").pipe(Config.withDefault("x402-verifier")),
    allowUnknownPaths: yield* Config.Boolean("ALLOW_UNKNOWN_PATHS").pipe(Config.withDefault(false)),
    port: yield* Config.Port("PORT").pipe(Config.withDefault(defaultPorts.port)),
    healthPort: yield* Config.Port("HEALTH_PORT").pipe(Config.withDefault(defaultPorts.healthPort)),
    listen: yield* Main.listenConfig
  }
})
