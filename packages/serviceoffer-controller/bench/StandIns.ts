/**
 * What the controller benchmarks share: the offer they create (`offer`, built with the tests'
 * `ServiceOfferFixture`), and their stand-ins for the two other parties of an offer's way to Ready:
 * the x402 verifier (admits a PaymentRoute's current generation) and the Gateway (accepts an
 * HTTPRoute), each one status write, as the real ones make it. Failures are ignored: a bench
 * counts what arrives, and a lost write shows as an offer that never gets Ready.
 *
 * Not for tests (they have their own in `test/`), and not a verifier: nothing is checked.
 */
import { Effect } from "effect"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import * as ServiceOfferFixture from "@obol/api/testing/ServiceOfferFixture"
import { HTTPRoute } from "@obol/kube/builtin/HTTPRoute"
import type * as KubeClient from "@obol/kube/KubeClient"
import * as GatewayStandIn from "@obol/kube/testing/GatewayStandIn"

/** The `i`th benchmark offer in `namespace`: pay-on-success, priced per request, its own path. */
export const offer = (namespace: string, i: number) =>
  ServiceOfferFixture.make(`offer-${i}`, { namespace })
    .upstream({ service: "demo" })
    .path(`/services/offer-${i}`)
    .build()

/** Plays the verifier: marks the route's current generation admitted. */
export const admit = (client: KubeClient.Shape, namespace: string, route: typeof PaymentRoute.schema.Type) =>
  client
    .patch(
      PaymentRoute,
      { namespace, name: route.metadata.name ?? "" },
      { type: "merge", patch: { status: { admitted: true, lastAdmittedGeneration: route.metadata.generation } } },
      { subresource: "status" }
    )
    .pipe(Effect.ignore)

/** Plays the Gateway (Traefik's controller name and Gateway): Accepted and ResolvedRefs. */
export const accept = (client: KubeClient.Shape, namespace: string, name: string) =>
  client
    .patch(
      HTTPRoute,
      { namespace, name },
      { type: "merge", patch: { status: GatewayStandIn.acceptedStatus() } },
      { subresource: "status" }
    )
    .pipe(Effect.ignore)
