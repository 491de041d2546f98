/**
 * The grant an offer with an upstream credential needs: a Role in the offer's namespace allowing
 * get, list and watch on exactly that one Secret (`resourceNames`), bound to the x402-verifier's
 * ServiceAccount. The verifier reads nothing else; the serviceoffer-controller never reads Secrets
 * at all (docs/adr/0010-pay-on-success.md). `obol sell --upstream-auth-secret` applies both with
 * the seller's own credentials before the offer, so a seller who may not read that Secret cannot
 * hand it to the verifier either (the API server's escalation check refuses the Role). The grant
 * is per Secret, so the Secret itself says which offers may send it (its annotation
 * `UpstreamAuthorization.offersAnnotation`, written with the seller's right to write the Secret):
 * another offer in the namespace cannot borrow it.
 *
 * It does not create or read the Secret, and never removes a grant (another offer may use it). It
 * sits here, beside `UpstreamAuthorization` and `Names.verifierSecretGrant`, rather than in the CLI
 * that applies it, so that test-envs' deploy test checks the very Role the CLI applies without
 * importing an app.
 *
 * @since 0.1.0
 */
import * as Names from "./Names.ts"
import type { Manifest } from "@obol/kube/KubeClient"

/**
 * @category models
 */
export interface Options {
  /** The offer's namespace, where the Secret is. */
  readonly namespace: string
  readonly secret: string
  /** The verifier's ServiceAccount. */
  readonly serviceAccount: { readonly namespace: string; readonly name: string }
}

/**
 * Reads `namespace/name`.
 *
 * @category constructors
 */
export const serviceAccountOf = (value: string): Options["serviceAccount"] => {
  const [namespace = "", name = ""] = value.split("/")
  return { namespace, name }
}

const labels = { "app.kubernetes.io/managed-by": "obol", "app.kubernetes.io/component": "x402-verifier-secret-access" }

/**
 * The Role and the RoleBinding, in that order.
 *
 * @category constructors
 */
export const manifests = (options: Options): readonly [Manifest, Manifest] => {
  const name = Names.verifierSecretGrant(options.secret)
  return [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name, namespace: options.namespace, labels },
      rules: [
        { apiGroups: [""], resources: ["secrets"], resourceNames: [options.secret], verbs: ["get", "list", "watch"] }
      ]
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name, namespace: options.namespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [
        { kind: "ServiceAccount", name: options.serviceAccount.name, namespace: options.serviceAccount.namespace }
      ]
    }
  ]
}
