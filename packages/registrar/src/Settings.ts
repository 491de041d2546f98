/**
 * Every setting of the registrar process, read from the environment through Effect `Config`, and
 * the `--help` text listing them. One table drives both.
 *
 * @since 0.1.0
 */
import { Config, Duration, Effect, Result } from "effect"
import * as Chains from "@obol/chain/Chains"
import * as Main from "@obol/controller/Main"

/**
 * @category constants
 */
export const table: ReadonlyArray<Main.Setting> = [
  { env: "KUBECONFIG", fallback: "(~/.kube/config, then in-cluster)", help: "cluster to manage" },
  { env: "WATCH_NAMESPACE", fallback: "(all namespaces)", help: "watch RegistrationRequests in this namespace only" },
  {
    env: "CHAINS_JSON",
    fallback: "(Base Sepolia and Base, ERC-8004 reference registries, public RPCs)",
    help: "chains: JSON [{names, chainId, rpcUrl, registry?}]; entries replace defaults with the same name or id"
  },
  { env: "REGISTRATION_ENABLED", fallback: "true", help: "false: every request is OffChainOnly, nothing is sent" },
  {
    env: "SIGNER_SECRET",
    fallback: "registrar-signer",
    help: "Secret (in SIGNER_NAMESPACE) with privateKey (hex), or keystore + password"
  },
  { env: "SIGNER_NAMESPACE", fallback: "(POD_NAMESPACE, else default)", help: "namespace of the signer Secret" },
  { env: "FIELD_MANAGER", fallback: "registrar", help: "server-side apply field manager for status" },
  { env: "CONCURRENCY", fallback: "4", help: "requests reconciled at once (sends are serialized per signer)" },
  { env: "RPC_TIMEOUT_SECONDS", fallback: "10", help: "per JSON-RPC request" },
  { env: "RECEIPT_TIMEOUT_SECONDS", fallback: "120", help: "how long one attempt waits for a receipt" },
  { env: "BACKOFF_MAX_SECONDS", fallback: "300", help: "longest wait between retries of a failing request" },
  { env: "OFF_CHAIN_RECHECK_SECONDS", fallback: "60", help: "how often OffChainOnly requests are looked at again" },
  { env: "HEALTH_PORT", fallback: "8083", help: "port of /healthz, /readyz and /metrics" },
  Main.listenSetting,
  ...Main.leaderElectionSettings
]

/**
 * @category constants
 */
export const help = (bin: string) =>
  Main.help(bin, "registers RegistrationRequests as ERC-8004 agents on chain (obol.org/v1alpha1).", table)

/**
 * The settings, read from the environment.
 *
 * @category constructors
 */
export const fromEnv = Effect.gen(function* () {
  const chainsJson = yield* Config.String("CHAINS_JSON").pipe(Config.option)
  const chains = Chains.fromJson(chainsJson._tag === "Some" ? chainsJson.value : undefined)
  if (Result.isFailure(chains)) return yield* Effect.die(new Error(chains.failure))
  return {
    namespace: yield* Config.String("WATCH_NAMESPACE").pipe(Config.option),
    chains: chains.success,
    enabled: yield* Config.Boolean("REGISTRATION_ENABLED").pipe(Config.withDefault(true)),
    signerSecret: yield* Config.String("SIGNER_SECRET").pipe(Config.withDefault("registrar-signer")),
    signerNamespace: yield* Main.namespaceConfig("SIGNER_NAMESPACE"),
    fieldManager: yield* Config.String("FIELD_MANAGER").pipe(Config.withDefault("registrar")),
    concurrency: yield* Config.Int("CONCURRENCY").pipe(Config.withDefault(4)),
    rpcTimeoutMillis: (yield* Config.Int("RPC_TIMEOUT_SECONDS").pipe(Config.withDefault(10))) * 1000,
    receiptTimeoutMillis: (yield* Config.Int("RECEIPT_TIMEOUT_SECONDS").pipe(Config.withDefault(120))) * 1000,
    backoffMax: Duration.seconds(yield* Config.Int("BACKOFF_MAX_SECONDS").pipe(Config.withDefault(300))),
    offChainRecheck: Duration.seconds(yield* Config.Int("OFF_CHAIN_RECHECK_SECONDS").pipe(Config.withDefault(60))),
    healthPort: yield* Config.Port("HEALTH_PORT").pipe(Config.withDefault(8083)),
    listen: yield* Main.listenConfig,
    leaseNamespace: yield* Main.namespaceConfig("LEASE_NAMESPACE"),
    identity: yield* Main.identityConfig
  }
})
