/**
 * Every setting of the registrar process, read from the environment through Effect `Config`, and
 * the `--help` text listing them. One table drives both.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Result } from "effect"
import * as Chains from "@obol/chain/Chains"
import * as Setting from "@obol/controller/Setting"

/**
 * Every variable the process reads, each defined once (name, default, help, how it is read).
 *
 * @category constants
 */
export const settings = {
  kubeconfig: Setting.documented("KUBECONFIG", "(~/.kube/config, then in-cluster)", "cluster to manage"),
  namespace: Setting.optional(
    "WATCH_NAMESPACE",
    "(all namespaces)",
    "watch RegistrationRequests in this namespace only"
  ),
  chainsJson: Setting.optional(
    "CHAINS_JSON",
    "(Base Sepolia and Base, ERC-8004 reference registries, public RPCs)",
    "chains: JSON [{names, chainId, rpcUrl, registry?}]; entries replace defaults with the same name or id"
  ),
  enabled: Setting.boolean("REGISTRATION_ENABLED", true, "false: every request is OffChainOnly, nothing is sent"),
  signerSecret: Setting.string(
    "SIGNER_SECRET",
    "registrar-signer",
    "Secret (in SIGNER_NAMESPACE) with privateKey (hex), or keystore + password"
  ),
  signerNamespace: Setting.namespace("SIGNER_NAMESPACE", "namespace of the signer Secret"),
  fieldManager: Setting.string("FIELD_MANAGER", "registrar", "server-side apply field manager for status"),
  concurrency: Setting.int("CONCURRENCY", 4, "requests reconciled at once (sends are serialized per signer)"),
  rpcTimeoutSeconds: Setting.int("RPC_TIMEOUT_SECONDS", 10, "per JSON-RPC request"),
  receiptTimeoutSeconds: Setting.int("RECEIPT_TIMEOUT_SECONDS", 120, "how long one attempt waits for a receipt"),
  backoffMaxSeconds: Setting.int("BACKOFF_MAX_SECONDS", 300, "longest wait between retries of a failing request"),
  offChainRecheckSeconds: Setting.int(
    "OFF_CHAIN_RECHECK_SECONDS",
    60,
    "how often OffChainOnly requests are looked at again"
  ),
  healthPort: Setting.port("HEALTH_PORT", 8083, "port of /healthz, /readyz and /metrics"),
  listen: Setting.listen,
  leaseNamespace: Setting.leaseNamespace,
  identity: Setting.identity
}

/**
 * @category constants
 */
export const help = (bin: string) =>
  Setting.help(bin, "registers RegistrationRequests as ERC-8004 agents on chain (obol.org/v1alpha1).", settings)

/**
 * The settings, read from the environment.
 *
 * @category constructors
 */
export const fromEnv = Effect.gen(function* () {
  const read = yield* Setting.read(settings)
  const chains = Chains.fromJson(read.chainsJson._tag === "Some" ? read.chainsJson.value : undefined)
  if (Result.isFailure(chains)) return yield* Effect.die(new Error(chains.failure))
  return {
    namespace: read.namespace,
    chains: chains.success,
    enabled: read.enabled,
    signerSecret: read.signerSecret,
    signerNamespace: read.signerNamespace,
    fieldManager: read.fieldManager,
    concurrency: read.concurrency,
    rpcTimeoutMillis: read.rpcTimeoutSeconds * 1000,
    receiptTimeoutMillis: read.receiptTimeoutSeconds * 1000,
    backoffMax: Duration.seconds(read.backoffMaxSeconds),
    offChainRecheck: Duration.seconds(read.offChainRecheckSeconds),
    healthPort: read.healthPort,
    listen: read.listen,
    leaseNamespace: read.leaseNamespace,
    identity: read.identity
  }
})
