/**
 * What a Gateway controller (Traefik's, as the local stack and obol-stack run it) writes on an
 * HTTPRoute it serves: one `parents` entry for the Gateway `traefik/traefik-gateway` (listener
 * `web`) with `Accepted` and `ResolvedRefs` True. For tests and benchmarks that play the Gateway;
 * the body of a status merge patch, sent by whatever client the caller has.
 *
 * It does not send anything, and it is not what a real Gateway decides: it always accepts.
 *
 * @since 0.1.0
 */

const condition = (type: string) => ({
  type,
  status: "True",
  reason: type,
  message: "test gateway",
  lastTransitionTime: "2026-11-27T00:00:00Z"
})

/**
 * The HTTPRoute `status` a Gateway writes when it accepts the route.
 *
 * @category constructors
 */
export const acceptedStatus = () => ({
  parents: [
    {
      parentRef: {
        group: "gateway.networking.k8s.io",
        kind: "Gateway",
        namespace: "traefik",
        name: "traefik-gateway",
        sectionName: "web"
      },
      controllerName: "traefik.io/gateway-controller",
      conditions: [condition("Accepted"), condition("ResolvedRefs")]
    }
  ]
})
