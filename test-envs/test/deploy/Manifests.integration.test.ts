/**
 * `deploy/` as a cluster gets it:
 *
 * 1. `kubectl apply --dry-run=server --validate=strict -k deploy` passes against the real API
 *    server (the CRDs, Gateway API and Traefik CRDs are installed by the global setup; the two
 *    namespaces are created for real first, since namespaced objects cannot be dry-run into a
 *    namespace that does not exist), with no warning (the namespaces warn on anything that breaks
 *    the `restricted` Pod Security Standard); so does deploy/README.md's k3d overlay.
 * 2. Every Deployment (and StatefulSet) of `kubectl kustomize deploy` runs its process as the
 *    image contract and the processes' own settings say: the one image, its program as args,
 *    non-root 65532, read-only root with an emptyDir at /tmp, no privilege escalation, no
 *    capabilities, seccomp RuntimeDefault, probes on /healthz and /readyz at the port its
 *    HEALTH_PORT names (read from the manifest, else from the process's `--help`), requests and
 *    limits, the downward API's POD_NAME and POD_NAMESPACE. The Services sit where the processes
 *    expect them (the controller's default VERIFIER_ADDRESS, CONTROLLER_SERVICE and
 *    WELL_KNOWN_PORT), with `metrics` ports the optional ServiceMonitors select.
 * 3. The RBAC matrix: the ServiceAccounts, Roles, ClusterRoles and bindings are applied for real
 *    (under namespace and ClusterRole names of this file's own, so nothing collides with other
 *    test files on the shared API server; deleted afterwards) and `kubectl auth can-i --list` for
 *    each account, in its own namespace and in others, equals the table below; plus the explicit
 *    promises: the verifier reads no Secret and writes no spec, only the registrar reads the
 *    signing key.
 */
import { execFile } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parse, parseAllDocuments, stringify } from "yaml"
import * as VerifierGrant from "@obol/api/VerifierGrant"
import { kubectl, request, useNamespace } from "@obol/test-envs/vitest/TestCluster"

const repoRoot = join(import.meta.dirname, "..", "..", "..")
const deployDir = join(repoRoot, "deploy")

/** The image contract: one image, entrypoint node, the program as the only argument. */
const image = "ghcr.io/obolnetwork/serviceoffer:0.1.0"
const processes = [
  {
    name: "serviceoffer-controller",
    namespace: "obol-system",
    program: "/app/serviceoffer-controller.mjs",
    leader: true
  },
  { name: "x402-verifier", namespace: "x402", program: "/app/x402-verifier.mjs", leader: false },
  { name: "registrar", namespace: "obol-system", program: "/app/registrar.mjs", leader: true }
] as const
type ProcessName = (typeof processes)[number]["name"]

type K8sObject = {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string> }
  [field: string]: any
}

const render = async (dir: string): Promise<Array<K8sObject>> => {
  const out = await kubectl(["kustomize", dir])
  expect(out.code, out.stderr).toBe(0)
  return parseAllDocuments(out.stdout).map((d) => d.toJS() as K8sObject)
}

const find = (objects: ReadonlyArray<K8sObject>, kind: string, name: string, namespace?: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace)

/** Every setting a process's `--help` lists, with its default. */
const helpDefaults = (process_: ProcessName): Promise<Map<string, string>> =>
  new Promise((resolve, reject) => {
    const bin = join(repoRoot, "packages", process_, "bin", `${process_}.mjs`)
    execFile(process.execPath, [bin, "--help"], (error, stdout) => {
      if (error !== null) return reject(error)
      const lines = stdout.split("\n")
      const defaults = new Map<string, string>()
      for (const [i, line] of lines.entries()) {
        const setting = /^ {2}([A-Z][A-Z0-9_]*)\s/u.exec(line)
        const fallback = /^\s+default: (.*)$/u.exec(lines[i + 1] ?? "")
        if (setting !== null && fallback !== null) defaults.set(setting[1]!, fallback[1]!)
      }
      resolve(defaults)
    })
  })

