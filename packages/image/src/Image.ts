/**
 * The one container image the three processes ship in: its reference (name and tag), where each
 * program lives inside it, the user it runs as and how it starts. Deployments, the tests that run
 * a process "as its pod would", and the build (`npm run image`) all read these constants, so the
 * contract is stated once.
 *
 * This module only describes the image; `Build.ts` makes it. One image for three processes,
 * because they share Node, the root filesystem and most of the bundled libraries (docs/adr/0009).
 *
 * @since 0.1.0
 */

/**
 * The image reference, `<name>:<tag>`: the one place its name and tag are written.
 *
 * @category constants
 */
export const reference = "ghcr.io/obolnetwork/serviceoffer:0.1.0"

/**
 * The repository part of {@link reference} (`ghcr.io/obolnetwork/serviceoffer`).
 *
 * @category constants
 */
export const name = reference.slice(0, reference.lastIndexOf(":"))

/**
 * The tag part of {@link reference} (`0.1.0`); also the `org.opencontainers.image.ref.name` of
 * the OCI archive's index.
 *
 * @category constants
 */
export const tag = reference.slice(reference.lastIndexOf(":") + 1)

/**
 * The processes in the image, each bundled from `packages/<process>/src/main.ts`.
 *
 * @category constants
 */
export const processes = ["serviceoffer-controller", "x402-verifier", "registrar"] as const

/**
 * @category models
 */
export type Process = (typeof processes)[number]

/**
 * The Node 24 binary (the entrypoint).
 *
 * @category constants
 */
export const node = "/usr/local/bin/node"

/**
 * The directory of the bundles, and the working directory.
 *
 * @category constants
 */
export const appDir = "/app"

/**
 * Where a process's bundle is: the container's `args` (or `command: [node, bundle]`).
 *
 * @category accessors
 */
export const bundle = (process: Process): string => `${appDir}/${process}.mjs`

/**
 * The unprivileged user every process runs as (distroless's `nonroot`), with a home directory and
 * entries in /etc/passwd and /etc/group.
 *
 * @category constants
 */
export const user = { name: "nonroot", uid: 65532, gid: 65532, home: "/home/nonroot" } as const

/**
 * The OCI image configuration's `config` section. `Cmd` runs the controller; a Deployment of
 * another process sets `args: ["/app/<process>.mjs"]`. There is no shell in the image.
 *
 * @category constants
 */
export const runtime = {
  entrypoint: [node],
  cmd: [bundle("serviceoffer-controller")],
  workingDir: appDir,
  user: `${user.uid}:${user.gid}`,
  env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production"]
} as const

/**
 * The image configuration's labels.
 *
 * @category constants
 */
export const labels = {
  "org.opencontainers.image.title": "serviceoffer",
  "org.opencontainers.image.description": `${processes.join(", ")}: x402 payment gates for ServiceOffers`,
  "org.opencontainers.image.version": tag
} as const

/**
 * The archive `npm run image` writes, relative to the repository root.
 *
 * @category constants
 */
export const archivePath = `dist/image/serviceoffer-${tag}.oci.tar`
