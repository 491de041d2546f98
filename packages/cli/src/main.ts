/**
 * The `obol` process: the Node platform, the terminal and the cluster connection, then the
 * command line. Layer composition only; the exit status comes from `Cli.run`.
 *
 * The process exits explicitly (an idle keep-alive socket must not hold it open), but only once
 * stdout and stderr have drained: `process.exit` right after a large write to a pipe drops what
 * the pipe has not taken yet (`obol sell list -o json | jq` would get a truncated document).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Layer } from "effect"
import * as Cli from "./Cli.ts"
import * as Cluster from "./Cluster.ts"
import * as Io from "./Io.ts"

const drained = (stream: NodeJS.WriteStream) =>
  Effect.callback<void>((resume) => {
    stream.write("", () => resume(Effect.void))
  })

Cli.run(process.argv.slice(2)).pipe(
  Effect.tap(() => Effect.all([drained(process.stdout), drained(process.stderr)])),
  Effect.flatMap((code) => Effect.sync(() => process.exit(code))),
  Effect.provide(Layer.mergeAll(NodeServices.layer, Io.layer, Cluster.layer)),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
