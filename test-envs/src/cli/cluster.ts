/**
 * `npm run cluster:up` / `npm run cluster:down`: one control plane kept running in the background
 * for manual work, with the CRDs installed. `up` ends by printing `SERVER=<url>` and
 * `KUBECONFIG=<absolute path>`. State lives in `<test-envs cache>/cluster/` (see `Background.ts`
 * for the daemon, idempotence and clean-up rules).
 */
import { Context, Effect, Layer } from "effect"
import { ControlPlane } from "../ControlPlane.ts"
import * as KubeHttp from "../KubeHttp.ts"
import * as Background from "./Background.ts"

interface State extends Background.Recorded {
  readonly kubeconfig: string
  readonly server: string
  readonly caFile: string
  readonly certFile: string
  readonly keyFile: string
}

await Background.main<State>({
  name: "cluster",
  script: import.meta.filename,
  start: (runDir) =>
    Effect.gen(function* () {
      const context = yield* Layer.build(ControlPlane.layer({ runDir }))
      const control = Context.get(context, ControlPlane)
      return {
        kubeconfig: control.kubeconfig,
        server: control.server,
        caFile: control.pki.caCert,
        certFile: control.pki.adminCert,
        keyFile: control.pki.adminKey,
        pids: control.pids
      }
    }),
  isReady: (state) =>
    Effect.runPromise(
      KubeHttp.make({ server: state.server, caFile: state.caFile, certFile: state.certFile, keyFile: state.keyFile })
        .request("GET", "/readyz")
        .pipe(
          Effect.map((r) => r.status === 200),
          Effect.catch(() => Effect.succeed(false))
        )
    ),
  print: (state) => {
    console.log(`SERVER=${state.server}`)
    console.log(`KUBECONFIG=${state.kubeconfig}`)
  }
})
