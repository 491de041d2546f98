/**
 * Plays a seller and the serviceoffer-controller on the real API server, for tests of the x402
 * verifier without the controller: a ServiceOffer, and the PaymentRoute it owns (a controller
 * ownerReference to the offer, the name the controller gives it), every field of the route
 * overridable so tests can also write the routes an attacker would.
 */
import { expect } from "vitest"
import { paymentRoute, type RouteOptions, serviceOffer } from "../Fixtures.ts"
import { request } from "./TestCluster.ts"

export { paymentRoute, type RouteOptions, sellerAddress, serviceOffer } from "../Fixtures.ts"

const obol = (namespace: string, plural: string) => `/apis/obol.org/v1alpha1/namespaces/${namespace}/${plural}`

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
