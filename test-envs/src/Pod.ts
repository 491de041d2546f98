/**
 * Runs one container of a Deployment the way a kubelet would, on this machine, without a kubelet
 * or a container runtime: the image's root file system (unpacked from the OCI archive
 * `npm run image` writes), the container's command and environment (downward-API values filled in,
 * ConfigMap and Secret references resolved by the caller), its user, a read-only root with only
 * the pod's emptyDir mounts writable (tmpfs), and the pod's ServiceAccount token, CA and namespace
 * at `/var/run/secrets/kubernetes.io/serviceaccount` with `KUBERNETES_SERVICE_HOST/PORT` naming
 * the API server — so the process takes its in-cluster configuration path, as in a pod.
 *
 * How: `unshare --mount` gives the container a private mount table; inside it the root is bound
 * read-only, the emptyDirs are tmpfs, `/proc` is mounted and `/dev` holds null, zero, random and
 * urandom; then `unshare --root --wd --setuid --setgid` enters the root as the container's user.
 * This needs root on the host (mount namespaces and bind mounts); {@link available} says whether
 * this machine can, and why not.
 *
 * What it does not do: network namespaces (the container shares the host's network, so callers
 * move ports that would collide), cgroups (no resource limits), image pulls, probes (the caller
 * polls `/readyz`), or restarts.
 *
 * @since 0.1.0
 */
import { Effect, type Scope } from "effect"
import { execFileSync, spawnSync } from "node:child_process"
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ManagedProcess from "./ManagedProcess.ts"

/**
 * The parts of an image config a container's start depends on.
 *
 * @category models
 */
export interface ImageConfig {
  readonly entrypoint: ReadonlyArray<string>
  readonly cmd: ReadonlyArray<string>
  readonly workingDir: string
  readonly env: ReadonlyArray<string>
  readonly user: string
}

/**
 * @category models
 */
export interface EnvVar {
  readonly name: string
  readonly value?: string
  readonly valueFrom?: {
    readonly fieldRef?: { readonly fieldPath: string }
    readonly configMapKeyRef?: { readonly name: string; readonly key: string; readonly optional?: boolean }
    readonly secretKeyRef?: { readonly name: string; readonly key: string; readonly optional?: boolean }
  }
}

/**
 * The fields of a container (and its pod) this runner honours.
 *
 * @category models
 */
export interface Container {
  readonly name: string
  readonly command?: ReadonlyArray<string>
  readonly args?: ReadonlyArray<string>
  readonly workingDir?: string
  readonly env?: ReadonlyArray<EnvVar>
  readonly envFrom?: ReadonlyArray<{
    readonly configMapRef?: { readonly name: string }
    readonly secretRef?: { readonly name: string }
  }>
  readonly volumeMounts?: ReadonlyArray<{ readonly name: string; readonly mountPath: string }>
  readonly securityContext?: {
    readonly runAsUser?: number
    readonly runAsGroup?: number
    readonly readOnlyRootFilesystem?: boolean
  }
}

/**
 * @category models
 */
export interface PodSpec {
  readonly serviceAccountName?: string
  readonly securityContext?: { readonly runAsUser?: number; readonly runAsGroup?: number }
  readonly volumes?: ReadonlyArray<{ readonly name: string; readonly emptyDir?: unknown }>
}

/**
 * Where ConfigMap and Secret references come from: the data of the named object in the pod's
 * namespace, or undefined when it does not exist.
 *
 * @category models
 */
export type Lookup = (kind: "ConfigMap" | "Secret", name: string) => Record<string, string> | undefined

/**
 * Whether this machine can run pods this way: root, `unshare` with `--root`/`--setuid`.
 *
 * @category accessors
 */
export const available = (): { readonly ok: true } | { readonly ok: false; readonly why: string } => {
  if (process.getuid?.() !== 0) {
    return { ok: false, why: "running a container as its pod would needs root (mount namespaces and bind mounts)" }
  }
  const help = spawnSync("unshare", ["--help"], { encoding: "utf8" })
  if (help.status !== 0 || !help.stdout.includes("--setuid") || !help.stdout.includes("--root")) {
    return { ok: false, why: "util-linux unshare with --root and --setuid (2.38 or later) is needed" }
  }
  return { ok: true }
}

/**
 * Unpacks the image in `archive` (an OCI archive with a Docker `manifest.json`) into a new
 * directory; its config, and the directory.
 *
 * @category constructors
 */
