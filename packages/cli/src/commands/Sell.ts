/**
 * `obol sell http <name>` and `obol sell inference <name>`: build the ServiceOffer from the flags,
 * validate it before anything is sent (exit 2 with every problem), then server-side apply it with
 * the CLI's field manager (`obol`), so re-running the same command changes nothing and changed
 * flags update the offer. `--dry-run` prints the manifest instead (`-o yaml`, the default, or
 * `-o json`). `--wait` follows the offer to Ready (see `Wait.ts`) and ends with the endpoint and
 * the price.
 *
 * @since 0.1.0
 */
import { Config, Effect, Option, Result } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { isPaused, ServiceOffer } from "@obol/api/ServiceOffer"
import * as UpstreamAuthorization from "@obol/api/UpstreamAuthorization"
import * as VerifierGrant from "@obol/api/VerifierGrant"
import { Role, RoleBinding } from "@obol/kube/builtin/Role"
import { Secret } from "@obol/kube/builtin/Secret"
import { readFileSync } from "node:fs"
import * as CliFailure from "../CliFailure.ts"
import * as Globals from "../Globals.ts"
import * as Io from "../Io.ts"
import * as Offer from "../Offer.ts"
import * as Networks from "@obol/x402/Networks"
import * as Output from "../Output.ts"
import * as Summary from "../Summary.ts"
import * as Wait from "../Wait.ts"

/**
 * The field manager of every `obol sell http|inference` apply.
 *
 * @category constants
 */
export const fieldManager = "obol"

const nameArgument = Argument.String("name").pipe(Argument.withDescription("Name of the ServiceOffer (a DNS label)"))
const dryRun = Flag.Boolean("dry-run").pipe(
  Flag.withDescription("Print the ServiceOffer (-o yaml|json) and send nothing"),
  Flag.withDefault(false)
)

