/**
 * The `obol` process: the Node platform, the terminal and the cluster connection, then the
 * command line. Layer composition only; the exit status comes from `Cli.run`.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as Cli from "./Cli.ts"
import * as Cluster from "./Cluster.ts"
import * as Io from "./Io.ts"

Cli.run(process.argv.slice(2)).pipe(
  Effect.flatMap((code) => Effect.sync(() => process.exit(code))),
  Effect.provide(Layer.mergeAll(NodeServices.layer, Io.layer, Cluster.layer)),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
