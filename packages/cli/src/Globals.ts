/**
 * The `obol` root command and the flags every subcommand inherits, as kubectl users expect them:
 * `--kubeconfig`, `--context`, `-n/--namespace` (default: the context's namespace, then
 * `default`), `-o/--output`, `--no-color`. Also the one way a command connects: {@link connect}
 * resolves these flags into a `KubeClient`, a namespace and an error translator.
 *
 * It defines no subcommands (`Cli.ts` attaches them) and sends no requests.
 *
 * @since 0.1.0
 */
import { Command, Flag } from "effect/cli"
import { Effect, Option, type Scope } from "effect"
import type * as KubeError from "@obol/kube/KubeError"
import type * as KubeClient from "@obol/kube/KubeClient"
import * as Cluster from "./Cluster.ts"
import type { CliFailure } from "./CliFailure.ts"
import * as Explain from "./Explain.ts"
import * as Io from "./Io.ts"

/**
 * @category commands
 */
export const obol = Command.make("obol").pipe(
  Command.withSharedFlags({
    kubeconfig: Flag.String("kubeconfig").pipe(
      Flag.withDescription("Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)"),
      Flag.optional
    ),
    context: Flag.String("context").pipe(Flag.withDescription("The kubeconfig context to use"), Flag.optional),
    namespace: Flag.String("namespace").pipe(
      Flag.withAlias("n"),
      Flag.withDescription("Namespace of the offer (default: the context's namespace, then default)"),
      Flag.optional
    ),
    output: Flag.Literals("output", ["json", "yaml", "wide"]).pipe(
      Flag.withAlias("o"),
      Flag.withDescription("Output format: json or yaml (every command), wide (list)"),
      Flag.optional
    ),
    noColor: Flag.Boolean("no-color").pipe(Flag.withDescription("Never colour the output"), Flag.withDefault(false))
  }),
  Command.withDescription("Sell HTTP services behind an x402 payment gate on Kubernetes (obol.org ServiceOffers)."),
  Command.withExamples([
    {
      command: "obol sell http weather -w $WALLET --upstream weather --price 0.001 --wait",
      description: "Sell the Service weather for 0.001 USDC per request and wait until buyers can pay"
    },
    { command: "obol sell list -A", description: "Every offer in the cluster" },
    { command: "source <(obol completion bash)", description: "Shell completion" }
  ])
)

/**
 * @category models
 */
export interface Session {
  readonly client: KubeClient.Shape
  /** `-n`, else the context's namespace, else `default`. */
  readonly namespace: string
  /** Turns an API error into what the user should do about it. */
  readonly explain: <A, R>(effect: Effect.Effect<A, KubeError.KubeError, R>) => Effect.Effect<A, CliFailure, R>
  /**
   * A read whose object may be absent: `None` for a missing object, but a missing resource type
   * (CRDs not installed) is still an error that says how to install them.
   */
  readonly find: <A, R>(
    effect: Effect.Effect<A, KubeError.KubeError, R>
  ) => Effect.Effect<Option.Option<A>, CliFailure, R>
}

/**
 * The output format asked for, if any.
 *
 * @category accessors
 */
export const output = Effect.map(obol, (g) => Option.getOrUndefined(g.output))

/**
 * Whether to colour: a terminal, no `NO_COLOR`, no `--no-color`.
 *
 * @category accessors
 */
export const color = Effect.gen(function* () {
  const g = yield* obol
  const io = yield* Io.Io
  return io.color && !g.noColor
})

/**
 * Connects to the cluster the global flags name.
 *
 * @category constructors
 */
export const connect: Effect.Effect<
  Session,
  CliFailure,
  Scope.Scope | Cluster.Cluster | Command.CommandContext<"obol">
> = Effect.gen(function* () {
  const g = yield* obol
  const cluster = yield* Cluster.Cluster
  const connection = yield* cluster.connect({
    kubeconfig: Option.getOrUndefined(g.kubeconfig),
    context: Option.getOrUndefined(g.context)
  })
  const explain = <A, R>(effect: Effect.Effect<A, KubeError.KubeError, R>) =>
    Effect.mapError(effect, (error) => Explain.kubeError(error, { server: connection.server }))
  return {
    client: connection.client,
    namespace: Option.getOrElse(g.namespace, () => connection.namespace),
    explain,
    find: (effect) =>
      explain(
        effect.pipe(
          Effect.map(Option.some),
          Effect.catchIf(
            (error) => error.reason === "NotFound" && !Explain.isMissingKind(error),
            () => Effect.succeed(Option.none())
          )
        )
      )
  }
})

/**
 * The namespace `-n` names, if any, without connecting (for `--dry-run`).
 *
 * @category accessors
 */
export const namespaceFlag = Effect.map(obol, (g) => Option.getOrUndefined(g.namespace))
