/**
 * Every custom resource kind the project defines, in the order their CRDs are generated and
 * installed. `scripts/gen-crds.ts` and the CRD tests iterate this list, so a kind added here
 * gets a CRD, a freshness check and the structural-schema tests without further wiring.
 *
 * @since 0.1.0
 */
import type * as CustomResource from "./CustomResource.ts"
import { PaymentRoute } from "./PaymentRoute.ts"
import { RegistrationRequest } from "./RegistrationRequest.ts"
import { ServiceOffer } from "./ServiceOffer.ts"

/**
 * @category resources
 */
export const all: ReadonlyArray<CustomResource.Any> = [ServiceOffer, PaymentRoute, RegistrationRequest]
