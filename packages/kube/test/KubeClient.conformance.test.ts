/**
 * The conformance suite against the in-memory FakeKube: a fresh fake per test. Its run against the
 * real kube-apiserver is `test-envs/test/kube/KubeClient.integration.test.ts`.
 */
import { Layer } from "effect"
import { conformance } from "@obol/kube/testing/Conformance"
import * as FakeKube from "@obol/kube/testing/FakeKube"

conformance({
  name: "FakeKube",
  layer: () => Layer.fresh(FakeKube.layer),
  namespace: () => "conformance",
  forgetHistory: FakeKube.FakeKube.use((fake) => fake.compact),
  eventualGc: false
})
