/**
 * Where a Service's traffic goes, the way a Gateway implementation (Traefik) or kube-proxy sends
 * it: the addresses of its ready EndpointSlice endpoints, with the target port matched by name
 * from the Service port (or the slice's only port, or a numeric targetPort). Not the ClusterIP:
 * that needs kube-proxy, which callers outside the cluster network (and the local stack) lack.
 *
 * Pure: callers read the Service and its slices (a GET and a LIST, or informers).
 *
 * @since 0.1.0
 */
import type { EndpointSlice } from "./builtin/EndpointSlice.ts"
import type { Service } from "./builtin/Service.ts"

/**
 * One address to send traffic to.
 *
 * @category models
 */
export interface Target {
  readonly address: string
  readonly port: number
}

/**
 * The ready targets of `servicePort` of `service` in `slices` (the slices labelled with its name).
 *
 * @category constructors
 */
export const ready = (
  service: typeof Service.schema.Type,
  slices: ReadonlyArray<typeof EndpointSlice.schema.Type>,
  servicePort: number
): ReadonlyArray<Target> => {
  const port = (service.spec?.ports ?? []).find((p) => p.port === servicePort)
  const found: Array<Target> = []
  for (const slice of slices) {
    const ports = slice.ports ?? []
    const target =
      ports.find((p) => port?.name !== undefined && p.name === port.name)?.port ??
      (ports.length === 1 ? ports[0]?.port : undefined) ??
      (typeof port?.targetPort === "number" ? port.targetPort : servicePort)
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue
      for (const address of endpoint.addresses) found.push({ address, port: target })
    }
  }
  return found
}

/**
 * `http://<address>:<port>` with IPv6 addresses bracketed.
 *
 * @category constructors
 */
export const origin = (target: Target): string =>
  `http://${target.address.includes(":") ? `[${target.address}]` : target.address}:${target.port}`
