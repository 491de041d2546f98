import { describe, expect, it } from "@effect/vitest"
import * as CustomResource from "@obol/api/CustomResource"
import * as CrdFile from "@obol/api/CrdFile"
import * as Kinds from "@obol/api/Kinds"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import { ServiceOffer } from "@obol/api/ServiceOffer"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { parse } from "yaml"
import { repoRoot } from "./utils/manifests.ts"

const version = (kind: CustomResource.Any) => CustomResource.toCrd(kind).spec.versions[0]!
const columns = (kind: CustomResource.Any) => version(kind).additionalPrinterColumns.map((c) => c.name)

describe("CustomResource", () => {
  describe.each(Kinds.all.map((kind) => [kind.kind, kind] as const))("the %s CRD", (_, kind) => {
    const crd = CustomResource.toCrd(kind)

    it("matches the committed deploy/crds file byte for byte (golden; regenerate with npm run gen:crds)", () => {
      const committed = readFileSync(join(repoRoot, "deploy", "crds", CrdFile.fileName(kind)), "utf8")
      expect(CrdFile.toYaml(kind)).toBe(committed)
    })

    it("is namespaced in group obol.org, with v1alpha1 served and stored", () => {
      expect(crd.metadata.name).toBe(`${kind.plural}.obol.org`)
      expect(crd.spec.group).toBe("obol.org")
      expect(crd.spec.scope).toBe("Namespaced")
      expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([["v1alpha1", true, true]])
    })

    it("has a status subresource and the obol category", () => {
      expect(version(kind).subresources).toEqual({ status: {} })
      expect(crd.spec.names.categories).toEqual(["obol"])
    })

    it("renders YAML that parses back to the same object", () => {
      expect(parse(CrdFile.toYaml(kind))).toEqual(crd)
    })
  })

  it("gives each kind its short name", () => {
    expect(Kinds.all.map((k) => CustomResource.toCrd(k).spec.names.shortNames)).toEqual([["so"], ["pr"], ["rr"]])
  })

  it("shows the printer columns of the original ServiceOffer", () => {
    expect(columns(ServiceOffer)).toEqual(["Type", "Model", "Price", "Network", "Ready", "Age"])
    expect(version(ServiceOffer).additionalPrinterColumns.find((c) => c.name === "Ready")?.jsonPath).toBe(
      '.status.conditions[?(@.type=="Ready")].status'
    )
  })

  it("shows Pattern, Price, Network, Admitted, Age for PaymentRoute", () => {
    expect(columns(PaymentRoute)).toEqual(["Pattern", "Price", "Network", "Admitted", "Age"])
  })

  it("shows Phase, AgentID, Age for RegistrationRequest", () => {
    expect(columns(RegistrationRequest)).toEqual(["Phase", "AgentID", "Age"])
  })

  it("leaves top-level metadata as a bare object, as the API server requires", () => {
    for (const kind of Kinds.all) {
      expect((version(kind).schema.openAPIV3Schema.properties as any).metadata).toEqual({ type: "object" })
    }
  })

  it("carries the cross-field rules as CEL and the obol-stack defaults", () => {
    const spec = (version(ServiceOffer).schema.openAPIV3Schema.properties as any).spec
    expect(spec["x-kubernetes-validations"]).toEqual([
      {
        rule: "self.type != 'inference' || has(self.model)",
        message: "model is required when type is inference",
        fieldPath: ".model"
      },
      {
        rule: "!has(self.upstream.authorization) || !has(self.payment.settlement) || self.payment.settlement == 'onSuccess'",
        message: "upstream.authorization needs settlement onSuccess: only the verifier's proxy sends the credential",
        fieldPath: ".upstream.authorization"
      }
    ])
    expect(spec.properties.payment.properties.price["x-kubernetes-validations"]).toEqual([
      {
        rule: "has(self.perRequest) || has(self.perMTok) || has(self.perHour)",
        message: "at least one of perRequest, perMTok or perHour must be set"
      }
    ])
    expect(spec.properties.type.default).toBe("http")
    expect(spec.properties.upstream.properties.port.default).toBe(11434)
    expect(spec.properties.upstream.properties.healthPath.default).toBe("/health")
    expect(spec.properties.payment.properties.scheme.default).toBe("exact")
    expect(spec.properties.payment.properties.maxTimeoutSeconds).toMatchObject({
      default: 300,
      minimum: 1,
      maximum: 3600
    })
    expect(spec.required).toEqual(["upstream", "payment"])
  })

  it("makes conditions a list-map keyed by type, so server-side apply merges them per type", () => {
    const status = (version(ServiceOffer).schema.openAPIV3Schema.properties as any).status
    expect(status.properties.conditions["x-kubernetes-list-type"]).toBe("map")
    expect(status.properties.conditions["x-kubernetes-list-map-keys"]).toEqual(["type"])
    expect(status.properties.conditions.items.required).toEqual([
      "type",
      "status",
      "lastTransitionTime",
      "reason",
      "message"
    ])
  })
})
