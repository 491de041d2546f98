/**
 * The whole `Stack` for one test file: started in `beforeAll` inside the file's namespace of the
 * shared control plane (so files run side by side), stopped in `afterAll`. Returns a getter,
 * valid once `beforeAll` has run.
 */
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, inject } from "vitest"
import * as Stack from "../Stack.ts"
import { http } from "./TestCluster.ts"

export const useStack = (
  namespace: () => string,
  options: { readonly upstreamNamespace?: () => string } = {}
): (() => Stack.Stack) => {
  const scope = Effect.runSync(Scope.make())
  let stack: Stack.Stack | undefined
  beforeAll(async () => {
    stack = await Effect.runPromise(
      Stack.start({
        namespace: namespace(),
        ...(options.upstreamNamespace === undefined ? {} : { upstreamNamespace: options.upstreamNamespace() }),
        controlPlane: { kubeconfig: inject("kubeconfig"), http: http() },
        progress: (line) => console.error(`stack: ${line}`)
      }).pipe(Scope.provide(scope))
    )
  }, 600_000)
  afterAll(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }, 120_000)
  return () => {
    if (stack === undefined) throw new Error("the stack is not started yet: use it inside a test")
    return stack
  }
}
