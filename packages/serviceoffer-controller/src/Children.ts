/**
 * The objects a ServiceOffer needs, computed by pure functions: from its spec alone the
 * `PaymentRoute` the verifier serves, the public `HTTPRoute` and (when registration is enabled) the
 * `RegistrationRequest`; from the spec and the applied PaymentRoute's pin (uid and admitted
 * generation) the ForwardAuth `Middleware`. The reconciler applies them with
 * server-side apply; this module does no I/O and decides nothing about *when* each is applied
 * (the fail-closed ordering lives in the reconciler).
 *
 * Every child lives in the offer's namespace, carries a controller ownerReference to the offer
 * (so the garbage collector removes it with the offer) and the label
 * `obol.org/serviceoffer: <name>`, and contains only the fields we own, so a repeated apply is a
 * no-op. Each is built with `ApplyConfiguration.make` for its kind, so a misspelt field, even one
 * spread in conditionally, fails the typecheck instead of being pruned by the API server.
 *
 * @since 0.1.0
 */
import { Data, Result } from "effect"
import * as Names from "@obol/api/Names"
import * as PaymentRoute from "@obol/api/PaymentRoute"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import type { ServiceOffer } from "@obol/api/ServiceOffer"
import * as ApplyConfiguration from "@obol/kube/ApplyConfiguration"
import { HTTPRoute } from "@obol/kube/builtin/HTTPRoute"
import { Middleware } from "@obol/kube/builtin/Middleware"
import { ReferenceGrant } from "@obol/kube/builtin/ReferenceGrant"
import * as Price from "@obol/x402/Price"
import * as Networks from "@obol/x402/Networks"
import * as PaymentHeaders from "@obol/x402/PaymentHeaders"

/**
 * Where the children point: the verifier, the Gateway, the public base URL.
 *
 * @category models
 */
export interface Settings {
  /**
   * ForwardAuth address; `{namespace}` and `{name}` are replaced with the offer's, so the
   * verifier knows the offer without guessing from the path.
   */
  readonly verifierAddress: string
  /** The verifier's Service, the HTTPRoute backend of pay-on-success offers. */
  readonly verifierService: { readonly namespace: string; readonly name: string; readonly port: number }
  readonly gateway: { readonly namespace: string; readonly name: string; readonly sectionName?: string }
  /** Public base URL of the gateway, e.g. `https://seller.example`; used for registration endpoints. */
  readonly publicBaseUrl: string
  readonly networks: ReadonlyArray<Networks.Network>
  /** Tokens assumed per request when converting perMTok prices. */
  readonly approxTokensPerRequest: number
  /**
   * Namespaces whose Services offers in other namespaces may sell (`"*"`: any). An offer may always
   * sell a Service of its own namespace; selling another namespace's is a grant the controller
   * makes on that namespace's behalf (a ReferenceGrant there, or the verifier proxying into it),
   * so it happens only where the operator allowed it.
   */
  readonly upstreamNamespaces: ReadonlyArray<string> | "*"
}

/**
 * @category constants
 */
export const defaultSettings: Settings = {
  verifierAddress: "http://x402-verifier.x402.svc.cluster.local:8080/verify/{namespace}/{name}",
  verifierService: { namespace: "x402", name: "x402-verifier", port: 8080 },
  gateway: { namespace: "traefik", name: "traefik-gateway", sectionName: "web" },
  publicBaseUrl: "http://obol.stack:8080",
  networks: Networks.defaults,
  approxTokensPerRequest: 1000,
  // obol-stack's shape: offers in an agent's namespace selling llm/litellm or llm/ollama.
  upstreamNamespaces: ["llm"]
}

