/**
 * The ServiceOffer controller: `ServiceOfferReconciler.reconcile` run by the runtime's
 * `Controller` for ServiceOffers, re-triggered by every child it owns (PaymentRoute admission,
 * the Gateway's verdict on the HTTPRoute, the registrar's phase, and any drift), by its grants,
 * and by the Service and EndpointSlices it sells (cached, so the upstream probe reads no API).
 *
 * @since 0.1.0
 */
import { PaymentRoute } from "@obol/api/PaymentRoute"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import { pausedAnnotation, ServiceOffer } from "@obol/api/ServiceOffer"
import * as Controller from "@obol/controller/Controller"
import * as Triggers from "@obol/controller/Triggers"
import { EndpointSlice, serviceNameLabel } from "@obol/kube/builtin/EndpointSlice"
import { HTTPRoute } from "@obol/kube/builtin/HTTPRoute"
import { Service } from "@obol/kube/builtin/Service"
import { Middleware } from "@obol/kube/builtin/Middleware"
import { ReferenceGrant } from "@obol/kube/builtin/ReferenceGrant"
import * as Store from "@obol/controller/Store"
import * as ServiceOfferReconciler from "./ServiceOfferReconciler.ts"

/**
 * @category models
 */
export interface Options {
  /** Watch one namespace only. Default: all. */
  readonly namespace?: string
  readonly concurrency?: number
}

/** The Service (`namespace/name`) an EndpointSlice belongs to, from its label. */
const serviceOf = (slice: typeof EndpointSlice.schema.Type): ReadonlyArray<string> => {
  const name = slice.metadata.labels?.[serviceNameLabel]
  return name === undefined ? [] : [`${slice.metadata.namespace ?? "default"}/${name}`]
}

/** The offers that sell the Service `namespace/name`. */
const offersSelling = (context: Controller.Context, service: string): ReadonlyArray<Store.Key> =>
  context.store(ServiceOffer).byIndex(ServiceOfferReconciler.upstreamIndex, service).map(Store.keyOf)

/**
 * Runs the controller until interrupted.
 *
 * @category constructors
 */
export const run = (options: Options = {}) => {
  // What this run applied, so unchanged children are not applied again (ServiceOfferReconciler.Applied).
  const applied: ServiceOfferReconciler.Applied = new Map()
  return Controller.run({
    name: "serviceoffer",
    for: ServiceOffer,
    owns: [PaymentRoute, HTTPRoute, Middleware, RegistrationRequest],
    // Grants live in other namespaces (no ownerReference): their labels name the offer.
    indexes: {
      [ServiceOfferReconciler.upstreamIndex]: (offer) => [ServiceOfferReconciler.upstreamOf(offer)],
      ...ServiceOfferReconciler.pathIndexes
    },
    watches: [
      {
        kind: Service,
        map: (service, context) => offersSelling(context, Store.keyOf(service))
      },
      {
        kind: EndpointSlice,
        indexes: { [ServiceOfferReconciler.serviceIndex]: serviceOf },
        map: (slice, context) => serviceOf(slice).flatMap((service) => offersSelling(context, service))
      },
      {
        kind: ReferenceGrant,
        map: (grant) => {
          const labels = grant.metadata.labels ?? {}
          const namespace = labels["obol.org/offer-namespace"]
          const name = labels["obol.org/offer-name"]
          return labels["app.kubernetes.io/managed-by"] === "serviceoffer-controller" &&
            namespace !== undefined &&
            name !== undefined
            ? [Store.key({ namespace, name })]
            : []
        }
      }
    ],
    reconcile: (offer, context) => ServiceOfferReconciler.reconcile(offer, context, applied),
    // The default, plus obol-stack's pause annotation (annotations alone do not change the generation).
    predicate: (previous, next) =>
      Triggers.generationChanged(previous, next) ||
      previous?.metadata.annotations?.[pausedAnnotation] !== next.metadata.annotations?.[pausedAnnotation],
    concurrency: options.concurrency ?? 4,
    ...(options.namespace === undefined ? {} : { namespace: options.namespace })
  })
}
