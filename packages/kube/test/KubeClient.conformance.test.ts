/**
 * The conformance suite against the in-memory FakeKube: a fresh fake per test.
 */
import { Layer } from "effect"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import { conformance } from "./conformance/suite.ts"

conformance({
  name: "FakeKube",
  layer: () => Layer.fresh(FakeKube.layer),
  namespace: () => "conformance",
  forgetHistory: FakeKube.FakeKube.use((fake) => fake.compact),
  eventualGc: false
})