/** The k3d overlay of deploy/README.md, its `resources` pointed at this checkout's deploy/. */
const readmeOverlay = (): string => {
  const readme = readFileSync(join(deployDir, "README.md"), "utf8")
  const block = /```yaml\n\s*# my-seller\/kustomization\.yaml\n([\s\S]*?)```/u.exec(readme)
  expect(block, "deploy/README.md has no `# my-seller/kustomization.yaml` block").not.toBeNull()
  const overlay = parse(block![1]!.replace(/^ {3}/gmu, ""))
  expect(overlay.resources).toEqual(["../obol-serviceoffer/deploy"])
  const dir = mkdtempSync(join(tmpdir(), "deploy-overlay-"))
  overlay.resources = [relative(dir, deployDir)]
  writeFileSync(join(dir, "kustomization.yaml"), stringify(overlay))
  return dir
}

let rendered: Array<K8sObject>
beforeAll(async () => {
  rendered = await render(deployDir)
})

describe("kubectl apply --dry-run=server -k deploy", () => {
  /** The namespaces this file created (and deletes); ones that existed before are left alone. */
  const createdNamespaces: Array<string> = []
  const overlays: Array<string> = []
  afterAll(async () => {
    for (const name of createdNamespaces) await request("DELETE", `/api/v1/namespaces/${name}`)
    for (const dir of overlays) rmSync(dir, { recursive: true, force: true })
  })

  const ensureNamespaces = async () => {
    for (const namespace of rendered.filter((o) => o.kind === "Namespace")) {
      const res = await request("POST", "/api/v1/namespaces", namespace)
      expect([201, 409], res.body).toContain(res.status)
      if (res.status === 201) createdNamespaces.push(namespace.metadata.name)
    }
  }

  /** Warnings other than kubectl's note that objects it did not create lack its annotation. */
  const warnings = (stderr: string) =>
    stderr
      .split("\n")
      .filter(
        (line) => line.startsWith("Warning:") && !line.includes("kubectl.kubernetes.io/last-applied-configuration")
      )

  it("lists every generated CRD, and only those, as a resource", () => {
    const listed = parse(readFileSync(join(deployDir, "kustomization.yaml"), "utf8")).resources.filter((r: string) =>
      r.startsWith("crds/")
    )
    const generated = readdirSync(join(deployDir, "crds"))
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => `crds/${f}`)
    expect(listed.toSorted()).toEqual(generated.toSorted())
  })

  it("passes with strict field validation and no warnings", async () => {
    await ensureNamespaces()
    const result = await kubectl(["apply", "--dry-run=server", "--validate=strict", "-k", deployDir])
    expect(result.code, result.stderr).toBe(0)
    expect(warnings(result.stderr)).toEqual([])
    const applied = result.stdout.split("\n").filter((line) => line.endsWith("(server dry run)"))
    expect(applied).toHaveLength(rendered.length)
  })

  it("passes for deploy/README.md's k3d overlay, which replaces every placeholder", async () => {
    await ensureNamespaces()
    const dir = readmeOverlay()
    overlays.push(dir)
    const objects = await render(dir)
    const configMaps = objects.filter((o) => o.kind === "ConfigMap")
    expect(configMaps).toHaveLength(3)
    for (const map of configMaps) {
      for (const [key, value] of Object.entries(map.data ?? {})) {
        expect(String(value), `${map.metadata.name} ${key}`).not.toMatch(/\.invalid\b/u)
      }
    }
    const result = await kubectl(["apply", "--dry-run=server", "--validate=strict", "-k", dir])
    expect(result.code, result.stderr).toBe(0)
    expect(warnings(result.stderr)).toEqual([])
  })
})