/**
 * The `authResponseHeaders` of the ForwardAuth Middleware: the headers the verifier sets on an
 * admitted request, which Traefik copies to the upstream, and the payment headers a buyer could
 * send to forge what the upstream sees.
 *
 * Traefik v3.6 (`pkg/middlewares/auth/forward.go`, `forwardAuth.ServeHTTP`), when the auth answer
 * is 2xx, runs `req.Header.Del(name)` on the forwarded request for every name in this list
 * (canonicalized, so case does not matter) and only then copies the auth answer's values of that
 * name, if it has any. So a listed header reaches the upstream only as the verifier set it: a
 * buyer's own `X-Payment-Status: settled` is removed, and so are the raw `PAYMENT-SIGNATURE` (v2)
 * and `X-PAYMENT` (v1) payloads and any `PAYMENT-REQUIRED`, which the verifier reads or writes but
 * never returns on a 200. (The auth request itself still carries the buyer's payment: Traefik
 * copies the request headers to the verifier before this step.) A name not listed here passes
 * through as the buyer sent it. The list is `@obol/x402/PaymentHeaders`, which the pay-on-success
 * proxy strips too. The verifier sets `PAYMENT-RESPONSE`, `X-PAYMENT-RESPONSE` and
 * `X-Payment-Status/-Tx/-Payer` on a settled payment; it never returns the others on a 200.
 *
 * @category constants
 */
export const authResponseHeaders: ReadonlyArray<string> = PaymentHeaders.names

/**
 * The ForwardAuth `maxResponseBodySize`, in bytes: 64 KiB.
 *
 * Traefik v3.6 (`pkg/middlewares/auth/forward.go`) reads the auth server's body on every answer,
 * 2xx included, into a buffer of `maxResponseBodySize + 1` bytes allocated per request
 * (`readResponseBodyBytes`); a larger body makes it answer 401 with no body (still closed, never
 * free). Without the option it reads bodies of any size and logs a DoS warning every time it
 * builds the middleware, i.e. on every configuration reload. The option bounds only the body,
 * not the headers. The verifier's largest bodies are its 402s: under 1 KiB (about 1.5 KiB with
 * the `PAYMENT-REQUIRED` header), about 5.5 KiB with the longest description a PaymentRoute allows
 * (1024 characters) and a 4 KiB request URL. 64 KiB is ten times that, while keeping the
 * per-request buffer small (1 MiB would allocate 1 MiB for every paid and unpaid request).
 *
 * @category constants
 */
export const maxResponseBodySize = 64 * 1024

/**
 * Why an offer's children cannot be computed. The reconciler reports it on a condition.
 *
 * @category errors
 */
export class InvalidOffer extends Data.TaggedError("InvalidOffer")<{
  readonly reason: "UnknownNetwork" | "InvalidPrice" | "UpstreamNamespaceNotAllowed"
  readonly message: string
}> {}

/**
 * The children computed from the spec alone. The Middleware is not among them: its address pins
 * the PaymentRoute object and the generation the verifier admitted, which only the applied route
 * knows ({@link middleware}).
 *
 * @category models
 */
export interface Desired {
  readonly paymentRoute: ApplyConfiguration.ApplyConfiguration<typeof PaymentRoute.PaymentRoute>
  readonly httpRoute: ApplyConfiguration.ApplyConfiguration<typeof HTTPRoute>
  /** Present when `registration.enabled`. */
  readonly registrationRequest?: ApplyConfiguration.ApplyConfiguration<typeof RegistrationRequest>
}

/**
 * The offer's public path: `spec.path`, or `/services/<name>`.
 *
 * @category getters
 */
export const pathOf = (offer: ServiceOffer): string => offer.spec.path ?? `/services/${offer.metadata.name}`

const ownerReference = (offer: ServiceOffer) => ({
  apiVersion: offer.apiVersion,
  kind: offer.kind,
  name: offer.metadata.name ?? "",
  uid: offer.metadata.uid ?? "",
  controller: true,
  blockOwnerDeletion: true
})

const metadata = (offer: ServiceOffer, name: string): ApplyConfiguration.ObjectMetadata => ({
  name,
  namespace: offer.metadata.namespace ?? "default",
  labels: {
    "app.kubernetes.io/managed-by": "serviceoffer-controller",
    "obol.org/serviceoffer": offer.metadata.name ?? ""
  },
  ownerReferences: [ownerReference(offer)]
})

