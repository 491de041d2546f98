/**
 * Runs `obol` command lines in tests: the real command tree (`Cli.run`) against the FakeKube
 * API server, a recording terminal, and the test clock `it.effect` provides. `obol(...)` returns
 * the exit status; `output` returns what a user would have seen.
 */
import { NodeServices } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { TestConsole } from "effect/testing"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import { paymentRoute } from "@obol/test-envs/Fixtures"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as Cli from "@obol/cli/Cli"
import * as Cluster from "@obol/cli/Cluster"
import * as Io from "@obol/cli/Io"

export const payTo = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

/** A fresh fake cluster and terminal per test. */
export const layer = (options: { readonly tty?: boolean; readonly answers?: ReadonlyArray<boolean> } = {}) =>
  Layer.mergeAll(
    Io.layerTest(options),
    Cluster.layerTest.pipe(Layer.provideMerge(Layer.fresh(FakeKube.layer))),
    NodeServices.layer,
    TestConsole.layer
  )

/** Runs one command line; the exit status. */
export const obol = (...args: ReadonlyArray<string>) => Cli.run(args)

/** What was written to stdout, stderr and the status line, and the questions asked. */
export const output = Io.Recording.use((r) => r.get)

/** Everything effect/cli printed itself (help, versions, parse errors). */
export const consoleText = Effect.map(TestConsole.logLines, (lines) => lines.map(String).join("\n"))

/** The requests the fake API server received. */
export const requests = FakeKube.FakeKube.use((f) => f.requests)
export const clearRequests = FakeKube.FakeKube.use((f) => f.clearRequests)

/** Lets forked fibers run until `predicate` holds on the output (bounded; fails the test when it never does). */
export const untilOutput = (
  predicate: (out: { stdout: ReadonlyArray<string>; stderr: ReadonlyArray<string> }) => boolean
) =>
  Effect.gen(function* () {
    for (let i = 0; i < 2000; i++) {
      if (predicate(yield* output)) return
      yield* Effect.yieldNow
    }
    const out = yield* output
    return yield* Effect.die(
      new Error(`output never matched:\nstdout:\n${out.stdout.join("\n")}\nstderr:\n${out.stderr.join("\n")}`)
    )
  })

/** The offer as the API server has it, if it exists. */
export const offer = (name: string, namespace = "default") =>
  KubeClient.KubeClient.use((c) => KubeError.ignoreNotFound(c.get(ServiceOffer, { name, namespace })))

export interface ConditionUpdate {
  readonly type: string
  readonly status: "True" | "False" | "Unknown"
  readonly reason: string
  readonly message?: string
}

/** Writes the offer's status as the controller would (conditions for `generation`). */
export const writeStatus = (
  name: string,
  conditions: ReadonlyArray<ConditionUpdate>,
  extra: {
    readonly generation?: number
    readonly phase?: string
    readonly endpoint?: string
    readonly namespace?: string
  } = {}
) =>
  KubeClient.KubeClient.use((c) =>
    Effect.gen(function* () {
      const namespace = extra.namespace ?? "default"
      const current = yield* c.get(ServiceOffer, { name, namespace })
      const generation = extra.generation ?? current.metadata.generation ?? 1
      return yield* c.applyStatus(
        ServiceOffer,
        {
          apiVersion: ServiceOffer.apiVersion,
          kind: ServiceOffer.kind,
          metadata: { name, namespace },
          status: {
            observedGeneration: generation,
            conditions: conditions.map((u) => ({
              ...u,
              message: u.message ?? "",
              observedGeneration: generation,
              lastTransitionTime: "2026-12-01T00:00:00Z"
            })),
            ...(extra.phase === undefined ? {} : { phase: extra.phase }),
            endpoint: extra.endpoint ?? `http://obol.stack:8080/services/${name}`
          }
        },
        { fieldManager: "serviceoffer-controller", force: true }
      )
    })
  ).pipe(Effect.orDie)

/** The seller's usual command line, with overrides appended. */
export const sellHttp = (name: string, ...extra: ReadonlyArray<string>) =>
  obol("sell", "http", name, "-w", payTo, "--upstream", "weather", "--price", "0.001", ...extra)

/** The PaymentRoute the controller would write for `name`, admitted by the verifier at generation 1. */
export const admittedRoute = (name: string) =>
  Effect.gen(function* () {
    const created = yield* offer(name)
    const uid = created._tag === "Some" ? (created.value.metadata.uid ?? "") : ""
    yield* KubeClient.KubeClient.use((c) =>
      Effect.gen(function* () {
        yield* c.create(PaymentRoute, paymentRoute("default", name, { owner: { name, uid } }))
        yield* c.applyStatus(
          PaymentRoute,
          {
            apiVersion: PaymentRoute.apiVersion,
            kind: PaymentRoute.kind,
            metadata: { name: `${name}-payment`, namespace: "default" },
            status: { admitted: true, lastAdmittedGeneration: 1 }
          },
          { fieldManager: "x402-verifier" }
        )
      })
    )
  }).pipe(Effect.orDie)
