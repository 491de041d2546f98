/**
 * vitest global setup for the integration project: one real control plane per test run, shared by
 * every integration test file, stopped when the run ends. Test files read its kubeconfig with
 * `inject("kubeconfig")` and get their own namespace from `TestNamespace`.
 *
 * If the binaries cannot be built or the control plane does not start, the whole run fails with
 * the reason; integration tests are never skipped.
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import type { TestProject } from "vitest/node"
import { ControlPlane } from "../ControlPlane.ts"

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string
    server: string
    caFile: string
    certFile: string
    keyFile: string
    runDir: string
    etcdUrl: string
  }
}

export default async function setup(project: TestProject) {
  const scope = Effect.runSync(Scope.make())
  const started = Date.now()
  const control = await Effect.runPromise(
    Layer.buildWithScope(ControlPlane.layer(), scope).pipe(Effect.map((context) => Context.get(context, ControlPlane)))
  ).catch(async (error: unknown) => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw error
  })
  console.error(`test-envs: control plane ready at ${control.server} in ${((Date.now() - started) / 1000).toFixed(1)}s`)
  project.provide("kubeconfig", control.kubeconfig)
  project.provide("server", control.server)
  project.provide("caFile", control.pki.caCert)
  project.provide("certFile", control.pki.adminCert)
  project.provide("keyFile", control.pki.adminKey)
  project.provide("runDir", control.runDir)
  project.provide("etcdUrl", control.etcdUrl)
  return async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
