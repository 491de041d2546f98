/**
 * The routing decisions as pure functions: the payment gate from the PaymentRoute, whether the
 * HTTPRoute is published, kept or withdrawn (fail closed), and RoutePublished from the Gateway.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Routing from "@obol/serviceoffer-controller/Routing"

const verdict = (v: Routing.Verdict) => `${v.status}/${v.reason}`

describe("Routing.paymentGate", () => {
  const route = (generation: number, status: object | undefined) => ({ metadata: { generation }, status }) as never
  it.each([
    ["no status yet", route(1, undefined), "False/AwaitingAdmission"],
    ["the current generation admitted", route(2, { admitted: true, lastAdmittedGeneration: 2 }), "True/Admitted"],
    [
      "an earlier generation admitted (a price change pending)",
      route(3, { admitted: true, lastAdmittedGeneration: 2 }),
      "False/AwaitingAdmission"
    ],
    [
      "rejected by the verifier, with its reason",
      route(1, { admitted: false, reason: "UnsupportedNetwork", message: "no" }),
      "False/UnsupportedNetwork"
    ],
    ["admitted: false without a reason", route(1, { admitted: false }), "False/AwaitingAdmission"]
  ])("%s: %s", (_, input, expected) => {
    expect(verdict(Routing.paymentGate(input))).toBe(expected)
  })

  it("passes the verifier's message through, so the seller reads what to fix", () => {
    expect(
      Routing.paymentGate(route(1, { admitted: false, reason: "UnsupportedNetwork", message: "facilitator lacks it" }))
        .message
    ).toBe("facilitator lacks it")
  })
})

describe("Routing.publication", () => {
  const base: Routing.Observed = {
    path: "/services/a",
    paused: undefined,
    ungranted: undefined,
    conflict: undefined,
    admitted: true,
    keepsServing: false
  }
  const decide = (observed: Partial<Routing.Observed>) => {
    const decision = Routing.publication({ ...base, ...observed })
    return decision._tag === "Withdraw" ? `Withdraw/${decision.verdict.reason}` : decision._tag
  }
  const conflict = { path: "/services", namespace: "other", name: "old" }

  it.each<[string, Partial<Routing.Observed>, string]>([
    ["an admitted price is published", {}, "Publish"],
    ["no admitted price and nothing serving: withdrawn", { admitted: false }, "Withdraw/AwaitingPaymentGate"],
    ["a new price awaiting admission keeps the route at the old one", { admitted: false, keepsServing: true }, "Keep"],
    ["paused by spec: withdrawn even when admitted", { paused: { by: "spec" } }, "Withdraw/Paused"],
    ["a missing grant: withdrawn", { ungranted: "no grant" }, "Withdraw/RefNotGranted"],
    ["an older offer's path: withdrawn", { conflict }, "Withdraw/PathConflict"],
    // Order: pause wins over everything, then grants, then paths, then admission.
    ["paused and conflicting: Paused", { paused: { by: "spec" }, conflict }, "Withdraw/Paused"],
    ["ungranted and conflicting: RefNotGranted", { ungranted: "no grant", conflict }, "Withdraw/RefNotGranted"],
    ["conflicting and unadmitted: PathConflict", { conflict, admitted: false }, "Withdraw/PathConflict"],
    [
      "paused while a price change is pending: withdrawn",
      { paused: { by: "spec" }, admitted: false, keepsServing: true },
      "Withdraw/Paused"
    ]
  ])("%s", (_, observed, expected) => {
    expect(decide(observed)).toBe(expected)
  })

  it("names the annotation that paused the offer, and the older offer that holds the path", () => {
    const paused = Routing.publication({ ...base, paused: { by: "annotation", annotation: "obol.org/paused" } })
    expect(paused._tag === "Withdraw" && paused.verdict.message).toBe(
      "the offer is paused by its obol.org/paused annotation; its route is withdrawn"
    )
    const conflicting = Routing.publication({ ...base, conflict })
    expect(conflicting._tag === "Withdraw" && conflicting.verdict.message).toBe(
      "path /services/a overlaps /services of the older offer other/old"
    )
  })
})

describe("Routing.routePublished", () => {
  const gateway = { namespace: "traefik", name: "traefik-gateway" }
  const parent = (namespace: string | undefined, conditions: ReadonlyArray<object>) => ({
    parentRef: { name: "traefik-gateway", ...(namespace === undefined ? {} : { namespace }) },
    controllerName: "traefik.io/gateway-controller",
    conditions
  })
  const accepted = { type: "Accepted", status: "True", reason: "Accepted" }
  const resolved = { type: "ResolvedRefs", status: "True", reason: "ResolvedRefs" }
  const of = (parents: ReadonlyArray<object> | undefined, routeNamespace = "shop") =>
    verdict(
      Routing.routePublished(
        { status: parents === undefined ? undefined : { parents } } as never,
        routeNamespace,
        gateway,
        "/services/a"
      )
    )

  it.each<[string, ReadonlyArray<object> | undefined, string, string]>([
    ["no status yet", undefined, "shop", "False/AwaitingGateway"],
    ["accepted with resolved refs by our Gateway", [parent("traefik", [accepted, resolved])], "shop", "True/Accepted"],
    [
      "accepted but refs not resolved",
      [parent("traefik", [accepted, { type: "ResolvedRefs", status: "False", reason: "RefNotPermitted" }])],
      "shop",
      "False/RefNotPermitted"
    ],
    [
      "refused by the Gateway",
      [parent("traefik", [{ type: "Accepted", status: "False", reason: "NotAllowedByListeners" }, resolved])],
      "shop",
      "False/NotAllowedByListeners"
    ],
    ["accepted only", [parent("traefik", [accepted])], "shop", "False/AwaitingGateway"],
    [
      "accepted by a Gateway of the same name in another namespace",
      [parent("elsewhere", [accepted, resolved])],
      "shop",
      "False/AwaitingGateway"
    ],
    [
      "a parentRef without a namespace in the Gateway's namespace",
      [parent(undefined, [accepted, resolved])],
      "traefik",
      "True/Accepted"
    ],
    [
      "a parentRef without a namespace elsewhere",
      [parent(undefined, [accepted, resolved])],
      "shop",
      "False/AwaitingGateway"
    ]
  ])("%s", (_, parents, routeNamespace, expected) => {
    expect(of(parents, routeNamespace)).toBe(expected)
  })
})

describe("Routing paths", () => {
  it.each([
    ["/services/a", "/services/a", true],
    ["/services/a/", "/services/a", true],
    ["/services/a", "/services/a/v2", true],
    ["/services/a/v2", "/services", true],
    ["/", "/services/a", true],
    ["/services/a", "/services/ab", false],
    ["/services/a", "/other/a", false]
  ])("%s and %s overlap: %s", (a, b, overlap) => {
    expect(Routing.pathsOverlap(a, b)).toBe(overlap)
    expect(Routing.pathsOverlap(b, a)).toBe(overlap)
    // Overlap is exactly "one is among the other's segment prefixes": what the path indexes rely on.
    const viaPrefixes =
      Routing.pathPrefixes(a).includes(Routing.normalPath(b)) || Routing.pathPrefixes(b).includes(Routing.normalPath(a))
    expect(viaPrefixes).toBe(overlap)
  })

  it("lists every segment prefix of a path, the root and the path itself included", () => {
    expect(Routing.pathPrefixes("/services/a/v2/")).toEqual(["/", "/services", "/services/a", "/services/a/v2"])
    expect(Routing.pathPrefixes("/")).toEqual(["/"])
  })
})

describe("Routing.oldestConflict", () => {
  const claim = (name: string, path: string, creationTimestamp: string, extra: Partial<Routing.Claim> = {}) => ({
    uid: name,
    path,
    namespace: "sellers",
    name,
    creationTimestamp,
    deleting: false,
    ...extra
  })
  const own = claim("b", "/services/x", "2026-12-02T00:00:02Z")

  it.each([
    ["no other offer", [own], undefined],
    ["an older offer on the same path", [own, claim("a", "/services/x", "2026-12-02T00:00:01Z")], "a"],
    ["an older offer on a prefix of it", [claim("a", "/services", "2026-12-02T00:00:01Z")], "a"],
    ["an older offer below it", [claim("a", "/services/x/deeper", "2026-12-02T00:00:01Z")], "a"],
    [
      "a younger offer on the same path (it is the one in conflict)",
      [claim("c", "/services/x", "2026-12-02T00:00:03Z")],
      undefined
    ],
    ["an older offer on a sibling path", [claim("a", "/services/xy", "2026-12-02T00:00:01Z")], undefined],
    [
      "an older offer being deleted",
      [claim("a", "/services/x", "2026-12-02T00:00:01Z", { deleting: true })],
      undefined
    ],
    [
      "the oldest of several",
      [claim("a2", "/services/x", "2026-12-02T00:00:01Z"), claim("a1", "/services", "2026-12-02T00:00:00Z")],
      "a1"
    ],
    ["a same-age offer earlier by namespace/name", [claim("a", "/services/x", "2026-12-02T00:00:02Z")], "a"],
    ["a same-age offer later by namespace/name", [claim("c", "/services/x", "2026-12-02T00:00:02Z")], undefined]
  ])("with %s: %s", (_what, candidates, expected) => {
    expect(Routing.oldestConflict(own, candidates)?.name).toBe(expected)
  })
})