/**
 * The ForwardAuth Middleware. Its address names the offer (`{namespace}`/`{name}`) and pins the
 * PaymentRoute object and generation the verifier must serve (`?route=<uid>&generation=<n>`):
 * a verifier replica that has not loaded that generation yet answers 503, never an older price.
 *
 * @category constructors
 */
export const middleware = (
  offer: ServiceOffer,
  settings: Settings,
  pin: PaymentRoute.Pin
): ApplyConfiguration.ApplyConfiguration<typeof Middleware> => {
  const address = settings.verifierAddress
    .replaceAll("{namespace}", encodeURIComponent(offer.metadata.namespace ?? "default"))
    .replaceAll("{name}", encodeURIComponent(offer.metadata.name ?? ""))
  return ApplyConfiguration.make(Middleware, {
    apiVersion: "traefik.io/v1alpha1",
    kind: "Middleware",
    metadata: metadata(offer, Names.middleware(offer.metadata.name ?? "")),
    spec: {
      forwardAuth: {
        address: `${address}${address.includes("?") ? "&" : "?"}${PaymentRoute.pinQuery(pin)}`,
        trustForwardHeader: false,
        authResponseHeaders: [...authResponseHeaders],
        maxResponseBodySize
      }
    }
  })
}

/**
 * The PaymentRoute: the exact price in atomic units, the token and the recipient.
 *
 * @category constructors
 */
export const paymentRoute = (
  offer: ServiceOffer,
  settings: Settings
): Result.Result<ApplyConfiguration.ApplyConfiguration<typeof PaymentRoute.PaymentRoute>, InvalidOffer> => {
  const payment = offer.spec.payment
  const network = Networks.find(settings.networks, payment.network)
  if (network._tag === "None") {
    const known = settings.networks.flatMap((n) => [...n.names, n.caip2]).join(", ")
    return Result.fail(
      new InvalidOffer({
        reason: "UnknownNetwork",
        message: `network "${payment.network}" is not configured (known: ${known})`
      })
    )
  }
  const token = payment.asset ?? network.value.usdc
  return Price.effective(payment.price, token.decimals, settings.approxTokensPerRequest).pipe(
    Result.mapError((error) => new InvalidOffer({ reason: "InvalidPrice", message: error.message })),
    Result.map((price) =>
      ApplyConfiguration.make(PaymentRoute.PaymentRoute, {
        apiVersion: "obol.org/v1alpha1",
        kind: "PaymentRoute",
        metadata: metadata(offer, Names.paymentRoute(offer.metadata.name ?? "")),
        spec: {
          offer: {
            name: offer.metadata.name ?? "",
            ...(offer.metadata.uid === undefined ? {} : { uid: offer.metadata.uid })
          },
          pattern: `${pathOf(offer).replace(/\/+$/u, "")}/*`,
          scheme: payment.scheme,
          price: price.atomic.toString(),
          priceModel: price.model,
          ...(price.model === "perMTok"
            ? { perMTok: price.decimal, approxTokensPerRequest: price.approxTokensPerRequest }
            : {}),
          payTo: payment.payTo,
          network: network.value.caip2,
          asset: {
            address: token.address,
            decimals: token.decimals,
            eip712Name: token.eip712Name,
            eip712Version: token.eip712Version
          },
          maxTimeoutSeconds: payment.maxTimeoutSeconds,
          ...(settlementOf(offer) === "onSuccess"
            ? {
                settlement: "onSuccess",
                upstream: {
                  service: offer.spec.upstream.service,
                  namespace: offer.spec.upstream.namespace ?? offer.metadata.namespace ?? "default",
                  port: offer.spec.upstream.port,
                  // The reference only: the verifier reads the value from the offer's namespace.
                  ...(offer.spec.upstream.authorization === undefined
                    ? {}
                    : {
                        authorization: {
                          secretKeyRef: { ...offer.spec.upstream.authorization.secretKeyRef },
                          scheme: offer.spec.upstream.authorization.scheme
                        }
                      })
                }
              }
            : {}),
          description:
            offer.spec.registration?.description ??
            `${offer.spec.type} service ${offer.metadata.namespace}/${offer.metadata.name}`
        }
      })
    )
  )
}

