import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Layer } from "effect"
import { Lease } from "@obol/kube/builtin/Lease"
import * as KubeClient from "@obol/kube/KubeClient"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import { createServer } from "node:net"
import * as Health from "@obol/controller/Health"
import * as Manager from "@obol/controller/Manager"

const freePort = Effect.callback<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** GETs a health path until `until` holds for the answer, for at most five seconds. */
const poll = (port: number, path: string, until: (status: number, text: string) => boolean) =>
  Effect.promise(async () => {
    const deadline = Date.now() + 5000
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`).catch(() => undefined)
      const text = res === undefined ? "" : await res.text()
      if ((res !== undefined && until(res.status, text)) || Date.now() > deadline) return { status: res?.status, text }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })

describe("Manager", () => {
  it.live("runs leader-only work once it holds the Lease, and serves every replica's checks on /readyz", () =>
    Effect.gen(function* () {
      const port = yield* freePort
      const led = yield* Deferred.make<void>()
      // Every-replica work that registers a check in the Manager's Health.
      const replica = Layer.effectDiscard(
        Health.Health.use((health) => health.register("replica", () => ({ ready: false, reason: "still warming up" })))
      )
      yield* Layer.build(
        Manager.layer({
          name: "demo",
          healthPort: port,
          listen: { host: "127.0.0.1" },
          leaderElection: { namespace: "ns", identity: "me" },
          leaderOnly: Effect.andThen(Deferred.succeed(led, undefined), Effect.never),
          everyReplica: replica
        })
      )
      yield* Deferred.await(led)
      const lease = yield* KubeClient.KubeClient.use((client) => client.get(Lease, { namespace: "ns", name: "demo" }))
      expect(lease.spec?.holderIdentity).toBe("me")
      const readyz = yield* poll(port, "/readyz", (status) => status === 503)
      expect(readyz).toEqual({ status: 503, text: "replica: still warming up\n" })
      expect((yield* poll(port, "/healthz", (status) => status === 200)).status).toBe(200)
    }).pipe(Effect.scoped, Effect.provide(Layer.fresh(FakeKube.layer)))
  )
})
