/**
 * Every setting of the x402-verifier process, from the environment, and its `--help` text.
 *
 * @since 0.1.0
 */
import { Config } from "effect"
import * as Setting from "@obol/controller/Setting"

/**
 * Default ports. Every process of the stack has its own defaults, so all of them run side by side
 * on one machine without settings: serviceoffer-controller 8081 (health) and 8082 (well-known),
 * registrar 8083, this verifier 8080 (`/verify`) and 8084 (health).
 *
 * @category constants
 */
export const defaultPorts = { port: 8080, healthPort: 8084 } as const

/**
 * Every variable the process reads, each defined once (name, default, help, how it is read).
 *
 * @category constants
 */
export const settings = {
  kubeconfig: Setting.documented(
    "KUBECONFIG",
    "(~/.kube/config, then in-cluster)",
    "cluster to read PaymentRoutes from"
  ),
  namespaces: Setting.make("WATCH_NAMESPACE", {
    help: "serve PaymentRoutes of these namespaces only (comma-separated)",
    fallback: "(all namespaces)",
    config: Config.String("WATCH_NAMESPACE").pipe(
      Config.map((list) =>
        list
          .split(",")
          .map((ns) => ns.trim())
          .filter((ns) => ns !== "")
      ),
      Config.option
    )
  }),
  facilitatorUrl: Setting.required("FACILITATOR_URL", "x402 facilitator; https, or http on loopback"),
  facilitatorTimeoutSeconds: Setting.int("FACILITATOR_TIMEOUT_SECONDS", 10, "per-call timeout; slower answers are 503"),
  fieldManager: Setting.string(
    "FIELD_MANAGER",
    "x402-verifier",
    "server-side apply field manager for admission status"
  ),
  allowUnknownPaths: Setting.boolean(
    "ALLOW_UNKNOWN_PATHS",
    false,
    "let /verify pass requests that match no route (default: deny with 403)"
  ),
  port: Setting.port(
    "PORT",
    defaultPorts.port,
    "port of /verify (ForwardAuth) and of the pay-on-success proxy (every other path)"
  ),
  healthPort: Setting.port("HEALTH_PORT", defaultPorts.healthPort, "port of /healthz, /readyz and /metrics"),
  listen: Setting.listen
}

/**
 * @category constants
 */
export const help = (bin: string) =>
  Setting.help(bin, "x402 payment gate for Traefik ForwardAuth, serving PaymentRoutes (obol.org/v1alpha1).", settings)

/**
 * @category constructors
 */
export const fromEnv = Setting.read(settings)
