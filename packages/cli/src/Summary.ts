/**
 * One ServiceOffer as the CLI's tables and pages show it: the price for any price kind, the
 * endpoint, Ready, and the `list` row (kubectl's columns plus the ones sellers asked for).
 * Pure functions over decoded offers; no requests.
 *
 * @since 0.1.0
 */
import { isPaused, type ServiceOffer } from "@obol/api/ServiceOffer"
import * as Format from "./Format.ts"

type Offer = typeof ServiceOffer.schema.Type

/**
 * `0.001 USDC/request`, `1.25 USDC/MTok`, … in the offer's token.
 *
 * @category accessors
 */
export const price = (offer: Offer): string => Format.priceSummary(offer.spec.payment.price, symbol(offer))

/**
 * The offer's token symbol: USDC by default, the declared symbol of a custom asset, else
 * `tokens` (never USDC for a token that is not).
 *
 * @category accessors
 */
export const symbol = (offer: Offer): string =>
  offer.spec.payment.asset === undefined ? "USDC" : (offer.spec.payment.asset.symbol ?? "tokens")

/**
 * `status.endpoint`, else the default path the controller will publish.
 *
 * @category accessors
 */
export const endpoint = (offer: Offer): string =>
  offer.status?.endpoint ?? offer.spec.path ?? `/services/${offer.metadata.name ?? ""}`

/**
 * The Ready condition's status, `Unknown` before the controller wrote one.
 *
 * @category accessors
 */
export const ready = (offer: Offer): string =>
  (offer.status?.conditions ?? []).find((c) => c.type === "Ready")?.status ?? "Unknown"

/**
 * @category constants
 */
export const headers = (options: { readonly allNamespaces: boolean; readonly wide: boolean }) => [
  ...(options.allNamespaces ? ["namespace"] : []),
  "name",
  "type",
  "model",
  "price",
  "network",
  "endpoint",
  "ready",
  ...(options.wide ? ["phase", "upstream", "pay to"] : []),
  "age"
]

/**
 * One `list` row, matching {@link headers}.
 *
 * @category accessors
 */
export const row = (
  offer: Offer,
  now: number,
  options: { readonly allNamespaces: boolean; readonly wide: boolean }
): ReadonlyArray<string> => {
  const upstream = offer.spec.upstream
  return [
    ...(options.allNamespaces ? [offer.metadata.namespace ?? ""] : []),
    offer.metadata.name ?? "",
    offer.spec.type,
    offer.spec.model?.name ?? "",
    price(offer),
    offer.spec.payment.network,
    endpoint(offer),
    ready(offer),
    ...(options.wide
      ? [
          isPaused(offer) ? "Paused" : (offer.status?.phase ?? "Pending"),
          `${upstream.service}.${upstream.namespace ?? offer.metadata.namespace ?? ""}:${upstream.port}`,
          offer.spec.payment.payTo
        ]
      : []),
    Format.ageOf(offer.metadata.creationTimestamp, now)
  ]
}
