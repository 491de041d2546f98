/**
 * The example controller and the runtime on the real API server: convergence, recreation of a
 * child deleted from outside, readiness without RBAC, and leader election between two processes.
 * The example itself is `packages/controller/examples/ConfigMapGenerator.ts` (imported, and run as
 * a process, through its package export); this run lives here because `@obol/controller` must not
 * depend on test-envs (see test-envs/README.md).
 */
import { Effect, Exit, Fiber, Layer, Redacted, Schedule, Scope } from "effect"
import { spawn, type ChildProcess } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { ConfigMap } from "@obol/kube/builtin/ConfigMap"
import { Lease } from "@obol/kube/builtin/Lease"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeConfig from "@obol/kube/KubeConfig"
import * as NodeKubeClient from "@obol/kube/NodeKubeClient"
import * as Controller from "@obol/controller/Controller"
import { ConfigMapGenerator, controller, reconcile } from "@obol/controller/examples/ConfigMapGenerator"
import * as Health from "@obol/controller/Health"
import * as TcpProxy from "../../src/TcpProxy.ts"
import { compactEtcd, eventually, kubectl, request, useNamespace } from "../../src/vitest/TestCluster.ts"

const namespace = useNamespace("cmgen")
const require = createRequire(import.meta.url)
const example = require.resolve("@obol/controller/examples/ConfigMapGenerator")
const crd = require.resolve("@obol/controller/examples/configmapgenerator-crd.yaml")
const admin = () =>
  NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layerFromFile(inject("kubeconfig"))), Layer.orDie)
const run = <A, E>(effect: Effect.Effect<A, E, KubeClient.KubeClient>) =>
  Effect.runPromise(effect.pipe(Effect.provide(admin())))

const generator = (name: string, content: string) => ({
  apiVersion: "examples.obol.org/v1",
  kind: "ConfigMapGenerator",
  metadata: { name, namespace: namespace() },
  spec: { content }
})

const configMapContent = (name: string) =>
  run(
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const cm = yield* client.get(ConfigMap, { namespace: namespace(), name }).pipe(Effect.option)
      return cm._tag === "Some" ? cm.value.data?.["content"] : undefined
    })
  )

beforeAll(async () => {
  const applied = await kubectl(["apply", "-f", crd])
  if (applied.code !== 0) throw new Error(applied.stderr)
  const established = await kubectl([
    "wait",
    "--for=condition=Established",
    "crd/configmapgenerators.examples.obol.org",
    "--timeout=60s"
  ])
  if (established.code !== 0) throw new Error(established.stderr)
})

describe("the ConfigMapGenerator example on the real API server", () => {
  it("converges, follows spec changes, and recreates a child deleted from outside", async () => {
    const fiber = Effect.runFork(controller.pipe(Effect.provide(admin())))
    try {
      await run(KubeClient.KubeClient.use((c) => c.create(ConfigMapGenerator, generator("hello", "v1"))))
      expect(await eventually("the generated ConfigMap", () => configMapContent("hello-generated"))).toBe("v1")
      await request(
        "PATCH",
        `/apis/examples.obol.org/v1/namespaces/${namespace()}/configmapgenerators/hello`,
        { spec: { content: "v2" } },
        "application/merge-patch+json"
      )
      await eventually("the ConfigMap to follow the spec", async () =>
        (await configMapContent("hello-generated")) === "v2" ? true : undefined
      )
      const status = await request(
        "GET",
        `/apis/examples.obol.org/v1/namespaces/${namespace()}/configmapgenerators/hello`
      )
      await eventually("observedGeneration 2", async () => {
        const s = await request("GET", `/apis/examples.obol.org/v1/namespaces/${namespace()}/configmapgenerators/hello`)
        return s.json.status?.observedGeneration === 2 ? true : undefined
      })
      expect(status.json.metadata.generation).toBe(2)

      const deleted = await request("DELETE", `/api/v1/namespaces/${namespace()}/configmaps/hello-generated`)
      expect(deleted.status).toBe(200)
      expect(await eventually("the deleted child to be recreated", () => configMapContent("hello-generated"))).toBe(
        "v2"
      )
    } finally {
      await Effect.runPromise(Fiber.interrupt(fiber))
    }
  })

  it("relists after a partition outlived etcd's history (410 Gone), repairing what changed meanwhile", async () => {
    const scope = Effect.runSync(Scope.make())
    try {
      const proxy = await Effect.runPromise(TcpProxy.make(inject("server")).pipe(Scope.provide(scope)))
      const kubeconfig = join(inject("runDir"), `partition-${namespace()}.kubeconfig`)
      writeFileSync(
        kubeconfig,
        readFileSync(inject("kubeconfig"), "utf8").replace(inject("server"), `https://127.0.0.1:${proxy.port}`)
      )
      const viaProxy = NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layerFromFile(kubeconfig)), Layer.orDie)
      await Effect.runPromise(Effect.forkIn(controller.pipe(Effect.provide(viaProxy)), scope))

      await run(KubeClient.KubeClient.use((c) => c.create(ConfigMapGenerator, generator("partition", "p"))))
      expect(await eventually("the first child", () => configMapContent("partition-generated"))).toBe("p")

      proxy.cut()
      // While the controller is cut off: its child is deleted and a new generator appears...
      expect((await request("DELETE", `/api/v1/namespaces/${namespace()}/configmaps/partition-generated`)).status).toBe(
        200
      )
      await run(KubeClient.KubeClient.use((c) => c.create(ConfigMapGenerator, generator("during", "d"))))
      // ...and etcd forgets that history, so resuming any watch from before the cut yields 410 Gone
      // (ConfigMaps bypass the API server's watch cache in test-envs, so the answer comes from etcd).
      await compactEtcd()
      proxy.restore()

      expect(
        await eventually("the deleted child to be recreated after the relist", () =>
          configMapContent("partition-generated")
        )
      ).toBe("p")
      expect(
        await eventually("the generator created during the cut to be reconciled", () =>
          configMapContent("during-generated")
        )
      ).toBe("d")
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })

  it("keeps /readyz false, with the reason, for a ServiceAccount that may not list its kind", async () => {
    const ns = namespace()
    await request("POST", `/api/v1/namespaces/${ns}/serviceaccounts`, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "no-rbac" }
    })
    const token = await request("POST", `/api/v1/namespaces/${ns}/serviceaccounts/no-rbac/token`, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 600 }
    })
    const config = KubeConfig.fromOptions({
      server: inject("server"),
      tls: { ca: readFileSync(inject("caFile"), "utf8") },
      token: Redacted.make(token.json.status.token as string)
    })
    const layer = Layer.mergeAll(
      NodeKubeClient.layer.pipe(Layer.provide(KubeConfig.layer(config))),
      Health.Health.layer
    )
    const reasons = await Effect.runPromise(
      Effect.gen(function* () {
        const health = yield* Health.Health
        yield* Controller.run({ name: "restricted", for: ConfigMapGenerator, reconcile }).pipe(Effect.forkChild)
        return yield* health.notReady.pipe(
          Effect.repeat({
            until: (r) => r.some((line) => line.includes("forbidden")),
            schedule: Schedule.spaced("100 millis"),
            times: 100
          })
        )
      }).pipe(Effect.scoped, Effect.provide(layer))
    )
    expect(reasons.join("\n")).toMatch(
      /^controller restricted: list\/watch of ConfigMapGenerator is forbidden: .*system:serviceaccount:.*:no-rbac/mu
    )
  })
})

