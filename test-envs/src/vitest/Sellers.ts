/**
 * Plays a seller and the serviceoffer-controller on the real API server, for tests of the x402
 * verifier without the controller: a ServiceOffer, and the PaymentRoute it owns (a controller
 * ownerReference to the offer, the name the controller gives it), every field of the route
 * overridable so tests can also write the routes an attacker would.
 */
import { expect } from "vitest"
import { request } from "./TestCluster.ts"

export const sellerAddress = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

export interface RouteOptions {
  /** Default `<offer>-payment`, the controller's name for it. */
  readonly name?: string
  /** `spec.offer` as sent; default `{ name: <offer> }`. */
  readonly offerRef?: Record<string, string>
  /** The controller ownerReference; default none. */
  readonly owner?: { readonly name: string; readonly uid: string }
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
}

const obol = (namespace: string, plural: string) => `/apis/obol.org/v1alpha1/namespaces/${namespace}/${plural}`

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
    maxTimeoutSeconds: 300
  }
})

/** Creates a ServiceOffer; returns its uid. */
export const createOffer = async (namespace: string, name: string): Promise<string> => {
  const res = await request("POST", obol(namespace, "serviceoffers"), serviceOffer(namespace, name))
  expect(res.status, res.body).toBe(201)
  return res.json.metadata.uid
}

/** Creates a PaymentRoute as given; returns the API server's answer. */
export const createRoute = (namespace: string, offer: string, options: RouteOptions = {}) =>
  request("POST", obol(namespace, "paymentroutes"), paymentRoute(namespace, offer, options))

/** A ServiceOffer and the PaymentRoute it owns, as the controller would write it. */
export const sell = async (
  namespace: string,
  name: string,
  options: Omit<RouteOptions, "owner" | "name"> = {}
): Promise<{ readonly offerUid: string; readonly routeUid: string }> => {
  const offerUid = await createOffer(namespace, name)
  const route = await createRoute(namespace, name, { ...options, owner: { name, uid: offerUid } })
  expect(route.status, route.body).toBe(201)
  return { offerUid, routeUid: route.json.metadata.uid }
}

/** A PaymentRoute's status, or undefined while it has none. */
export const routeStatus = async (namespace: string, name: string) =>
  (await request("GET", `${obol(namespace, "paymentroutes")}/${name}`)).json?.status
