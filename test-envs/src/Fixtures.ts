/**
 * Manifests for tests and benchmarks: a ServiceOffer, a PaymentRoute as the
 * serviceoffer-controller writes it (or, with its options, as an attacker would), and an HTTPRoute
 * with no gate at all. Plain JSON as
 * sent to the API server; nothing here talks to one (`vitest/Sellers.ts` does).
 */

export const sellerAddress = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

export interface RouteOptions {
  /** Default `<offer>-payment`, the controller's name for it. */
  readonly name?: string
  /** `spec.offer` as sent; default `{ name: <offer> }`. */
  readonly offerRef?: Record<string, string>
  /** The controller ownerReference; default none. */
  readonly owner?: { readonly name: string; readonly uid: string }
  /** More metadata (uid, generation, creationTimestamp, … for objects handed to pure functions). */
  readonly metadata?: Record<string, unknown>
  readonly pattern?: string
  readonly price?: string
  readonly payTo?: string
  readonly network?: string
  readonly asset?: {
    readonly address: string
    readonly decimals: number
    readonly eip712Name: string
    readonly eip712Version: string
  }
  /** `spec.settlement`; absent by default (upfront). */
  readonly settlement?: "onSuccess" | "upfront"
  /** `spec.upstream`, for pay-on-success routes. */
  readonly upstream?: {
    readonly service: string
    readonly namespace: string
    readonly port: number
    readonly authorization?: {
      readonly secretKeyRef: { readonly name: string; readonly key: string }
      readonly scheme: string
    }
  }
}

export const serviceOffer = (namespace: string, name: string) => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "ServiceOffer",
  metadata: { name, namespace },
  spec: {
    upstream: { service: name, port: 8080 },
    payment: { network: "base-sepolia", payTo: sellerAddress, price: { perRequest: "0.001" } }
  }
})

export const paymentRoute = (namespace: string, offer: string, options: RouteOptions = {}) => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "PaymentRoute",
  metadata: {
    name: options.name ?? `${offer}-payment`,
    namespace,
    ...options.metadata,
    ...(options.owner === undefined
      ? {}
      : {
          ownerReferences: [
            {
              apiVersion: "obol.org/v1alpha1",
              kind: "ServiceOffer",
              controller: true,
              blockOwnerDeletion: true,
              ...options.owner
            }
          ]
        })
  },
  spec: {
    offer: options.offerRef ?? { name: offer },
    pattern: options.pattern ?? `/services/${offer}/*`,
    price: options.price ?? "1000",
    priceModel: "perRequest",
    payTo: options.payTo ?? sellerAddress,
    network: options.network ?? "eip155:84532",
    asset: options.asset ?? {
      address: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
      decimals: 6,
      eip712Name: "USDC",
      eip712Version: "2"
    },
    maxTimeoutSeconds: 300,
    ...(options.settlement === undefined ? {} : { settlement: options.settlement }),
    ...(options.upstream === undefined ? {} : { upstream: options.upstream })
  }
})

/**
 * An HTTPRoute with no gate: `prefix` on the Gateway's `web` listener to `service:port`, the prefix
 * cut off (the HTTPRoute the controller writes for an upfront offer, minus its Middleware). The
 * benches' baseline for Traefik alone.
 */
export const plainHttpRoute = (
  namespace: string,
  name: string,
  options: {
    readonly gateway: { readonly namespace: string; readonly name: string }
    readonly prefix: string
    readonly service: string
    readonly port: number
  }
) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name, namespace },
  spec: {
    parentRefs: [
      {
        group: "gateway.networking.k8s.io",
        kind: "Gateway",
        namespace: options.gateway.namespace,
        name: options.gateway.name,
        sectionName: "web"
      }
    ],
    rules: [
      {
        matches: [{ path: { type: "PathPrefix", value: options.prefix } }],
        filters: [
          { type: "URLRewrite", urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/" } } }
        ],
        backendRefs: [{ name: options.service, port: options.port }]
      }
    ]
  }
})
