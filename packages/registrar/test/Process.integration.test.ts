/**
 * The `registrar` command on the real API server with anvil and our IdentityRegistry: killed
 * with SIGKILL right after each registration transaction reached the chain and before the
 * process could record it (the JSON-RPC proxy holds back the answer and kills it), five times in
 * a row. Each restart must find its registration on chain instead of minting again. The process
 * runs as a ServiceAccount holding only the rules of `deploy/registrar/rbac.yaml`.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { once } from "node:events"
import { join } from "node:path"
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { identityRegistryAbi } from "@obol/chain/IdentityRegistryAbi"
import * as Chain from "@obol/test-envs/chain/Chain"
import * as RpcProxy from "@obol/test-envs/chain/RpcProxy"
import * as ServiceAccounts from "@obol/test-envs/vitest/ServiceAccounts"
import { eventually, request, useNamespace } from "@obol/test-envs/vitest/TestCluster"
import { privateKeyToAddress } from "viem/accounts"
import * as Ports from "@obol/test-envs/Ports"

const namespace = useNamespace("registrar-process")
const bin = join(import.meta.dirname, "..", "bin", "registrar.mjs")
const scope = Effect.runSync(Scope.make())
const children: Array<ChildProcess> = []
let chain: Chain.Chain
let proxy: RpcProxy.RpcProxy
let kubeconfig: string
const seller = privateKeyToAddress(Chain.devKeys.seller)

beforeAll(async () => {
  chain = await Effect.runPromise(Scope.provide(Chain.start(), scope))
  proxy = await Effect.runPromise(Scope.provide(RpcProxy.start(chain.rpcUrl), scope))
  const res = await request("POST", `/api/v1/namespaces/${namespace()}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "registrar-signer", namespace: namespace() },
    data: { privateKey: Buffer.from(Chain.devKeys.seller).toString("base64") }
  })
  if (res.status !== 201) throw new Error(`creating the signer Secret: ${res.status} ${res.body}`)
  kubeconfig = await ServiceAccounts.kubeconfigFor({
    namespace: namespace(),
    account: "registrar",
    manifest: join(import.meta.dirname, "..", "..", "..", "deploy", "registrar", "rbac.yaml")
  })
})
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL")
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const start = async () => {
  // Below the ephemeral range: a random port in it may be any outgoing connection's.
  const healthPort = await Effect.runPromise(Ports.free)
  const child = spawn(process.execPath, [bin], {
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      LISTEN_ADDRESS: "127.0.0.1",
      WATCH_NAMESPACE: namespace(),
      SIGNER_NAMESPACE: namespace(),
      LEASE_NAMESPACE: namespace(),
      // A restarted pod keeps its name (StatefulSet), so it takes its own lease back at once.
      POD_NAME: "registrar-0",
      HEALTH_PORT: String(healthPort),
      BACKOFF_MAX_SECONDS: "2",
      CHAINS_JSON: JSON.stringify([
        { names: ["base-sepolia"], chainId: chain.chainId, rpcUrl: proxy.url, registry: chain.registry }
      ])
    },
    stdio: ["ignore", "ignore", "pipe"]
  })
  children.push(child)
  return child
}

const uri = (name: string) => `https://seller.example/.well-known/agent-registration.json?offer=${namespace()}/${name}`
const path = (name: string) => `/apis/obol.org/v1alpha1/namespaces/${namespace()}/registrationrequests/${name}`
const createRequest = async (name: string) => {
  const res = await request("POST", `/apis/obol.org/v1alpha1/namespaces/${namespace()}/registrationrequests`, {
    apiVersion: "obol.org/v1alpha1",
    kind: "RegistrationRequest",
    metadata: { name, namespace: namespace() },
    spec: { name, endpoint: `https://seller.example/services/${name}`, agentURI: uri(name), chain: "base-sepolia" }
  })
  expect(res.status, res.body).toBe(201)
}

describe("registrar process", () => {
  it("killed with SIGKILL between send and status write 5 times, leaves exactly one Registered event per request", async () => {
    let child = await start()
    const names = [1, 2, 3, 4, 5].map((i) => `agent-${i}`)
    for (const name of names) {
      const victim = child
      const killed = new Promise<void>((resolve) => {
        proxy.onSend = async () => {
          proxy.onSend = undefined
          victim.kill("SIGKILL")
          if (victim.exitCode === null && victim.signalCode === null) await once(victim, "exit")
          resolve()
          return "drop"
        }
      })
      await createRequest(name)
      await killed
      // The transaction is on chain; the status only has the block to search from.
      const between = (await request("GET", path(name))).json
      expect(between.status?.phase).toBe("Pending")
      expect(between.status?.txHash).toBeUndefined()
      expect(typeof between.status?.searchFromBlock).toBe("number")

      child = await start()
      await eventually(`${name} Confirmed after the restart`, async () => {
        const status = (await request("GET", path(name))).json?.status
        return status?.phase === "Confirmed" ? status : undefined
      })
    }
    expect(proxy.sends()).toBe(5)

    const logs = await chain.client.getContractEvents({
      address: chain.registry,
      abi: identityRegistryAbi,
      eventName: "Registered",
      args: { owner: seller },
      fromBlock: 0n
    })
    for (const name of names) {
      const mine = logs.filter((log) => log.args.agentURI === uri(name))
      expect(mine, name).toHaveLength(1)
      const status = (await request("GET", path(name))).json.status
      expect(status.agentId).toBe(mine[0]?.args.agentId?.toString())
      expect(status.txHash).toBe(mine[0]?.transactionHash)
    }
    // The account's rules were enough to record Events too.
    const events = await request("GET", `/apis/events.k8s.io/v1/namespaces/${namespace()}/events`)
    const confirmed = (events.json.items as Array<{ reason: string; regarding: { name: string } }>)
      .filter((e) => e.reason === "Confirmed")
      .map((e) => e.regarding.name)
    expect(confirmed.toSorted()).toEqual(names)
  }, 120_000)
})
