import { describe, expect, it } from "@effect/vitest"
import { Option, Redacted, Schema } from "effect"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import * as Fixtures from "@obol/test-envs/Fixtures"
import type * as Credentials from "@obol/x402-verifier/Credentials"
import * as PathMatch from "@obol/x402-verifier/PathMatch"
import * as Routes from "@obol/x402-verifier/Routes"

const route = (
  namespace: string,
  offer: string,
  options: { name?: string; pattern?: string; created?: string; ownerUid?: string | null; specUid?: string } = {}
): PaymentRoute =>
  Schema.decodeUnknownSync(PaymentRoute.schema)(
    Fixtures.paymentRoute(namespace, offer, {
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(options.pattern === undefined ? {} : { pattern: options.pattern }),
      ...(options.ownerUid === null
        ? {}
        : { owner: { name: offer, uid: options.ownerUid ?? `uid-${namespace}-${offer}` } }),
      offerRef: { name: offer, ...(options.specUid === undefined ? {} : { uid: options.specUid }) },
      metadata: {
        uid: `route-${namespace}-${options.name ?? offer}`,
        generation: 1,
        creationTimestamp: options.created ?? "2026-12-01T00:00:00Z"
      }
    })
  )

/** Offers that exist, with their creation time; every other offer is `Unseen` unless listed absent. */
const world = (offers: Record<string, string>, absent: ReadonlyArray<string> = []): Routes.Options => ({
  facilitatorUrl: "http://127.0.0.1:4021",
  owner: (key) => {
    const created = offers[key]
    if (created !== undefined) {
      const [namespace, name] = key.split("/")
      return { _tag: "Present", uid: `uid-${namespace}-${name}`, creationTimestamp: created }
    }
    return absent.includes(key) ? { _tag: "Absent" } : { _tag: "Unseen" }
  }
})

const verdicts = (routes: ReadonlyArray<PaymentRoute>, options: Routes.Options) =>
  Object.fromEntries(
    [...Routes.build(routes, options).verdicts].map(([key, v]) => [key, v._tag === "Rejected" ? v.reason : v._tag])
  )

describe("Routes", () => {
  it("admits a route owned by the live offer of its name in its own namespace", () => {
    const built = Routes.build([route("a", "x")], world({ "a/x": "2026-12-01T00:00:00Z" }))
    expect(built.verdicts.get("a/x-payment")).toEqual({ _tag: "Admitted", generation: 1 })
    expect(Option.map(built.table.byOffer("a/x"), (r) => r.value.uid)).toEqual(Option.some("route-a-x"))
  })

  it("rejects routes whose owner is missing, foreign, a copy, or absent; waits on an owner not seen yet", () => {
    const routes = [
      route("a", "none", { ownerUid: null }),
      route("a", "stale", { ownerUid: "uid-of-a-deleted-offer" }),
      route("a", "split", { specUid: "another-uid" }),
      route("a", "gone"),
      route("a", "new")
    ]
    expect(verdicts(routes, world({ "a/none": "t", "a/stale": "t", "a/split": "t" }, ["a/gone"]))).toEqual({
      "a/none-payment": "NotOwnedByOffer",
      "a/stale-payment": "NotOwnedByOffer",
      "a/split-payment": "NotOwnedByOffer",
      "a/gone-payment": "NotOwnedByOffer",
      "a/new-payment": "Unconfirmed"
    })
  })

  it("prefers the route the controller names for its offer, then the older, over other claims", () => {
    const routes = [
      route("a", "x", { name: "aaa", created: "2026-01-01T00:00:00Z" }),
      route("a", "x", { created: "2026-12-01T00:00:00Z" }),
      route("a", "y", { name: "y-older", created: "2026-01-01T00:00:00Z" }),
      route("a", "y", { name: "y-newer", created: "2026-06-01T00:00:00Z", pattern: "/other/*" })
    ]
    expect(verdicts(routes, world({ "a/x": "t1", "a/y": "t2" }))).toEqual({
      "a/aaa": "DuplicateOfferRoute",
      "a/x-payment": "Admitted",
      "a/y-older": "Admitted",
      "a/y-newer": "DuplicateOfferRoute"
    })
  })

  it("orders path claims by the offers' age, as the controller does, not by the routes'", () => {
    // The older offer's route was recreated later; it still keeps the path.
    const routes = [
      route("old", "api", { created: "2026-12-01T10:00:00Z" }),
      route("new", "api", { created: "2026-12-01T09:00:00Z", pattern: "/services/*" })
    ]
    const options = world({ "old/api": "2026-12-01T08:00:00Z", "new/api": "2026-12-01T08:30:00Z" })
    expect(verdicts(routes, options)).toEqual({ "old/api-payment": "Admitted", "new/api-payment": "PathConflict" })
  })

  it("lets a route that cannot be served leave its path to the next claimant", () => {
    const unsupported = { ...route("a", "first"), spec: { ...route("a", "first").spec, network: "eip155:1" } }
    const routes = [unsupported, route("b", "second", { pattern: "/services/first/*" })]
    const options = {
      ...world({ "a/first": "2026-01-01T00:00:00Z", "b/second": "2026-02-01T00:00:00Z" }),
      supportedNetworks: new Set(["eip155:84532"])
    }
    expect(verdicts(routes, options)).toEqual({
      "a/first-payment": "UnsupportedNetwork",
      "b/second-payment": "Admitted"
    })
  })

  it("gives no verdict to a route being deleted", () => {
    const deleting = route("a", "x")
    const routes = [{ ...deleting, metadata: { ...deleting.metadata, deletionTimestamp: "2026-12-01T00:00:00Z" } }]
    expect(Routes.build(routes, world({ "a/x": "t" })).verdicts.size).toBe(0)
  })
})