/**
 * When an offer's buyers are charged (docs/adr/0010-pay-on-success.md): `onSuccess` unless the
 * offer says `upfront` (absent, as from a CRD older than the default, is `onSuccess` too).
 *
 * @category accessors
 */
export const settlementOf = (offer: ServiceOffer): "onSuccess" | "upfront" =>
  offer.spec.payment.settlement === "upfront" ? "upfront" : "onSuccess"

/**
 * The header the pay-on-success HTTPRoute sets (never passes through from the buyer) to pin the
 * PaymentRoute uid and generation the verifier must serve, as the ForwardAuth address's query does.
 *
 * @category constants
 */
export const routePinHeader = "x-obol-route"

/**
 * The public HTTPRoute. Upfront: path prefix → ForwardAuth → prefix stripped → upstream Service.
 * Pay-on-success: path prefix → the verifier's Service, with the route pin set as a header (the
 * verifier strips the prefix and proxies to the upstream itself).
 *
 * @category constructors
 */
export const httpRoute = (
  offer: ServiceOffer,
  settings: Settings,
  pin?: { readonly route: string; readonly generation: number }
): ApplyConfiguration.ApplyConfiguration<typeof HTTPRoute> => {
  const { upstream } = offer.spec
  const namespace = offer.metadata.namespace ?? "default"
  const onSuccess = settlementOf(offer) === "onSuccess"
  const verifier = settings.verifierService
  return ApplyConfiguration.make(HTTPRoute, {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: metadata(offer, Names.httpRoute(offer.metadata.name ?? "")),
    spec: {
      parentRefs: [
        {
          namespace: settings.gateway.namespace,
          name: settings.gateway.name,
          ...(settings.gateway.sectionName === undefined ? {} : { sectionName: settings.gateway.sectionName })
        }
      ],
      rules: [
        onSuccess
          ? {
              matches: [{ path: { type: "PathPrefix", value: pathOf(offer) } }],
              filters: [
                {
                  type: "RequestHeaderModifier",
                  requestHeaderModifier: {
                    set: [
                      {
                        name: routePinHeader,
                        value: pin === undefined ? "unpinned" : `${pin.route}/${pin.generation}`
                      }
                    ]
                  }
                }
              ],
              backendRefs: [
                {
                  name: verifier.name,
                  ...(verifier.namespace === namespace ? {} : { namespace: verifier.namespace }),
                  port: verifier.port
                }
              ],
              timeouts: { request: `${PaymentRoute.requestTimeoutSeconds(offer.spec.payment.maxTimeoutSeconds)}s` }
            }
          : {
              matches: [{ path: { type: "PathPrefix", value: pathOf(offer) } }],
              filters: [
                {
                  type: "ExtensionRef",
                  extensionRef: {
                    group: "traefik.io",
                    kind: "Middleware",
                    name: Names.middleware(offer.metadata.name ?? "")
                  }
                },
                { type: "URLRewrite", urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/" } } }
              ],
              backendRefs: [
                {
                  name: upstream.service,
                  ...(upstream.namespace === undefined || upstream.namespace === namespace
                    ? {}
                    : { namespace: upstream.namespace }),
                  port: upstream.port
                }
              ],
              // Settlement plus a slow upstream (obol-stack's rule). Traefik v3.6 does not enforce it here.
              timeouts: { request: `${PaymentRoute.requestTimeoutSeconds(offer.spec.payment.maxTimeoutSeconds)}s` }
            }
      ]
    }
  })
}

/**
 * The ReferenceGrant a pay-on-success offer needs when the verifier's Service lives in another
 * namespace: in the verifier's namespace, admitting HTTPRoutes of the offer's namespace to that one
 * Service. Undefined when none is needed. It cannot carry an ownerReference (namespaces differ);
 * its labels name the offer and the controller's finalizer removes it.
 *
 * @category constructors
 */
export const referenceGrant = (
  offer: ServiceOffer,
  settings: Settings
): ApplyConfiguration.ApplyConfiguration<typeof ReferenceGrant> | undefined => {
  const namespace = offer.metadata.namespace ?? "default"
  const verifier = settings.verifierService
  if (settlementOf(offer) !== "onSuccess" || verifier.namespace === namespace) return undefined
  return ApplyConfiguration.make(ReferenceGrant, {
    apiVersion: "gateway.networking.k8s.io/v1beta1",
    kind: "ReferenceGrant",
    metadata: {
      name: Names.referenceGrant(namespace, offer.metadata.name ?? ""),
      namespace: verifier.namespace,
      labels: grantLabels(offer)
    },
    spec: {
      from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace }],
      to: [{ group: "", kind: "Service", name: verifier.name }]
    }
  })
}

