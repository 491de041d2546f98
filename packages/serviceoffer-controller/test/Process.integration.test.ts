/**
 * The `serviceoffer-controller` command on the real API server: two processes with leader
 * election, exactly one of them writing; the leader killed with SIGKILL mid-work and the other
 * converging; every replica serving the well-known document.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { join } from "node:path"
import { afterAll, describe, expect, inject, it } from "vitest"
import * as ServiceOfferFixture from "@obol/api/testing/ServiceOfferFixture"
import { eventually, request, useNamespace } from "@obol/test-envs/vitest/TestCluster"
import * as Ports from "@obol/test-envs/Ports"
import { Effect } from "effect"

const namespace = useNamespace("so-process")
const bin = join(import.meta.dirname, "..", "bin", "serviceoffer-controller.mjs")
const children: Array<ChildProcess> = []
afterAll(() => {
  for (const child of children) child.kill("SIGKILL")
})

const start = async (id: string) => {
  // Below the ephemeral range: a random port in it may be any outgoing connection's.
  const [wellKnownPort, healthPort] = await Effect.runPromise(Ports.freeN(2))
  const child = spawn(process.execPath, [bin], {
    env: {
      ...process.env,
      KUBECONFIG: inject("kubeconfig"),
      LISTEN_ADDRESS: "127.0.0.1",
      WATCH_NAMESPACE: namespace(),
      LEASE_NAMESPACE: namespace(),
      CONTROLLER_NAMESPACE: namespace(),
      POD_NAME: id,
      FIELD_MANAGER: `serviceoffer-controller-${id}`,
      HEALTH_PORT: String(healthPort),
      WELL_KNOWN_PORT: String(wellKnownPort),
      PUBLIC_BASE_URL: "https://seller.example",
      VERIFIER_SERVICE: `${namespace()}/x402-verifier:8080`
    },
    stdio: ["ignore", "ignore", "pipe"]
  })
  children.push(child)
  return { child, wellKnownPort }
}

const offer = (name: string) =>
  ServiceOfferFixture.make(name, { namespace: namespace() })
    .upstream({ service: "demo" })
    .pricedPerRequest("0.01")
    .withRegistration({ name })
    .build()

const managersOf = async (path: string) => {
  const res = await request("GET", path)
  return res.status === 200
    ? [...new Set((res.json.metadata.managedFields ?? []).map((m: { manager: string }) => m.manager))]
    : undefined
}

const leader = () =>
  eventually(
    "a leader",
    async () => {
      const res = await request(
        "GET",
        `/apis/coordination.k8s.io/v1/namespaces/${namespace()}/leases/serviceoffer-controller`
      )
      const holder = res.json?.spec?.holderIdentity
      return typeof holder === "string" && holder !== "" ? holder : undefined
    },
    60_000
  )

describe("the serviceoffer-controller command", () => {
  it("runs two replicas of which exactly one writes, and converges after the leader is killed mid-work", async () => {
    const a = await start("a")
    const b = await start("b")
    const first = await leader()
    const offers = `/apis/obol.org/v1alpha1/namespaces/${namespace()}/serviceoffers`
    expect((await request("POST", offers, offer("one"))).status).toBe(201)
    const routePath = (name: string) =>
      `/apis/obol.org/v1alpha1/namespaces/${namespace()}/paymentroutes/${name}-payment`
    await eventually("the first PaymentRoute", async () =>
      (await managersOf(routePath("one"))) === undefined ? undefined : true
    )
    // Once the leader has written the offer's status, only its field manager has touched anything.
    await eventually("the leader to write the offer's status", async () => {
      const res = await request("GET", `${offers}/one`)
      return res.json?.status?.observedGeneration === 1 ? true : undefined
    })
    expect(await managersOf(routePath("one"))).toEqual([`serviceoffer-controller-${first}`])
    expect(await managersOf(`${offers}/one`)).not.toContain(`serviceoffer-controller-${first === "a" ? "b" : "a"}`)

    // Both replicas serve the well-known document, leader or not.
    for (const { wellKnownPort } of [a, b]) {
      const doc = await eventually("the well-known document", async () => {
        const res = await fetch(`http://127.0.0.1:${wellKnownPort}/.well-known/agent-registration.json`).catch(
          () => undefined
        )
        return res?.status === 200 ? ((await res.json()) as { type: string }) : undefined
      })
      expect(doc.type).toBe("https://eips.ethereum.org/EIPS/eip-8004#registration-v1")
    }

    // Kill the leader while it works on a new offer; the other replica takes over and converges.
    const killed = first === "a" ? a : b
    expect((await request("POST", offers, offer("two"))).status).toBe(201)
    killed.child.kill("SIGKILL")
    const second = await eventually(
      "the other replica to lead",
      async () => {
        const holder = await leader()
        return holder !== first ? holder : undefined
      },
      60_000
    )
    await eventually(
      "the second PaymentRoute from the new leader",
      async () => {
        const managers = await managersOf(routePath("two"))
        return managers?.includes(`serviceoffer-controller-${second}`) === true ? true : undefined
      },
      60_000
    )
  }, 180_000)
})
