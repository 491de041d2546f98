/**
 * `ApplyConfiguration` is mostly a type: most cases here hold only if `npx tsc --noEmit -p
 * tsconfig.json` (which covers test files) passes. A `@ts-expect-error` line fails the typecheck
 * if the error it expects ever disappears.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { expectTypeOf } from "vitest"
import * as ApplyConfiguration from "@obol/kube/ApplyConfiguration"
import { ConfigMap } from "@obol/kube/builtin/ConfigMap"
import { HTTPRoute } from "@obol/kube/builtin/HTTPRoute"
import * as KubeClient from "@obol/kube/KubeClient"
import type { ResourceKind } from "@obol/kube/ResourceKind"
import * as FakeKube from "@obol/kube/testing/FakeKube"

type ConfigMapConfiguration = ApplyConfiguration.ApplyConfiguration<typeof ConfigMap>
type HTTPRouteConfiguration = ApplyConfiguration.ApplyConfiguration<typeof HTTPRoute>

const route = { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", metadata: { name: "r" } } as const

describe("ApplyConfiguration", () => {
  it("requires apiVersion, kind and metadata.name and leaves every other field out if not owned", () => {
    const labelsOnly: ConfigMapConfiguration = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "settings", namespace: "default", labels: { team: "a" } }
    }
    expect(labelsOnly.data).toBeUndefined()
    expectTypeOf<ConfigMapConfiguration["apiVersion"]>().toEqualTypeOf<"v1">()
    expectTypeOf<ConfigMapConfiguration["metadata"]["name"]>().toEqualTypeOf<string>()
    // @ts-expect-error metadata.name is required
    const unnamed: ConfigMapConfiguration = { apiVersion: "v1", kind: "ConfigMap", metadata: {} }
    // @ts-expect-error the apiVersion is the kind's literal
    const wrongVersion: ConfigMapConfiguration = { apiVersion: "v2", kind: "ConfigMap", metadata: { name: "x" } }
    expect([unnamed, wrongVersion]).toHaveLength(2)
  })

  it("leaves required fields of a nested object optional: a field manager sends only what it owns", () => {
    const parentsOnly: HTTPRouteConfiguration = { ...route, spec: { parentRefs: [{ name: "gateway" }] } }
    expect(parentsOnly.spec?.rules).toBeUndefined()
  })

  it("rejects a misspelt field at any depth", () => {
    // @ts-expect-error `spce` is not a field of HTTPRoute
    const top: HTTPRouteConfiguration = { ...route, spce: {} }
    // @ts-expect-error `nmae` is not a field of a parentRef
    const nested: HTTPRouteConfiguration = { ...route, spec: { parentRefs: [{ name: "g", nmae: "g" }] } }
    // @ts-expect-error `lables` is not a field of metadata
    const meta: HTTPRouteConfiguration = { ...route, metadata: { name: "r", lables: {} } }
    expect([top, nested, meta]).toHaveLength(3)
  })

  it("make also rejects a misspelt field that comes from a conditional spread, which an annotation lets through", () => {
    const withSection = (section: string | undefined) =>
      ApplyConfiguration.make(HTTPRoute, {
        ...route,
        spec: {
          // @ts-expect-error `section` is not a field of a parentRef (sectionName is)
          parentRefs: [{ name: "gateway", ...(section === undefined ? {} : { section }) }]
        }
      })
    const spreadTypo = (ttl: number | undefined): HTTPRouteConfiguration => ({
      ...route,
      spec: { hostnames: ["a"], ...(ttl === undefined ? {} : { ttl }) }
    })
    expect(withSection(undefined).spec?.parentRefs).toEqual([{ name: "gateway" }])
    expect(spreadTypo(1).spec).toEqual({ hostnames: ["a"], ttl: 1 })
  })

  it("returns what make was given, unchanged", () => {
    const config = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "m" }, data: { a: "1" } } as const
    expect(ApplyConfiguration.make(ConfigMap, config)).toBe(config)
  })

  it("sends list items whole: an item must carry its required fields, such as a list-map key", () => {
    // @ts-expect-error a parentRef without `name` (the key Gateway API merges parentRefs by)
    const keyless: HTTPRouteConfiguration = { ...route, spec: { parentRefs: [{ namespace: "traefik" }] } }
    expect(keyless).toBeDefined()
  })

  it("accepts any key in a map such as labels, with values of the map's type", () => {
    const labelled: ConfigMapConfiguration = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "m", labels: { "app.kubernetes.io/name": "web" } },
      data: { "any-key": "v" }
    }
    const numeric: ConfigMapConfiguration = {
      apiVersion: "v1",
      kind: "ConfigMap",
      // @ts-expect-error label values are strings
      metadata: { name: "m", labels: { n: 1 } }
    }
    expect([labelled, numeric]).toHaveLength(2)
  })

  it("rejects undefined where the Schema only allows leaving a field out", () => {
    const undefinedNamespace: ConfigMapConfiguration = {
      apiVersion: "v1",
      kind: "ConfigMap",
      // @ts-expect-error omit the namespace instead of sending undefined
      metadata: { name: "m", namespace: undefined }
    }
    expect(undefinedNamespace).toBeDefined()
  })

  it("is the untyped Manifest for a kind whose Schema is not known statically", () => {
    expectTypeOf<ApplyConfiguration.ApplyConfiguration<ResourceKind>>().toEqualTypeOf<KubeClient.Manifest>()
  })

  it.effect("applies through the client with the body as given", () =>
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const fake = yield* FakeKube.FakeKube
      const config = ApplyConfiguration.make(ConfigMap, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "typed", namespace: "ns" },
        data: { mode: "fast" }
      })
      const applied = yield* ApplyConfiguration.apply(client, ConfigMap, config, { fieldManager: "test" })
      expect(applied.data).toEqual({ mode: "fast" })
      const missing = yield* ApplyConfiguration.applyStatus(
        client,
        HTTPRoute,
        { ...route, metadata: { name: "r", namespace: "ns" } },
        {
          fieldManager: "test"
        }
      ).pipe(Effect.flip)
      expect(missing.reason).toBe("NotFound")
      const requests = yield* fake.requests
      expect(requests.map((r) => [r.verb, r.kind, r.body])).toEqual([
        ["apply", "ConfigMap", config],
        ["applyStatus", "HTTPRoute", { ...route, metadata: { name: "r", namespace: "ns" } }]
      ])
    }).pipe(Effect.provide(Layer.fresh(FakeKube.layer)))
  )
})
