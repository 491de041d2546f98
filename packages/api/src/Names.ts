/**
 * Names of the objects the serviceoffer-controller derives from a ServiceOffer's name. They are
 * part of the API: the x402 verifier takes the PaymentRoute with {@link paymentRoute}'s name as the
 * one its offer owns, and users find an offer's children by them. Kubernetes limits
 * these to 63 characters (DNS labels: HTTPRoute and Middleware names end up in Traefik router
 * names, and label values share the limit), so a long offer name is shortened and given a hash
 * suffix: the result is stable, unique per input, and still starts with the readable prefix.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"

const limit = 63

/**
 * `prefix + base + suffix`, shortened to 63 characters with an 8-character hash when needed.
 *
 * @category constructors
 */
export const derived = (base: string, options: { readonly prefix?: string; readonly suffix?: string } = {}): string => {
  const full = `${options.prefix ?? ""}${base}${options.suffix ?? ""}`
  if (full.length <= limit) return full
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8)
  const room = limit - hash.length - 1
  return `${full.slice(0, room).replace(/[-.]+$/u, "")}-${hash}`
}

/** @category constructors */
export const middleware = (offer: string) => derived(offer, { prefix: "x402-" })
/** @category constructors */
export const paymentRoute = (offer: string) => derived(offer, { suffix: "-payment" })
/** @category constructors */
export const httpRoute = (offer: string) => derived(offer, { prefix: "so-" })
/** @category constructors */
export const registrationRequest = (offer: string) => derived(offer, { suffix: "-registration" })
/**
 * The ReferenceGrant (in the verifier's namespace) that lets a pay-on-success offer's HTTPRoute
 * use the verifier's Service: named after the offer's namespace and name, so offers never share one.
 *
 * @category constructors
 */
export const referenceGrant = (namespace: string, offer: string) => derived(`${namespace}.${offer}`, { prefix: "so-" })

/**
 * The Role (and its RoleBinding) in an offer's namespace that lets the x402-verifier read one
 * Secret, an upstream credential (`obol sell --upstream-auth-secret` applies both).
 *
 * @category constructors
 */
export const verifierSecretGrant = (secret: string) => derived(secret, { prefix: "x402-verifier-secret-" })