export const unpack = (archive: string, into?: string): { readonly rootfs: string; readonly config: ImageConfig } => {
  const rootfs = into ?? mkdtempSync(join(tmpdir(), "obol-rootfs-"))
  // A runtime's root directory is 0755 (layers carry no entry for "/"); mkdtemp's is 0700.
  chmodSync(rootfs, 0o755)
  const read = (path: string) => execFileSync("tar", ["-xOf", archive, path], { maxBuffer: 1 << 30 })
  const [manifest] = JSON.parse(read("manifest.json").toString("utf8")) as ReadonlyArray<{
    readonly Config: string
    readonly Layers: ReadonlyArray<string>
  }>
  if (manifest === undefined) throw new Error(`${archive}: manifest.json lists no image`)
  for (const layer of manifest.Layers) {
    const blob = read(layer)
    execFileSync("tar", ["-x", "-C", rootfs, "--same-owner", "--same-permissions"], { input: blob, maxBuffer: 1 << 30 })
  }
  const config = (
    JSON.parse(read(manifest.Config).toString("utf8")) as {
      config: {
        Entrypoint?: Array<string>
        Cmd?: Array<string>
        WorkingDir?: string
        Env?: Array<string>
        User?: string
      }
    }
  ).config
  return {
    rootfs,
    config: {
      entrypoint: config.Entrypoint ?? [],
      cmd: config.Cmd ?? [],
      workingDir: config.WorkingDir ?? "/",
      env: config.Env ?? [],
      user: config.User ?? "0:0"
    }
  }
}

/**
 * The container's environment as the kubelet would give it.
 *
 * @category constructors
 */
export const environment = (options: {
  readonly image: ImageConfig
  readonly container: Container
  readonly pod: { readonly name: string; readonly namespace: string; readonly serviceAccountName: string }
  readonly apiServer: { readonly host: string; readonly port: number }
  readonly lookup: Lookup
}): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const entry of options.image.env) {
    const eq = entry.indexOf("=")
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1)
  }
  env["PATH"] ??= "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  env["HOSTNAME"] = options.pod.name
  env["KUBERNETES_SERVICE_HOST"] = options.apiServer.host
  env["KUBERNETES_SERVICE_PORT"] = String(options.apiServer.port)
  env["KUBERNETES_SERVICE_PORT_HTTPS"] = String(options.apiServer.port)
  const missing = (what: string) => {
    throw new Error(`container ${options.container.name}: ${what} does not exist`)
  }
  for (const source of options.container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef
    if (ref === undefined) continue
    const kind = source.configMapRef !== undefined ? "ConfigMap" : "Secret"
    Object.assign(env, options.lookup(kind, ref.name) ?? missing(`${kind} ${ref.name}`))
  }
  const fields: Record<string, string> = {
    "metadata.name": options.pod.name,
    "metadata.namespace": options.pod.namespace,
    "spec.serviceAccountName": options.pod.serviceAccountName,
    "status.podIP": "127.0.0.1",
    "spec.nodeName": "local"
  }
  for (const v of options.container.env ?? []) {
    if (v.value !== undefined) env[v.name] = v.value
    else if (v.valueFrom?.fieldRef !== undefined) {
      env[v.name] = fields[v.valueFrom.fieldRef.fieldPath] ?? missing(`field ${v.valueFrom.fieldRef.fieldPath}`)
    } else {
      const ref = v.valueFrom?.configMapKeyRef ?? v.valueFrom?.secretKeyRef
      if (ref === undefined) env[v.name] = ""
      else {
        const kind = v.valueFrom?.configMapKeyRef !== undefined ? "ConfigMap" : "Secret"
        const value = options.lookup(kind, ref.name)?.[ref.key]
        if (value !== undefined) env[v.name] = value
        else if (ref.optional !== true) missing(`${kind} ${ref.name} key ${ref.key}`)
      }
    }
  }
  return env
}

/**
 * The program and arguments, with Kubernetes' rules: `command` replaces the image's entrypoint,
 * `args` its cmd (and a `command` without `args` drops the cmd).
 *
 * @category constructors
 */
export const argv = (image: ImageConfig, container: Container): ReadonlyArray<string> =>
  container.command !== undefined
    ? [...container.command, ...(container.args ?? [])]
    : [...image.entrypoint, ...(container.args ?? image.cmd)]