/** The namespace of the offer's upstream Service. */
const upstreamNamespaceOf = (offer: ServiceOffer) =>
  offer.spec.upstream.namespace ?? offer.metadata.namespace ?? "default"

/**
 * Whether the offer may sell its upstream: one in its own namespace always, another namespace's
 * only when `upstreamNamespaces` allows it.
 *
 * @category predicates
 */
export const upstreamAllowed = (offer: ServiceOffer, settings: Settings): Result.Result<void, InvalidOffer> => {
  const upstream = upstreamNamespaceOf(offer)
  const own = offer.metadata.namespace ?? "default"
  if (upstream === own || settings.upstreamNamespaces === "*" || settings.upstreamNamespaces.includes(upstream)) {
    return Result.void
  }
  return Result.fail(
    new InvalidOffer({
      reason: "UpstreamNamespaceNotAllowed",
      message: `the upstream Service is in namespace ${upstream}, and this controller sells Services of other namespaces only from ${settings.upstreamNamespaces.length === 0 ? "none" : settings.upstreamNamespaces.join(", ")} (UPSTREAM_NAMESPACES); add ${upstream} there, or create the offer in namespace ${upstream}`
    })
  )
}

/**
 * The labels of every ReferenceGrant the controller applies for an offer: the grants live in
 * other namespaces than the offer (no ownerReference can reach them), so these labels are how the
 * controller finds them again to remove them.
 *
 * @category constructors
 */
export const grantLabels = (offer: ServiceOffer): Record<string, string> => ({
  "app.kubernetes.io/managed-by": "serviceoffer-controller",
  "obol.org/offer-namespace": offer.metadata.namespace ?? "default",
  "obol.org/offer-name": offer.metadata.name ?? ""
})

/**
 * The ReferenceGrant an upfront offer needs when its upstream Service is in another namespace
 * (the HTTPRoute's backendRef crosses namespaces, which a Gateway refuses without one): in the
 * upstream's namespace, admitting HTTPRoutes of the offer's namespace to that one Service.
 * Undefined when none is needed (same namespace, or pay-on-success: the verifier, not the
 * Gateway, reaches the upstream then).
 *
 * @category constructors
 */
export const upstreamGrant = (
  offer: ServiceOffer,
  settings: Settings
): ApplyConfiguration.ApplyConfiguration<typeof ReferenceGrant> | undefined => {
  const namespace = offer.metadata.namespace ?? "default"
  const upstream = upstreamNamespaceOf(offer)
  if (settlementOf(offer) !== "upfront" || upstream === namespace) return undefined
  if (Result.isFailure(upstreamAllowed(offer, settings))) return undefined
  return ApplyConfiguration.make(ReferenceGrant, {
    apiVersion: "gateway.networking.k8s.io/v1beta1",
    kind: "ReferenceGrant",
    metadata: {
      name: Names.referenceGrant(namespace, offer.metadata.name ?? ""),
      namespace: upstream,
      labels: grantLabels(offer)
    },
    spec: {
      from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace }],
      to: [{ group: "", kind: "Service", name: offer.spec.upstream.service }]
    }
  })
}