describe("the Deployments of kubectl kustomize deploy", () => {
  const workloads = () => rendered.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")

  it("run each process exactly once, in its namespace", () => {
    expect(
      workloads()
        .map((w) => `${w.metadata.namespace}/${w.metadata.name}`)
        .toSorted()
    ).toEqual(processes.map((p) => `${p.namespace}/${p.name}`).toSorted())
  })

  describe.each(processes)("$name", (proc) => {
    let workload: K8sObject
    let pod: any
    let container: any
    let defaults: Map<string, string>
    beforeAll(async () => {
      workload = find(rendered, "Deployment", proc.name, proc.namespace)!
      pod = workload.spec.template.spec
      if (pod.containers.length !== 1) throw new Error(`${proc.name} has ${pod.containers.length} containers, not 1`)
      container = pod.containers[0]
      defaults = await helpDefaults(proc.name)
    })

    /** A setting as the process sees it: env, then envFrom ConfigMaps, then its default. */
    const setting = (name: string): string | undefined => {
      const entry = (container.env ?? []).find((e: { name: string }) => e.name === name)
      if (entry?.value !== undefined) return entry.value
      if (entry?.valueFrom?.fieldRef?.fieldPath === "metadata.namespace") return workload.metadata.namespace
      expect(entry?.valueFrom, `${name} comes from an unexpected source`).toBeUndefined()
      for (const source of container.envFrom ?? []) {
        const map = find(rendered, "ConfigMap", String(source.configMapRef?.name), workload.metadata.namespace)
        const value = map?.data?.[name]
        if (value !== undefined) return value
      }
      return defaults.get(name)
    }
    const containerPort = (port: number | string) =>
      typeof port === "number" ? port : container.ports.find((p: { name: string }) => p.name === port)?.containerPort
    /** The container's setting, else the pod's, as Kubernetes applies them. */
    const effective = (field: string) => container.securityContext?.[field] ?? pod.securityContext?.[field]

    it("runs the one image with its program as the only argument", () => {
      expect(container.image).toBe(image)
      expect(container.command).toBeUndefined()
      expect(container.args).toEqual([proc.program])
    })

    it("runs non-root with a read-only root, no privilege escalation, no capabilities, seccomp RuntimeDefault", () => {
      expect(effective("runAsNonRoot")).toBe(true)
      expect(effective("runAsUser")).toBe(65532)
      expect(effective("runAsGroup")).toBe(65532)
      expect(effective("seccompProfile")).toEqual({ type: "RuntimeDefault" })
      expect(container.securityContext.readOnlyRootFilesystem).toBe(true)
      expect(container.securityContext.allowPrivilegeEscalation).toBe(false)
      expect(container.securityContext.capabilities).toEqual({ drop: ["ALL"] })
      expect(container.securityContext.privileged ?? false).toBe(false)
    })

    it("has a writable /tmp from an emptyDir, and nothing else writable", () => {
      expect(container.volumeMounts).toHaveLength(1)
      const [mount] = container.volumeMounts
      expect(mount.mountPath).toBe("/tmp")
      expect(mount.readOnly ?? false).toBe(false)
      const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name)
      expect(volume.emptyDir).toBeDefined()
    })

    it("probes /healthz (liveness, startup) and /readyz (readiness) at the port HEALTH_PORT names", () => {
      const healthPort = Number(setting("HEALTH_PORT"))
      expect(healthPort).toBeGreaterThan(0)
      for (const [probe, path] of [
        ["livenessProbe", "/healthz"],
        ["startupProbe", "/healthz"],
        ["readinessProbe", "/readyz"]
      ] as const) {
        expect(container[probe]?.httpGet?.path, probe).toBe(path)
        expect(containerPort(container[probe].httpGet.port), probe).toBe(healthPort)
      }
    })

    it("requests CPU and memory and limits memory, the limit above the request", () => {
      const { requests, limits } = container.resources
      expect(requests.cpu).toBeDefined()
      expect(requests.memory).toBeDefined()
      expect(limits.memory).toBeDefined()
      const mebibytes = (q: string) => Number(/^(\d+)Mi$/u.exec(q)?.[1])
      expect(mebibytes(limits.memory)).toBeGreaterThanOrEqual(mebibytes(requests.memory))
    })

    it("gets POD_NAME and POD_NAMESPACE from the downward API", () => {
      const fieldOf = (name: string) =>
        container.env.find((e: { name: string }) => e.name === name)?.valueFrom?.fieldRef?.fieldPath
      expect(fieldOf("POD_NAME")).toBe("metadata.name")
      expect(fieldOf("POD_NAMESPACE")).toBe("metadata.namespace")
      // Leader-elected processes hold their Lease in their own namespace.
      expect(defaults.has("LEASE_NAMESPACE")).toBe(proc.leader)
      expect(proc.leader ? setting("LEASE_NAMESPACE") : proc.namespace).toBe(proc.namespace)
    })

    it("runs as its own ServiceAccount, with its token mounted, and no Service links in its environment", () => {
      expect(pod.serviceAccountName).toBe(proc.name)
      expect(find(rendered, "ServiceAccount", proc.name, proc.namespace)).toBeDefined()
      expect(pod.automountServiceAccountToken).toBe(true)
      expect(pod.enableServiceLinks).toBe(false)
    })

    it("reads its settings from a ConfigMap of the kustomization with no setting it does not know", () => {
      expect(container.envFrom).toHaveLength(1)
      const map = find(rendered, "ConfigMap", container.envFrom[0].configMapRef.name, proc.namespace)
      expect(map).toBeDefined()
      for (const key of Object.keys(map!.data ?? {})) expect([...defaults.keys()]).toContain(key)
      for (const entry of container.env) expect([...defaults.keys(), "POD_NAME", "POD_NAMESPACE"]).toContain(entry.name)
    })

    it("has a Service with a `metrics` port on HEALTH_PORT", () => {
      const service = rendered.find(
        (o) =>
          o.kind === "Service" &&
          o.metadata.namespace === proc.namespace &&
          o.spec.selector?.["app.kubernetes.io/name"] === proc.name
      )!
      expect(service.spec.selector).toEqual(workload.spec.selector.matchLabels)
      const metrics = service.spec.ports.find((p: { name: string }) => p.name === "metrics")
      expect(containerPort(metrics.targetPort)).toBe(Number(setting("HEALTH_PORT")))
    })
  })

  it("carries the rules of each rbac.yaml unchanged (kustomize rewrites resourceNames that match generated names)", () => {
    for (const proc of processes) {
      const source = parseAllDocuments(readFileSync(join(deployDir, proc.name, "rbac.yaml"), "utf8")).map(
        (d) => d.toJS() as K8sObject
      )
      for (const role of source.filter((o) => o.kind === "Role" || o.kind === "ClusterRole")) {
        expect(
          find(rendered, role.kind, role.metadata.name, role.metadata.namespace)?.rules,
          role.metadata.name
        ).toEqual(role.rules)
      }
    }
  })

  it("gives the controller 2 replicas and the verifier at least 2 with a PodDisruptionBudget of minAvailable 1", () => {
    const deployment = (name: string) => workloads().find((w) => w.metadata.name === name)!
    expect(deployment("serviceoffer-controller").spec.replicas).toBe(2)
    const verifier = deployment("x402-verifier")
    expect(verifier.spec.replicas).toBeGreaterThanOrEqual(2)
    const budget = find(rendered, "PodDisruptionBudget", "x402-verifier", "x402")!
    expect(budget.spec.minAvailable).toBe(1)
    expect(budget.spec.selector).toEqual(verifier.spec.selector)
    expect(deployment("registrar").kind).toBe("Deployment")
  })

  it("puts the verifier's Service where the controller's Middlewares send ForwardAuth (its default VERIFIER_ADDRESS)", async () => {
    const address = new URL((await helpDefaults("serviceoffer-controller")).get("VERIFIER_ADDRESS")!)
    const [name, namespace] = address.hostname.split(".")
    expect(`${name}.${namespace}:${address.port}`).toBe("x402-verifier.x402:8080")
    const service = find(rendered, "Service", name!, namespace)!
    const port = service.spec.ports.find((p: { port: number }) => p.port === Number(address.port))
    expect(port).toBeDefined()
    const verifier = find(rendered, "Deployment", "x402-verifier", "x402")!.spec.template.spec.containers[0]
    const target = verifier.ports.find((p: { name: string }) => p.name === port.targetPort)
    const portSetting = verifier.env.find((e: { name: string }) => e.name === "PORT")?.value
    expect(target.containerPort).toBe(Number(portSetting ?? (await helpDefaults("x402-verifier")).get("PORT")))
  })

  it("puts the controller's well-known Service at CONTROLLER_SERVICE:WELL_KNOWN_PORT in its namespace", () => {
    const controller = find(rendered, "Deployment", "serviceoffer-controller", "obol-system")!
    const container = controller.spec.template.spec.containers[0]
    const env = (name: string) => container.env.find((e: { name: string }) => e.name === name)
    expect(env("CONTROLLER_NAMESPACE").valueFrom.fieldRef.fieldPath).toBe("metadata.namespace")
    const wellKnownPort = Number(env("WELL_KNOWN_PORT").value)
    const service = find(rendered, "Service", env("CONTROLLER_SERVICE").value, "obol-system")!
    const port = service.spec.ports.find((p: { port: number }) => p.port === wellKnownPort)
    expect(port).toBeDefined()
    expect(container.ports.find((p: { name: string }) => p.name === port.targetPort).containerPort).toBe(wellKnownPort)
  })

  it("offers ServiceMonitors as a component, each selecting a Service with the port it scrapes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "deploy-servicemonitor-"))
    try {
      writeFileSync(
        join(dir, "kustomization.yaml"),
        stringify({
          apiVersion: "kustomize.config.k8s.io/v1beta1",
          kind: "Kustomization",
          resources: [relative(dir, deployDir)],
          components: [relative(dir, join(deployDir, "components", "servicemonitor"))]
        })
      )
      const objects = await render(dir)
      const monitors = objects.filter((o) => o.kind === "ServiceMonitor")
      expect(monitors.map((m) => m.metadata.name).toSorted()).toEqual(processes.map((p) => p.name).toSorted())
      for (const monitor of monitors) {
        const selected = objects.filter(
          (o) =>
            o.kind === "Service" &&
            o.metadata.namespace === monitor.metadata.namespace &&
            Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v)
        )
        expect(selected, monitor.metadata.name).toHaveLength(1)
        for (const endpoint of monitor.spec.endpoints) {
          expect(selected[0]!.spec.ports.map((p: { name: string }) => p.name)).toContain(endpoint.port)
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

/**
 * What each ServiceAccount may do, as `kubectl auth can-i --list` prints it (verbs in RBAC's
 * usual order), beyond what every authenticated account may: `everywhere` in every namespace
 * (ClusterRoles), `own` in its own namespace only (Roles), `in` in another of the install's
 * namespaces only (Roles there).
 */
const expectedRbac: Record<
  ProcessName,
  {
    readonly everywhere: ReadonlyArray<string>
    readonly own: ReadonlyArray<string>
    readonly in?: Readonly<Record<string, ReadonlyArray<string>>>
  }
> = {
  "serviceoffer-controller": {
    everywhere: [
      // The upstreams' Services and slices are cached (the probe reads no API, issue 18); one in a
      // namespace the controller does not watch is read with get/list.
      "endpointslices.discovery.k8s.io [] [list watch]",
      "events.events.k8s.io [] [create patch]",
      "httproutes.gateway.networking.k8s.io [] [get list watch create patch delete]",
      "middlewares.traefik.io [] [list watch create patch delete]",
      "paymentroutes.obol.org [] [list watch create patch]",
      // Grants in the verifier's or the upstream's namespace, found again by label (ADR 0010).
      "referencegrants.gateway.networking.k8s.io [] [list watch create patch delete]",
      "registrationrequests.obol.org [] [get list watch create patch delete]",
      "serviceoffers.obol.org [] [list watch patch]",
      "serviceoffers.obol.org/finalizers [] [update]",
      "serviceoffers.obol.org/status [] [patch]",
      "services [] [get list watch]"
    ],
    own: ["leases.coordination.k8s.io [] [create]", "leases.coordination.k8s.io [serviceoffer-controller] [get update]"]
  },
  "x402-verifier": {
    everywhere: [
      "endpointslices.discovery.k8s.io [] [list watch]",
      "paymentroutes.obol.org [] [get list watch]",
      "paymentroutes.obol.org/status [] [patch]",
      "serviceoffers.obol.org [] [get list watch]",
      // Where pay-on-success requests go: the upstream Service's ready endpoints (ADR 0010).
      "services [] [list watch]"
    ],
    own: []
  },
  registrar: {
    everywhere: [
      "events.events.k8s.io [] [create patch]",
      "registrationrequests.obol.org [] [get list watch patch]",
      "registrationrequests.obol.org/status [] [patch]"
    ],
    own: ["leases.coordination.k8s.io [] [get create update]", "secrets [registrar-signer] [get]"]
  }
}

const verbOrder = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]

/** `kubectl auth can-i --list --no-headers` rows as `resource [names] [verbs]`, sorted. */
const parseCanIList = (stdout: string): Array<string> =>
  stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const row = /^(\S*)\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s*$/u.exec(line)
      expect(row, `unexpected kubectl auth can-i line: ${line}`).not.toBeNull()
      const [, resource, urls, names, verbs] = row!
      const words = (s: string) => s.split(" ").filter((w) => w !== "")
      const sortedVerbs = words(verbs!).toSorted((a, b) => verbOrder.indexOf(a) - verbOrder.indexOf(b))
      return resource === ""
        ? `${urls} [${sortedVerbs.join(" ")}]`
        : `${resource} [${words(names!).toSorted().join(" ")}] [${sortedVerbs.join(" ")}]`
    })
    .toSorted()

describe("the RBAC matrix, applied to the real API server", () => {
  const suffix = randomBytes(3).toString("hex")
  /** This file's names for obol-system and x402, so it shares the API server with anything. */
  const namespaces: Record<string, string> = { "obol-system": `obol-system-${suffix}`, x402: `x402-${suffix}` }
  const tenant = useNamespace("rbac-tenant")
  const applied: Array<K8sObject> = []

  const subject = (proc: ProcessName) => {
    const { namespace } = processes.find((p) => p.name === proc)!
    return `system:serviceaccount:${namespaces[namespace]}:${proc}`
  }
  const canI = async (as: string, args: ReadonlyArray<string>, namespace: string) => {
    const result = await kubectl(["auth", "can-i", ...args, `--as=${as}`, "-n", namespace])
    // "yes", or "no" (with " - <reason>" when the authorizer gives one).
    expect(result.stdout.trim(), `can-i ${args.join(" ")}: ${result.stderr}`).toMatch(/^(yes|no)\b/u)
    return result.stdout.trim() === "yes"
  }
  const list = async (as: string, namespace: string) => {
    const result = await kubectl(["auth", "can-i", "--list", "--no-headers", `--as=${as}`, "-n", namespace])
    expect(result.code, result.stderr).toBe(0)
    return parseCanIList(result.stdout)
  }

  beforeAll(async () => {
    const kinds = ["Namespace", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]
    const rename = (namespace: string) => namespaces[namespace] ?? namespace
    for (const original of rendered.filter((o) => kinds.includes(o.kind))) {
      const object = structuredClone(original)
      if (object.kind === "Namespace") object.metadata.name = rename(object.metadata.name)
      if (object.metadata.namespace !== undefined) object.metadata.namespace = rename(object.metadata.namespace)
      if (object.kind.startsWith("Cluster")) object.metadata.name = `${object.metadata.name}-${suffix}`
      if (object.roleRef?.kind === "ClusterRole") object.roleRef.name = `${object.roleRef.name}-${suffix}`
      for (const s of object.subjects ?? []) if (s.namespace !== undefined) s.namespace = rename(s.namespace)
      applied.push(object)
    }
    // Every reference to the two namespaces was renamed.
    if (/"(obol-system|x402)"/u.test(JSON.stringify(applied))) throw new Error("a namespace reference was not renamed")
    const result = await kubectl(["apply", "-f", "-"], applied.map((o) => stringify(o)).join("---\n"))
    if (result.code !== 0) throw new Error(`applying the RBAC failed: ${result.stderr}`)
  })

  afterAll(async () => {
    for (const object of applied.filter((o) => o.kind.startsWith("Cluster"))) {
      const plural = object.kind === "ClusterRole" ? "clusterroles" : "clusterrolebindings"
      await request("DELETE", `/apis/rbac.authorization.k8s.io/v1/${plural}/${object.metadata.name}`)
    }
    for (const name of Object.values(namespaces)) await request("DELETE", `/api/v1/namespaces/${name}`)
  })

  it("grants each account exactly the table, in its own namespace and in any other", async () => {
    const baseline = new Set(await list(`system:serviceaccount:${namespaces["obol-system"]}:nobody`, tenant()))
    for (const proc of processes) {
      const own = namespaces[proc.namespace]!
      const others = [...Object.values(namespaces).filter((n) => n !== own), tenant()]
      const expected = expectedRbac[proc.name]
      for (const namespace of [own, ...others]) {
        const granted = (await list(subject(proc.name), namespace)).filter((row) => !baseline.has(row))
        const original = Object.keys(namespaces).find((key) => namespaces[key] === namespace)
        const wanted = [
          ...expected.everywhere,
          ...(namespace === own ? expected.own : []),
          ...(original === undefined ? [] : (expected.in?.[original] ?? []))
        ]
        expect(granted, `${proc.name} in ${namespace === own ? "its own namespace" : namespace}`).toEqual(
          wanted.toSorted()
        )
      }
    }
  })

  it("lets the verifier read no Secret and write no spec: only PaymentRoute status", async () => {
    const verifier = subject("x402-verifier")
    for (const namespace of [...Object.values(namespaces), tenant()]) {
      for (const verb of ["get", "list", "watch"])
        expect(await canI(verifier, [verb, "secrets"], namespace)).toBe(false)
      for (const resource of ["serviceoffers.obol.org", "paymentroutes.obol.org", "registrationrequests.obol.org"]) {
        for (const verb of ["create", "update", "patch", "delete", "deletecollection"]) {
          expect(await canI(verifier, [verb, resource], namespace), `${verb} ${resource}`).toBe(false)
        }
      }
      expect(await canI(verifier, ["patch", "paymentroutes.obol.org", "--subresource=status"], namespace)).toBe(true)
      expect(await canI(verifier, ["update", "paymentroutes.obol.org", "--subresource=status"], namespace)).toBe(false)
      expect(await canI(verifier, ["patch", "serviceoffers.obol.org", "--subresource=status"], namespace)).toBe(false)
    }
  })

  it("with the Role `obol sell --upstream-auth-secret` applies, lets the verifier read that one Secret there and no other", async () => {
    const [role, binding] = VerifierGrant.manifests({
      namespace: tenant(),
      secret: "litellm-secrets",
      serviceAccount: { namespace: namespaces["x402"]!, name: "x402-verifier" }
    })
    const dir = mkdtempSync(join(tmpdir(), "verifier-grant-"))
    writeFileSync(join(dir, "grant.yaml"), `${stringify(role)}---\n${stringify(binding)}`)
    const granted = await kubectl(["apply", "-f", join(dir, "grant.yaml")])
    rmSync(dir, { recursive: true, force: true })
    expect(granted.code, granted.stderr).toBe(0)
    const verifier = subject("x402-verifier")
    // get, and list/watch narrowed to the name (the fieldSelector the verifier's watch sends).
    for (const verb of ["get", "list", "watch"]) {
      expect(await canI(verifier, [verb, "secrets/litellm-secrets"], tenant()), verb).toBe(true)
    }
    for (const args of [
      ["get", "secrets/another-secret"],
      ["list", "secrets"],
      ["watch", "secrets"],
      ["update", "secrets/litellm-secrets"],
      ["patch", "secrets/litellm-secrets"],
      ["delete", "secrets/litellm-secrets"]
    ]) {
      expect(await canI(verifier, args, tenant()), args.join(" ")).toBe(false)
    }
    for (const namespace of Object.values(namespaces)) {
      expect(await canI(verifier, ["get", "secrets/litellm-secrets"], namespace)).toBe(false)
    }
    // Nobody else gained anything.
    expect(await canI(subject("serviceoffer-controller"), ["get", "secrets/litellm-secrets"], tenant())).toBe(false)
  })

  it("lets only the registrar read the signing key, and no other Secret", async () => {
    const system = namespaces["obol-system"]!
    const key = "secrets/registrar-signer"
    expect(await canI(subject("registrar"), ["get", key], system)).toBe(true)
    expect(await canI(subject("serviceoffer-controller"), ["get", key], system)).toBe(false)
    expect(await canI(subject("x402-verifier"), ["get", key], system)).toBe(false)
    for (const args of [
      ["get", "secrets/another-secret"],
      ["list", "secrets"],
      ["watch", "secrets"],
      ["update", key],
      ["patch", key],
      ["delete", key]
    ]) {
      expect(await canI(subject("registrar"), args, system), args.join(" ")).toBe(false)
    }
    expect(await canI(subject("registrar"), ["get", key], tenant())).toBe(false)
    expect(await canI(subject("registrar"), ["get", key], namespaces["x402"]!)).toBe(false)
  })

  it("lets the controller write ServiceOffers only through patch (finalizer) and their status, and read no Secret", async () => {
    const controller = subject("serviceoffer-controller")
    for (const namespace of [...Object.values(namespaces), tenant()]) {
      for (const verb of ["create", "update", "delete"]) {
        expect(await canI(controller, [verb, "serviceoffers.obol.org"], namespace), verb).toBe(false)
      }
      for (const verb of ["get", "list"]) expect(await canI(controller, [verb, "secrets"], namespace)).toBe(false)
      expect(await canI(controller, ["delete", "paymentroutes.obol.org"], namespace)).toBe(false)
      expect(
        await canI(controller, ["patch", "registrationrequests.obol.org", "--subresource=status"], namespace)
      ).toBe(false)
    }
    expect(await canI(controller, ["update", "leases.coordination.k8s.io/registrar"], namespaces["obol-system"]!)).toBe(
      false
    )
  })
})
