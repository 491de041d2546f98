/**
 * The conformance suite's kinds and fixtures, which now live in the published test kit
 * (`@obol/kube/testing/Conformance`). Kept only so `ApplyConfiguration.test.ts` still finds them
 * here; new tests import the kit.
 */
export { configMap, offer, Offer } from "@obol/kube/testing/Conformance"