describe("Routes: pay-on-success", () => {
  const onSuccess = (upstream?: PaymentRoute["spec"]["upstream"]): PaymentRoute => {
    const decoded = Schema.decodeUnknownSync(PaymentRoute.schema)(
      Fixtures.paymentRoute("a", "x", {
        owner: { name: "x", uid: "uid-a-x" },
        settlement: "onSuccess",
        upstream: { service: "x", namespace: "a", port: 8080 },
        metadata: { uid: "route-a-x", generation: 1, creationTimestamp: "2026-12-01T00:00:00Z" }
      })
    )
    // The CRD (and the Schema) refuse onSuccess without an upstream; the verifier fails closed anyway.
    const { upstream: _dropped, ...spec } = decoded.spec
    return { ...decoded, spec: upstream === undefined ? spec : { ...spec, upstream } }
  }

  it("loads the settlement, the upstream and the public prefix", () => {
    const built = Routes.build([onSuccess({ service: "x", namespace: "b", port: 80 })], world({ "a/x": "2026-12-01" }))
    const loaded = Option.getOrThrow(built.table.byOffer("a/x")).value
    expect([loaded.settlement, loaded.upstream, loaded.prefix]).toEqual([
      "onSuccess",
      { service: "x", namespace: "b", port: 80 },
      "/services/x"
    ])
  })

  it("does not serve an onSuccess route without an upstream (UpstreamMissing)", () => {
    const built = Routes.build([onSuccess()], world({ "a/x": "2026-12-01" }))
    expect(built.verdicts.get("a/x-payment")).toMatchObject({ _tag: "Rejected", reason: "UpstreamMissing" })
    expect(built.table.size).toBe(0)
  })

  describe("an upstream credential", () => {
    const keyed = onSuccess({
      service: "litellm",
      namespace: "llm",
      port: 4000,
      authorization: { secretKeyRef: { name: "litellm-secrets", key: "LITELLM_MASTER_KEY" }, scheme: "Bearer" }
    })
    const ref = { namespace: "a", name: "litellm-secrets", key: "LITELLM_MASTER_KEY", offer: "x" }
    const withCredential = (state: Credentials.State): Routes.Options => ({
      ...world({ "a/x": "2026-12-01" }),
      credential: (asked) => (JSON.stringify(asked) === JSON.stringify(ref) ? state : { _tag: "Pending" })
    })

    it("is read from the route's own namespace, whatever the upstream's", () => {
      expect(Routes.credentialOf(keyed)).toEqual({ ref, scheme: "Bearer" })
    })

    it("admits the route once the credential is read, and loads where it comes from", () => {
      const built = Routes.build([keyed], withCredential({ _tag: "Ready", value: Redacted.make("k") }))
      expect(built.verdicts.get("a/x-payment")).toEqual({ _tag: "Admitted", generation: 1 })
      expect(Option.getOrThrow(built.table.byOffer("a/x")).value.authorization).toEqual({ ref, scheme: "Bearer" })
    })

    it("rejects the route while the Secret or key is missing (UpstreamSecretMissing), saying which", () => {
      const built = Routes.build(
        [keyed],
        withCredential({ _tag: "Missing", message: "Secret a/litellm-secrets does not exist" })
      )
      expect(built.verdicts.get("a/x-payment")).toMatchObject({
        _tag: "Rejected",
        reason: "UpstreamSecretMissing",
        message: expect.stringContaining("Secret a/litellm-secrets does not exist")
      })
      expect(built.table.size).toBe(0)
      // Without a credential source at all, fail closed the same way.
      expect(Routes.build([keyed], world({ "a/x": "2026-12-01" })).verdicts.get("a/x-payment")).toMatchObject({
        reason: "UpstreamSecretMissing"
      })
    })

    it("keeps the route loaded but unadmitted while the Secret is being read (Pending: its status is left alone)", () => {
      const built = Routes.build([keyed], withCredential({ _tag: "Pending" }))
      expect(built.verdicts.get("a/x-payment")).toEqual({ _tag: "Pending" })
      expect(built.table.size).toBe(1)
    })

    it("is ignored on an upfront route (ForwardAuth never carries it)", () => {
      const upfront = { ...keyed, spec: { ...keyed.spec, settlement: "upfront" as const } }
      expect(Routes.credentialOf(upfront)).toBeUndefined()
    })
  })

  it("loads a route without settlement as upfront", () => {
    const built = Routes.build([route("a", "x")], world({ "a/x": "2026-12-01" }))
    expect(Option.getOrThrow(built.table.byOffer("a/x")).value.settlement).toBe("upfront")
  })

  it("takes the public prefix from the pattern: without /*, an exact path whole, a glob's literal head", () => {
    const prefix = (pattern: string) => Routes.prefixOf(PathMatch.compile(pattern))
    expect(prefix("/services/x/*")).toBe("/services/x")
    expect(prefix("/*")).toBe("")
    expect(prefix("/services/x")).toBe("/services/x")
    expect(prefix("/services/*/v1")).toBe("/services")
  })
})
