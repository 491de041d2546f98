import { describe, expect, it } from "@effect/vitest"
import { Option, Redacted, Schema } from "effect"
import { PaymentRoute } from "@obol/api/PaymentRoute"
import * as Fixtures from "@obol/test-envs/Fixtures"
import * as Admission from "@obol/x402-verifier/Admission"
import type * as Credentials from "@obol/x402-verifier/Credentials"
import * as Routes from "@obol/x402-verifier/Routes"
import type * as RouteTable from "@obol/x402-verifier/RouteTable"

/** A small seeded generator (mulberry32), so a failing sequence replays from its seed. */
const random = (seed: number) => {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <A>(items: ReadonlyArray<A>): A => items[int(items.length)]!
  return { chance: (p: number) => next() < p, int, pick }
}

const namespaces = ["a", "b"]
const offerNames = ["o0", "o1", "o2", "o3", "o4"]
const times = ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"]
/** Overlapping on purpose: nested prefixes, exact paths under prefixes, globs, the root. */
const patterns = [
  "/services/o0/*",
  "/services/o1/*",
  "/services/o1/health",
  "/services/*",
  "/services/o2",
  "/api/*",
  "/api/v1/*",
  "/api/v1",
  "/api//v2",
  "/services/*/v1/*",
  "/inference-*/v1/*",
  "/inference-a/v1/chat",
  "/other/*",
  "/*"
]
const probes = [
  "/",
  "/services/o0",
  "/services/o0/x",
  "/services/o1/health",
  "/services/o2",
  "/services/o3/v1/chat",
  "/api/v1",
  "/api/v1/x",
  "/api/v2",
  "/inference-a/v1/chat",
  "/inference-b/v1/x",
  "/other/y"
]

type Offer = { readonly _tag: "Present"; readonly uid: string; readonly created: string } | { readonly _tag: "Absent" }

/** The cluster as the informer would see it, and its changes as the informer would report them. */
const world = (seed: number) => {
  const rng = random(seed)
  const offers = new Map<string, Offer>()
  const credentials = new Map<string, Credentials.State>()
  const routes = new Map<string, PaymentRoute>()
  let networks: ReadonlySet<string> | undefined = undefined
  let uids = 0
  const options = (): Routes.Options => ({
    facilitatorUrl: "http://127.0.0.1:4021",
    owner: (offer) => {
      const found = offers.get(offer)
      if (found === undefined) return { _tag: "Unseen" }
      return found._tag === "Absent" ? found : { _tag: "Present", uid: found.uid, creationTimestamp: found.created }
    },
    credential: (ref) => credentials.get(ref.name) ?? { _tag: "Pending" },
    ...(networks === undefined ? {} : { supportedNetworks: networks })
  })

  const route = (): PaymentRoute => {
    const namespace = rng.pick(namespaces)
    const offer = rng.pick(offerNames)
    const live = offers.get(`${namespace}/${offer}`)
    const uid = live?._tag === "Present" && rng.chance(0.8) ? live.uid : `uid-${uids++}`
    const onSuccess = rng.chance(0.2)
    const decoded = Schema.decodeUnknownSync(PaymentRoute.schema)(
      Fixtures.paymentRoute(namespace, offer, {
        ...(rng.chance(0.6) ? {} : { name: rng.pick(["r0", "r1"]) }),
        pattern: rng.pick(patterns),
        ...(rng.chance(0.9) ? { owner: { name: rng.chance(0.95) ? offer : "someone-else", uid } } : {}),
        ...(rng.chance(0.05) ? { offerRef: { name: offer, uid: "another-uid" } } : {}),
        ...(rng.chance(0.1) ? { network: "eip155:1" } : {}),
        ...(onSuccess
          ? {
              settlement: "onSuccess" as const,
              upstream: {
                service: offer,
                namespace,
                port: 8080,
                ...(rng.chance(0.7)
                  ? { authorization: { secretKeyRef: { name: rng.pick(["s0", "s1"]), key: "k" }, scheme: "Bearer" } }
                  : {})
              }
            }
          : {}),
        metadata: { uid: `route-${uids++}`, generation: 1 + rng.int(3), creationTimestamp: rng.pick(times) }
      })
    )
    const withFacilitator = rng.chance(0.05)
      ? { ...decoded, spec: { ...decoded.spec, facilitatorURL: "http://elsewhere" } }
      : decoded
    if (onSuccess && rng.chance(0.1)) {
      const { upstream: _dropped, ...spec } = withFacilitator.spec
      return { ...withFacilitator, spec }
    }
    return rng.chance(0.05)
      ? { ...withFacilitator, metadata: { ...withFacilitator.metadata, deletionTimestamp: "2026-02-01T00:00:00Z" } }
      : withFacilitator
  }

  /** One random change, applied to the world and reported to `admission`. */
  const step = (admission: Admission.Admission) => {
    const roll = rng.int(100)
    if (roll < 45) {
      const next = route()
      routes.set(Routes.keyOf(next), next)
      admission.put(next)
    } else if (roll < 60) {
      const keys = [...routes.keys()]
      if (keys.length === 0) return
      const key = rng.pick(keys)
      routes.delete(key)
      admission.remove(key)
    } else if (roll < 85) {
      const offer = `${rng.pick(namespaces)}/${rng.pick(offerNames)}`
      const previous = offers.get(offer)
      const change = rng.int(4)
      if (change === 0) offers.set(offer, { _tag: "Present", uid: `uid-${uids++}`, created: rng.pick(times) })
      else if (change === 1 && previous?._tag === "Present")
        offers.set(offer, { ...previous, created: rng.pick(times) })
      else if (change === 2) offers.set(offer, { _tag: "Absent" })
      else offers.delete(offer)
      if (rng.chance(0.1)) admission.offersChanged()
      else admission.offerChanged(offer)
    } else if (roll < 95) {
      const secret = rng.pick(["s0", "s1"])
      const states: ReadonlyArray<Credentials.State | undefined> = [
        { _tag: "Ready", value: Redacted.make("key") },
        { _tag: "Missing", message: `Secret ${secret} does not exist` },
        { _tag: "Pending" },
        undefined
      ]
      const state = rng.pick(states)
      if (state === undefined) credentials.delete(secret)
      else credentials.set(secret, state)
      admission.credentialsChanged()
    } else {
      networks = rng.pick([undefined, new Set(["eip155:84532"]), new Set(["eip155:1", "eip155:84532"])])
      admission.networks(networks)
    }
  }
  return { options, step, routes: () => [...routes.values()] }
}

