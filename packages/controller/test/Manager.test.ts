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

/** GETs a health path (the server listens once the layer is built). */
const get = (port: number, path: string) =>
  Effect.promise(async () => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`)
    return { status: res.status, text: await res.text() }
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
      expect(yield* get(port, "/readyz")).toEqual({ status: 503, text: "replica: still warming up\n" })
      expect((yield* get(port, "/healthz")).status).toBe(200)
    }).pipe(Effect.scoped, Effect.provide(Layer.fresh(FakeKube.layer)))
  )
})
