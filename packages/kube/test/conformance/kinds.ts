/**
 * Kinds the conformance suite uses. `Offer` is the ServiceOffer CRD (installed in the test control
 * plane) seen through a loose Schema, so this package's tests need nothing from `@obol/api`.
 */

export { LooseServiceOffer as Offer } from "@obol/test-envs/TestKinds"

export const offer = (namespace: string, name: string, price = "0.001", extra: Record<string, unknown> = {}) => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "ServiceOffer",
  metadata: { name, namespace, ...extra },
  spec: {
    upstream: { service: "demo", port: 8080 },
    payment: {
      network: "base-sepolia",
      payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      price: { perRequest: price }
    }
  }
})

export const configMap = (
  namespace: string,
  name: string,
  extra: Record<string, unknown> = {},
  data: Record<string, string> = {}
) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace, ...extra },
  data
})
