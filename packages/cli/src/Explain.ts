/**
 * Translates what the Kubernetes client fails with into what a seller can act on: a `Forbidden`
 * names the verb and resource their RBAC lacks, a missing CRD says how to install it, no cluster
 * says which kubeconfig was tried, an invalid object lists the fields the API server rejected.
 *
 * It classifies messages only; it never retries or changes what was asked.
 *
 * @since 0.1.0
 */
import type * as KubeConfig from "@obol/kube/KubeConfig"
import type * as KubeError from "@obol/kube/KubeError"
import * as CliFailure from "./CliFailure.ts"

const verbs: Record<string, string> = {
  GET: "get",
  POST: "create",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete"
}

/**
 * @category models
 */
export interface Request {
  readonly verb: string
  /** `serviceoffers.obol.org`, `serviceoffers.obol.org/status`, `services`. */
  readonly resource: string
  readonly plural: string
  readonly group: string
  readonly namespace?: string
}

/**
 * `GET /apis/obol.org/v1alpha1/namespaces/shop/serviceoffers/api?watch=true` →
 * `{ verb: "watch", resource: "serviceoffers.obol.org", namespace: "shop" }`.
 *
 * @category parsing
 */
export const describeRequest = (request: string | undefined): Request | undefined => {
  if (request === undefined) return undefined
  const match = /^([A-Z]+) (\/[^?\s]*)(\?\S*)?/u.exec(request)
  if (match === null) return undefined
  const [, method, path, query] = match
  const parts = path!.split("/").filter((p) => p !== "")
  // /api/v1/... or /apis/<group>/<version>/...
  const group = parts[0] === "api" ? "" : (parts[1] ?? "")
  let rest = parts[0] === "api" ? parts.slice(2) : parts.slice(3)
  let namespace: string | undefined
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1]
    rest = rest.slice(2)
  }
  const plural = rest[0] ?? "namespaces"
  const sub = rest[2]
  const named = rest.length >= 2
  let verb = verbs[method!] ?? method!.toLowerCase()
  if (method === "GET" && !named) verb = query?.includes("watch=true") ? "watch" : "list"
  if (method === "PATCH" && query?.includes("fieldManager") && sub === undefined) verb = "patch"
  const resource = `${plural}${group === "" ? "" : `.${group}`}${sub === undefined ? "" : `/${sub}`}`
  return {
    verb,
    resource,
    plural: sub === undefined ? plural : `${plural}/${sub}`,
    group,
    ...(namespace === undefined ? {} : { namespace })
  }
}

/**
 * Whether a 404 says the resource type is unknown (its CRD is not installed) rather than that one
 * object is absent.
 *
 * @category predicates
 */
export const isMissingKind = (error: KubeError.KubeError): boolean =>
  error.reason === "NotFound" && /could not find the requested resource/u.test(error.message)

/**
 * A `KubeError` as the user should read it.
 *
 * @category constructors
 */
export const kubeError = (error: KubeError.KubeError, context: { readonly server: string }): CliFailure.CliFailure => {
  const what = describeRequest(error.request)
  const where = what?.namespace === undefined ? "at cluster scope" : `in namespace "${what.namespace}"`
  switch (error.reason) {
    case "Forbidden":
      return CliFailure.make(
        "Cluster",
        what === undefined
          ? `the API server refused: ${error.message}`
          : `forbidden: you may not ${what.verb} ${what.resource} ${where}`,
        what === undefined
          ? "ask your cluster administrator for the RBAC permission"
          : `ask your cluster administrator for a Role granting verbs ["${what.verb}"] on resources ["${what.plural}"] in apiGroups ["${what.group}"]`
      )
    case "Unauthorized":
      return CliFailure.make(
        "Cluster",
        `the API server at ${context.server} rejected your credentials (401)`,
        "refresh them (log in again, or check the token in your kubeconfig)"
      )
    case "NotFound":
      if (isMissingKind(error) || what === undefined) {
        return CliFailure.make(
          "Cluster",
          `the cluster at ${context.server} does not know ${what?.resource ?? "this resource"}: the ServiceOffer CRDs are not installed`,
          "install them with `kubectl apply -f deploy/crds/` (from this repository) and run the command again"
        )
      }
      return CliFailure.make("NotFound", error.message)
    case "Invalid": {
      const causes = (error.causes ?? []).map((c) => `${c.field ?? "object"}: ${c.message ?? c.reason ?? "invalid"}`)
      return CliFailure.make(
        "Cluster",
        "the API server rejected the object",
        ...(causes.length > 0 ? causes : [error.message])
      )
    }
    case "Transport":
      return CliFailure.make(
        "Cluster",
        `cannot reach the API server at ${context.server}: ${error.message.replace(/^[A-Z]+ \S+: /u, "")}`,
        "is the cluster running, and does your kubeconfig (--kubeconfig, KUBECONFIG or ~/.kube/config) point at it?"
      )
    default:
      return CliFailure.make("Cluster", `the API server answered ${error.code ?? ""} ${error.reason}: ${error.message}`)
  }
}

/**
 * A kubeconfig that could not be loaded, naming what was tried.
 *
 * @category constructors
 */
export const configError = (error: KubeConfig.KubeConfigError, tried: string): CliFailure.CliFailure =>
  CliFailure.make(
    "Cluster",
    `no cluster to talk to: ${error.message}`,
    `tried ${tried}; pass --kubeconfig <file> (and --context <name>), set KUBECONFIG, or run \`npm start\` for a local cluster`
  )