/**
 * Every ReferenceGrant the offer needs now (none, the verifier's or the upstream's).
 *
 * @category constructors
 */
export const grants = (
  offer: ServiceOffer,
  settings: Settings
): ReadonlyArray<ApplyConfiguration.ApplyConfiguration<typeof ReferenceGrant>> =>
  [referenceGrant(offer, settings), upstreamGrant(offer, settings)].filter((g) => g !== undefined)

/**
 * The agent URI an offer registers on chain: the controller's well-known registration document,
 * narrowed to this offer with `?offer=<namespace>/<name>`. Each offer is its own ERC-8004 agent,
 * so each needs its own document (its name, services and `registrations` entry), and a URI
 * unique to the offer is what lets the registrar find its own registration on chain after a crash
 * (`findRegistration(owner, uri)`); one URI shared by every offer would make that lookup ambiguous.
 *
 * @category constructors
 */
export const agentURI = (offer: ServiceOffer, settings: Pick<Settings, "publicBaseUrl">): string =>
  `${settings.publicBaseUrl.replace(/\/+$/u, "")}/.well-known/agent-registration.json?offer=${encodeURIComponent(
    offer.metadata.namespace ?? "default"
  )}/${encodeURIComponent(offer.metadata.name ?? "")}`

/**
 * The RegistrationRequest for an offer with `registration.enabled`.
 *
 * @category constructors
 */
export const registrationRequest = (
  offer: ServiceOffer,
  settings: Settings
): ApplyConfiguration.ApplyConfiguration<typeof RegistrationRequest> | undefined => {
  const registration = offer.spec.registration
  if (registration === undefined || !registration.enabled) return undefined
  const endpoint = `${settings.publicBaseUrl.replace(/\/+$/u, "")}${pathOf(offer)}`
  return ApplyConfiguration.make(RegistrationRequest, {
    apiVersion: "obol.org/v1alpha1",
    kind: "RegistrationRequest",
    metadata: metadata(offer, Names.registrationRequest(offer.metadata.name ?? "")),
    spec: {
      name: registration.name ?? offer.metadata.name ?? "",
      ...(registration.description === undefined ? {} : { description: registration.description }),
      ...(registration.image === undefined ? {} : { image: registration.image }),
      endpoint,
      agentURI: agentURI(offer, settings),
      chain: offer.spec.payment.network,
      ...(registration.services === undefined ? {} : { services: registration.services.map((s) => ({ ...s })) }),
      ...(registration.supportedTrust === undefined ? {} : { supportedTrust: [...registration.supportedTrust] }),
      ...(registration.skills === undefined ? {} : { skills: [...registration.skills] }),
      ...(registration.domains === undefined ? {} : { domains: [...registration.domains] }),
      ...(registration.metadata === undefined ? {} : { metadata: { ...registration.metadata } }),
      ...(offer.spec.provenance === undefined ? {} : { provenance: { ...offer.spec.provenance } }),
      // An agent obol-stack's monetize.py minted (or one this request confirmed earlier): the
      // registrar adopts it with setAgentURI instead of minting a second one.
      ...(offer.status?.agentId === undefined ? {} : { existingAgentId: offer.status.agentId }),
      x402Support: true
    }
  })
}

/**
 * Every child of an offer, or why they cannot be computed.
 *
 * @category constructors
 */
export const desired = (offer: ServiceOffer, settings: Settings): Result.Result<Desired, InvalidOffer> =>
  Result.flatMap(upstreamAllowed(offer, settings), () => paymentRoute(offer, settings)).pipe(
    Result.map((route) => {
      const registration = registrationRequest(offer, settings)
      return {
        paymentRoute: route,
        httpRoute: httpRoute(offer, settings),
        ...(registration === undefined ? {} : { registrationRequest: registration })
      }
    })
  )