const readFile = (path: string): Result.Result<string, string> => {
  try {
    return Result.succeed(readFileSync(path, "utf8"))
  } catch (error) {
    return Result.fail((error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message)
  }
}

/** The controller's settings that change what an offer costs, read as the controller reads them. */
const pricingSettings = Effect.gen(function* () {
  const networksJson = yield* Config.option(Config.String("NETWORKS_JSON"))
  const approx = yield* Config.option(Config.Int("APPROX_TOKENS_PER_REQUEST"))
  return {
    networks: Networks.configured(Option.getOrUndefined(networksJson)),
    approxTokensPerRequest: Option.getOrElse(
      Option.filter(approx, (n) => n > 0),
      () => 1000
    )
  }
}).pipe(
  Effect.mapError((error) => CliFailure.usage([`APPROX_TOKENS_PER_REQUEST is not a whole number: ${error.message}`]))
)

const sell = Effect.fn("Sell.run")(function* (
  input: Offer.Input & {
    readonly name: string
    readonly dryRun: boolean
    readonly wait: Option.Option<string>
  },
  type: "http" | "inference",
  model?: Offer.Model
) {
  const io = yield* Io.Io
  const output = yield* Output.supported(`sell ${type}`, yield* Globals.output, ["json", "yaml"])
  const timeout = yield* Wait.parseFlag(input.wait, "no-wait")
  const { networks, approxTokensPerRequest } = yield* pricingSettings
  if (Result.isFailure(networks)) return yield* CliFailure.usage([networks.failure])
  const flagNamespace = yield* Globals.namespaceFlag
  // Validate before connecting: a dry run needs no cluster, and bad flags never reach one.
  const draft = (namespace: string) =>
    Offer.build(input, {
      name: input.name,
      namespace,
      type,
      ...(model === undefined ? {} : { model }),
      networks: networks.success,
      approxTokensPerRequest,
      readFile
    })
  const checked = draft(flagNamespace ?? "default")
  if (Result.isFailure(checked)) {
    return yield* CliFailure.usage(checked.failure)
  }
  if (input.dryRun) {
    // The namespace as kubectl would pick it: -n, else the kubeconfig context's, else default; no request is sent.
    const namespace =
      flagNamespace ??
      (yield* Globals.connect.pipe(
        Effect.map((s) => s.namespace),
        Effect.orElseSucceed(() => "default")
      ))
    return yield* Output.print(Result.getOrThrow(draft(namespace)), output ?? "yaml")
  }
  const session = yield* Globals.connect
  const manifest = Result.getOrThrow(draft(session.namespace))
  const ref = { name: input.name, namespace: session.namespace }
  const say = output === undefined ? io.out : io.err
  // The verifier may read the credential's Secret (that one only) before the offer asks it to,
  // and the Secret names this offer as one allowed to send it (the verifier checks that).
  const authSecret = Option.getOrUndefined(input.upstreamAuthSecret)
  if (authSecret !== undefined) {
    const secretRef = { namespace: session.namespace, name: authSecret }
    const secret = yield* session.find(session.client.get(Secret, secretRef))
    if (Option.isNone(secret)) {
      return yield* CliFailure.make(
        "NotFound",
        `Secret ${session.namespace}/${authSecret} does not exist; nothing was sent`,
        `create it first, e.g. \`kubectl -n ${session.namespace} create secret generic ${authSecret} --from-literal=${Option.getOrElse(input.upstreamAuthKey, () => "KEY")}=…\`, then run this again`
      )
    }
    const allowed = UpstreamAuthorization.offersOf(
      secret.value.metadata.annotations?.[UpstreamAuthorization.offersAnnotation]
    )
    if (!allowed.includes(input.name)) {
      yield* session.explain(
        session.client.patch(Secret, secretRef, {
          type: "merge",
          patch: {
            metadata: { annotations: { [UpstreamAuthorization.offersAnnotation]: [...allowed, input.name].join(",") } }
          }
        })
      )
    }
    const serviceAccount = VerifierGrant.serviceAccountOf(input.verifierServiceAccount)
    const [role, binding] = VerifierGrant.manifests({
      namespace: session.namespace,
      secret: authSecret,
      serviceAccount
    })
    yield* session.explain(session.client.apply(Role, role, { fieldManager, force: true }))
    yield* session.explain(session.client.apply(RoleBinding, binding, { fieldManager, force: true }))
    yield* say(
      `role.rbac.authorization.k8s.io/${role.metadata.name} lets ${input.verifierServiceAccount} read Secret ${session.namespace}/${authSecret} (nothing else), which names offer ${input.name} as one allowed to send it`
    )
  }
  const before = yield* session.find(session.client.get(ServiceOffer, ref))
  const applied = yield* session.explain(session.client.apply(ServiceOffer, manifest, { fieldManager, force: true }))
  // A status write by the controller changes the resourceVersion, not the generation.
  const verb = Option.isNone(before)
    ? "created"
    : before.value.metadata.generation === applied.metadata.generation
      ? "unchanged"
      : "configured"
  // With -o json|yaml, stdout carries only the object (after the wait, with its status); the rest goes to stderr.
  yield* say(`serviceoffer.obol.org/${input.name} ${verb} in namespace ${session.namespace}`)

  if (timeout === undefined) {
    if (output !== undefined) return yield* Output.print(Output.clean(applied), output)
    return yield* io.err(
      `the controller takes it from here; follow it with \`obol sell status ${input.name} -n ${session.namespace}\` or re-run with --wait`
    )
  }
  // An offer stopped with `obol sell stop` stays stopped: wait for what it will become.
  const paused = isPaused(applied)
  const ready = yield* Wait.follow(session, {
    name: input.name,
    namespace: session.namespace,
    goal: paused ? "paused" : "ready",
    generation: applied.metadata.generation ?? 1,
    timeout,
    color: yield* Globals.color,
    lines: output === undefined ? "out" : "err"
  })
  const offer = ready ?? applied
  const summary = `${Summary.price(offer)} on ${offer.spec.payment.network}, paid to ${offer.spec.payment.payTo}`
  yield* paused
    ? say(`Paused: ${Summary.endpoint(offer)} is withdrawn until \`obol sell resume ${input.name}\` (${summary})`)
    : say(`Ready: ${Summary.endpoint(offer)} sells for ${summary}`)
  if (output !== undefined) yield* Output.print(Output.clean(offer), output)
}, Effect.scoped)

const common = { name: nameArgument, ...Offer.flags, dryRun, wait: Wait.flag }

/**
 * `obol sell http <name>`.
 *
 * @category commands
 */
export const http = Command.make("http", common, (input) => sell(input, "http")).pipe(
  Command.withDescription("Sell an HTTP service in the cluster behind an x402 payment gate"),
  Command.withExamples([
    {
      command:
        "obol sell http weather -w 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --upstream weather --port 8080 --price 0.001 --wait",
      description: "Charge 0.001 USDC per request for the Service weather:8080 and wait until buyers can pay"
    },
    {
      command: "obol sell http weather --upstream weather --per-request 0.002 --dry-run -o yaml",
      description: "Print the ServiceOffer without sending it (the wallet from $X402_WALLET)"
    }
  ])
)

/**
 * `obol sell inference <name> --model <m>`.
 *
 * @category commands
 */
export const inference = Command.make(
  "inference",
  {
    ...common,
    port: Flag.Int("port").pipe(
      Flag.withDescription("Port of the upstream Service (default 11434, Ollama's)"),
      Flag.withDefault(11434)
    ),
    model: Flag.String("model").pipe(
      Flag.withDescription("Model name as the runtime knows it, e.g. qwen3:8b (required)"),
      Flag.optional
    ),
    runtime: Flag.Literals("runtime", ["ollama", "vllm", "tgi"]).pipe(
      Flag.withDescription("Inference runtime serving the model"),
      Flag.withDefault("ollama")
    )
  },
  (input) => sell(input, "inference", { name: Option.getOrUndefined(input.model), runtime: input.runtime })
).pipe(
  Command.withDescription("Sell an LLM inference endpoint in the cluster behind an x402 payment gate"),
  Command.withExamples([
    {
      command:
        "obol sell inference qwen --model qwen3:8b --upstream ollama --upstream-namespace llm --port 11434 --per-mtok 1.25 --wait=10m",
      description:
        "Charge 1.25 USDC per million tokens (0.00125 per request at 1000 tokens) for Ollama in namespace llm"
    }
  ])
)