const entries = (table: RouteTable.RouteTable<Routes.Loaded>) =>
  table.routes().map((r) => ({ key: r.key, offer: r.offer, pattern: r.pattern.source, value: r.value }))

const lookups = (table: RouteTable.RouteTable<Routes.Loaded>) => ({
  byPath: probes.map((path) => Option.getOrUndefined(Option.map(table.match(path), (r) => r.key))),
  byOffer: namespaces.flatMap((ns) =>
    offerNames.map((o) => Option.getOrUndefined(Option.map(table.byOffer(`${ns}/${o}`), (r) => r.key)))
  )
})

describe("Admission", () => {
  it("reaches the verdicts and the table of a full build after every step of random event sequences", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const cluster = world(seed)
      const admission = Admission.make(cluster.options())
      let previous = new Map<string, Routes.Verdict>()
      for (let i = 0; i < 250; i++) {
        cluster.step(admission)
        const { table, changed } = admission.commit()
        const full = Routes.build(cluster.routes(), cluster.options())
        const at = `seed ${seed}, step ${i}`
        const incremental = new Map(
          [...admission.keys()].flatMap((key) => {
            const verdict = admission.verdict(key)
            return verdict === undefined ? [] : [[key, verdict] as const]
          })
        )
        expect(incremental, at).toEqual(full.verdicts)
        expect(entries(table), at).toEqual(entries(full.table))
        expect(table.size, at).toBe(full.table.size)
        expect(lookups(table), at).toEqual(lookups(full.table))
        // Exactly the verdicts that differ from the previous step's are reported.
        const differ = new Map<string, Routes.Verdict | undefined>()
        for (const key of new Set([...previous.keys(), ...full.verdicts.keys()])) {
          const [was, now] = [previous.get(key), full.verdicts.get(key)]
          if (JSON.stringify(was) !== JSON.stringify(now)) differ.set(key, now)
        }
        expect(changed, at).toEqual(differ)
        previous = new Map(full.verdicts)
      }
    }
  })

  it("re-decides only the offer a route event touches when the route overlaps no other", () => {
    const options: Routes.Options = {
      facilitatorUrl: "http://127.0.0.1:4021",
      owner: (key) => ({ _tag: "Present", uid: `uid-${key}`, creationTimestamp: "2026-01-01T00:00:00Z" })
    }
    const route = (offer: string, generation: number) =>
      Schema.decodeUnknownSync(PaymentRoute.schema)(
        Fixtures.paymentRoute("a", offer, {
          owner: { name: offer, uid: `uid-a/${offer}` },
          metadata: { uid: `route-${offer}`, generation, creationTimestamp: "2026-01-01T00:00:00Z" }
        })
      )
    const calls: Array<string> = []
    const admission = Admission.make({
      ...options,
      owner: (key) => {
        calls.push(key)
        return options.owner(key)
      }
    })
    for (let i = 0; i < 100; i++) admission.put(route(`o${i}`, 1))
    admission.commit()
    calls.length = 0
    admission.put(route("o42", 2))
    const { changed, table } = admission.commit()
    expect(calls).toEqual(["a/o42"])
    expect(changed).toEqual(new Map([["a/o42-payment", { _tag: "Admitted", generation: 2 }]]))
    expect(Option.map(table.byOffer("a/o42"), (r) => r.value.generation)).toEqual(Option.some(2))
  })
})