describe("leader election between two controller processes", () => {
  const children: Array<ChildProcess> = []
  afterAll(() => {
    for (const child of children) child.kill("SIGKILL")
  })

  const start = (identity: string, port: number) => {
    const child = spawn(process.execPath, [example], {
      env: {
        ...process.env,
        KUBECONFIG: inject("kubeconfig"),
        POD_NAME: identity,
        HEALTH_PORT: String(port),
        LEASE_NAMESPACE: namespace()
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    children.push(child)
    return child
  }

  const holder = () =>
    run(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        const lease = yield* client
          .get(Lease, { namespace: namespace(), name: "configmapgenerator" })
          .pipe(Effect.option)
        return lease._tag === "Some" ? (lease.value.spec?.holderIdentity ?? undefined) : undefined
      })
    )

  it("runs one active instance, and the other takes over after the leader is killed", async () => {
    const processes = {
      a: start("instance-a", 18_761 + Math.floor(Math.random() * 1000)),
      b: start("instance-b", 19_861 + Math.floor(Math.random() * 1000))
    }
    const first = await eventually("a leader", holder, 60_000)
    expect(["instance-a", "instance-b"]).toContain(first)
    await run(KubeClient.KubeClient.use((c) => c.create(ConfigMapGenerator, generator("before", "x"))))
    expect(await eventually("the leader to reconcile", () => configMapContent("before-generated"))).toBe("x")

    const leader = first === "instance-a" ? processes.a : processes.b
    const killedAt = Date.now()
    leader.kill("SIGKILL")
    const next = await eventually(
      "the other instance to take over",
      async () => {
        const h = await holder()
        return h !== undefined && h !== first ? h : undefined
      },
      60_000
    )
    const takeoverSeconds = (Date.now() - killedAt) / 1000
    console.log(`leader election takeover after kill -9: ${takeoverSeconds.toFixed(1)} s (lease 15 s, retry 2 s)`)
    expect(next).not.toBe(first)
    await run(KubeClient.KubeClient.use((c) => c.create(ConfigMapGenerator, generator("after", "y"))))
    expect(await eventually("the new leader to reconcile", () => configMapContent("after-generated"))).toBe("y")

    // A graceful stop (SIGTERM): the process exits cleanly and hands the lease back.
    const survivor = next === "instance-a" ? processes.a : processes.b
    const exited = new Promise<number | null>((resolve) => survivor.once("exit", (code) => resolve(code)))
    survivor.kill("SIGTERM")
    expect(await exited).toBe(0)
    expect(await holder()).toBeUndefined()
  }, 120_000)
})