const script = `
set -e
root="$1"; sa="$2"; wd="$3"; uid="$4"; gid="$5"; readonly_root="$6"; shift 6
writable="$OBOL_POD_WRITABLE"; unset OBOL_POD_WRITABLE
mount --bind "$root" "$root"
mkdir -p "$root/var/run/secrets/kubernetes.io/serviceaccount"
mount --bind "$sa" "$root/var/run/secrets/kubernetes.io/serviceaccount"
mount -o remount,bind,ro "$root/var/run/secrets/kubernetes.io/serviceaccount"
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=0755,size=1m tmpfs "$root/dev"
for node in null zero random urandom; do touch "$root/dev/$node"; mount --bind "/dev/$node" "$root/dev/$node"; done
for dir in $writable; do mkdir -p "$root$dir"; mount -t tmpfs -o "mode=1777,size=64m" tmpfs "$root$dir"; done
if [ "$readonly_root" = true ]; then mount -o remount,bind,ro "$root"; fi
exec unshare --root="$root" --wd="$wd" --setuid="$uid" --setgid="$gid" -- "$@"
`

/**
 * Starts the container in the current scope; stopped (SIGTERM, then SIGKILL) when it closes.
 *
 * @category constructors
 */
export const start = (options: {
  readonly name: string
  readonly rootfs: string
  readonly image: ImageConfig
  readonly container: Container
  readonly pod: PodSpec & { readonly name: string; readonly namespace: string }
  readonly serviceAccount: { readonly token: string; readonly ca: string }
  readonly apiServer: { readonly host: string; readonly port: number }
  readonly lookup: Lookup
  /** Test-only changes on top of the container's environment (ports moved off the shared host network). */
  readonly envOverrides?: Record<string, string>
  readonly logFile: string
}): Effect.Effect<ManagedProcess.ManagedProcess, ManagedProcess.ProcessFailed, Scope.Scope> =>
  Effect.suspend(() => {
    const serviceAccountName = options.pod.serviceAccountName ?? "default"
    const saDir = mkdtempSync(join(tmpdir(), `obol-sa-${options.name}-`))
    chmodSync(saDir, 0o755)
    for (const [file, content] of [
      ["token", options.serviceAccount.token],
      ["ca.crt", options.serviceAccount.ca],
      ["namespace", options.pod.namespace]
    ] as const) {
      writeFileSync(join(saDir, file), content, { mode: 0o644 })
    }
    const [imageUid, imageGid] = options.image.user.split(":")
    const uid =
      options.container.securityContext?.runAsUser ?? options.pod.securityContext?.runAsUser ?? Number(imageUid ?? 0)
    const gid =
      options.container.securityContext?.runAsGroup ??
      options.pod.securityContext?.runAsGroup ??
      Number(imageGid ?? imageUid ?? 0)
    const emptyDirs = new Set((options.pod.volumes ?? []).filter((v) => v.emptyDir !== undefined).map((v) => v.name))
    const writable = (options.container.volumeMounts ?? []).filter((m) => emptyDirs.has(m.name)).map((m) => m.mountPath)
    if (writable.some((dir) => /\s/u.test(dir))) throw new Error("mount paths with spaces are not supported")
    for (const dir of writable) mkdirSync(join(options.rootfs, dir), { recursive: true })
    // As a container runtime does: HOME from the image's passwd entry of the user, else "/".
    const passwd = (() => {
      try {
        return readFileSync(join(options.rootfs, "etc", "passwd"), "utf8")
      } catch {
        return ""
      }
    })()
    const home =
      passwd
        .split("\n")
        .map((line) => line.split(":"))
        .find((f) => f[2] === String(uid))?.[5] ?? "/"
    const env = {
      HOME: home,
      ...environment({
        image: options.image,
        container: options.container,
        pod: { name: options.pod.name, namespace: options.pod.namespace, serviceAccountName },
        apiServer: options.apiServer,
        lookup: options.lookup
      }),
      ...options.envOverrides
    }
    const cleanUp = Effect.addFinalizer(() => Effect.sync(() => rmSync(saDir, { recursive: true, force: true })))
    return Effect.andThen(
      cleanUp,
      ManagedProcess.start({
        name: options.name,
        command: "unshare",
        args: [
          "--mount",
          "--propagation",
          "private",
          "--fork",
          "/bin/sh",
          "-c",
          script,
          "pod",
          options.rootfs,
          saDir,
          options.container.workingDir ?? options.image.workingDir,
          String(uid),
          String(gid),
          String(options.container.securityContext?.readOnlyRootFilesystem === true),
          ...argv(options.image, options.container)
        ],
        // The host's tools (mount, unshare) run before the root changes; PATH from the image covers them.
        env: { ...env, OBOL_POD_WRITABLE: writable.join(" ") },
        cleanEnv: true,
        logFile: options.logFile
      })
    )
  })
