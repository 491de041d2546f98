/**
 * The verifier's admission state, kept up to date one event at a time: the verdicts and the table
 * `Routes.build` would compute from all routes, reached by redoing only what an event touches.
 *
 * How (the rules are `Routes`'):
 * - Rules 1–3 only ever look at the routes naming one offer, the owner of that offer and their
 *   credentials, so a change re-decides that offer's routes (`Routes.decideOffer`) and nothing else.
 * - Rule 4 is greedy in claim order, and a claim is refused only by an overlapping earlier claim:
 *   whether a route wins its path depends only on the candidates it is connected to through
 *   overlapping patterns. When an offer's candidate changes, the claims of that connected group
 *   (found with `PathOverlaps`, on both the old and the new pattern) are re-run in claim order
 *   (`Routes.claim`); every other verdict stands. Most routes overlap nothing, so that group is
 *   one route; a `/*` route connects everything, and then every candidate is re-claimed.
 * - The table is updated with the entries that changed (`RouteTable.update`).
 *
 * Callers say what may have changed (`put`/`remove` a route, `offerChanged`, `credentialsChanged`,
 * `networks`) and then `commit`, which decides and reports the verdicts that changed. The state is
 * mutable and synchronous; it reads owners and credentials through `Routes.Options` when it
 * decides, so the caller must report every change those functions would answer differently.
 *
 * It writes nothing to the cluster and watches nothing: the informer (`Verifier`) feeds it and
 * writes the verdicts.
 *
 * @since 0.1.0
 */
import type { PaymentRoute } from "@obol/api/PaymentRoute"
import * as PathOverlaps from "./PathOverlaps.ts"
import * as Routes from "./Routes.ts"
import * as RouteTable from "./RouteTable.ts"

/**
 * @category models
 */
export interface Commit {
  readonly table: RouteTable.RouteTable<Routes.Loaded>
  /** Routes whose verdict changed since the last commit: the new verdict, or undefined when it has none any more. */
  readonly changed: ReadonlyMap<string, Routes.Verdict | undefined>
}

/**
 * @category models
 */
export interface Admission {
  /** A route as the cache now holds it: new, changed, or being deleted (which takes its verdict away). */
  readonly put: (route: PaymentRoute) => void
  /** A route gone from the cache, by `namespace/name`. */
  readonly remove: (key: string) => void
  /** The owner `Routes.Options.owner` reports for this offer may have changed. */
  readonly offerChanged: (offer: string) => void
  /** Every offer's owner may have changed (the offers were relisted). */
  readonly offersChanged: () => void
  /** Any upstream credential's state may have changed. */
  readonly credentialsChanged: () => void
  /** The facilitator's networks now (undefined: unknown, accept all); re-decides everything when they differ. */
  readonly networks: (networks: ReadonlySet<string> | undefined) => void
  /** Decides what the calls since the last commit may have changed. */
  readonly commit: () => Commit
  readonly table: () => RouteTable.RouteTable<Loaded>
  readonly verdict: (key: string) => Routes.Verdict | undefined
  /** The keys of the routes held (routes being deleted are not held). */
  readonly keys: () => Iterable<string>
  /** Whether any held route names this offer. */
  readonly references: (offer: string) => boolean
}

type Loaded = Routes.Loaded

const sameVerdict = (a: Routes.Verdict | undefined, b: Routes.Verdict | undefined): boolean => {
  if (a === undefined || b === undefined) return a === b
  switch (a._tag) {
    case "Admitted":
      return b._tag === "Admitted" && a.generation === b.generation
    case "Rejected":
      return b._tag === "Rejected" && a.reason === b.reason && a.message === b.message
    case "Unconfirmed":
      return b._tag === "Unconfirmed" && a.offer === b.offer
    case "Pending":
      return b._tag === "Pending"
  }
}

const sameSet = (a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.size === b.size && [...a].every((x) => b.has(x)))

/**
 * An empty state (no routes, an empty table). `options.supportedNetworks` is the starting value of
 * {@link Admission.networks}.
 *
 * @category constructors
 */
export const make = (options: Routes.Options): Admission => {
  let decideWith: Routes.Options = options
  /** Held routes (none being deleted), and the routes naming each offer. */
  const routes = new Map<string, PaymentRoute>()
  const groups = new Map<string, Map<string, PaymentRoute>>()
  /** Offers with a route that sends an upstream credential: what a credential change can affect. */
  const credentialed = new Set<string>()
  /** Each offer's route that claims a path, the claims index over them, and their claim verdicts. */
  const candidates = new Map<string, Routes.Candidate>()
  const overlaps = PathOverlaps.make<string>()
  /** Every held route's verdict, and the entries in the table by route key. */
  const verdicts = new Map<string, Routes.Verdict>()
  const loaded = new Map<string, RouteTable.Route<Loaded>>()
  let table = RouteTable.make<Loaded>([])

  /** Since the last commit: offers to re-decide, and routes that left (their verdicts go). */
  const dirty = new Set<string>()
  const gone = new Set<string>()

  const detach = (key: string) => {
    const held = routes.get(key)
    if (held === undefined) return
    routes.delete(key)
    const offer = Routes.offerOf(held)
    const group = groups.get(offer)
    group?.delete(key)
    if (group?.size === 0) groups.delete(offer)
    dirty.add(offer)
  }

  return {
    put: (route) => {
      const key = Routes.keyOf(route)
      if (routes.get(key) === route) return
      detach(key)
      if (route.metadata.deletionTimestamp !== undefined) {
        gone.add(key)
        return
      }
      gone.delete(key)
      routes.set(key, route)
      const offer = Routes.offerOf(route)
      let group = groups.get(offer)
      if (group === undefined) groups.set(offer, (group = new Map()))
      group.set(key, route)
      dirty.add(offer)
    },
    remove: (key) => {
      if (!routes.has(key)) return
      detach(key)
      gone.add(key)
    },
    offerChanged: (offer) => {
      if (groups.has(offer) || candidates.has(offer)) dirty.add(offer)
    },
    offersChanged: () => {
      for (const offer of groups.keys()) dirty.add(offer)
    },
    credentialsChanged: () => {
      for (const offer of credentialed) dirty.add(offer)
    },
    networks: (networks) => {
      if (sameSet(networks, decideWith.supportedNetworks)) return
      const { supportedNetworks: _previous, ...rest } = decideWith
      decideWith = networks === undefined ? rest : { ...rest, supportedNetworks: networks }
      for (const offer of groups.keys()) dirty.add(offer)
    },
    commit: () => {
      const before = new Map<string, Routes.Verdict | undefined>()
      const setVerdict = (key: string, verdict: Routes.Verdict | undefined) => {
        if (!before.has(key)) before.set(key, verdicts.get(key))
        if (verdict === undefined) verdicts.delete(key)
        else verdicts.set(key, verdict)
      }
      /** Route keys whose table entry may change. */
      const entries = new Set<string>()
      /** Offers whose candidates must claim again, with everything connected to them. */
      const seeds = new Set<string>()

      for (const key of gone) {
        setVerdict(key, undefined)
        entries.add(key)
      }
      gone.clear()

      // Rules 1–3, offer by offer.
      for (const offer of dirty) {
        const group = groups.get(offer)
        const decided =
          group === undefined
            ? { verdicts: [], candidate: undefined }
            : Routes.decideOffer(offer, [...group.values()], decideWith)
        for (const [key, verdict] of decided.verdicts) setVerdict(key, verdict)
        if (group !== undefined && [...group.values()].some((r) => Routes.credentialOf(r) !== undefined)) {
          credentialed.add(offer)
        } else credentialed.delete(offer)

        const previous = candidates.get(offer)
        const next = decided.candidate
        if (
          previous !== undefined &&
          next !== undefined &&
          previous.route === next.route &&
          previous.created === next.created &&
          previous.pending === next.pending
        ) {
          continue // its claim, its verdict and its entry stand
        }
        if (previous !== undefined) {
          overlaps.remove(previous.item.pattern, offer)
          candidates.delete(offer)
          entries.add(previous.item.key)
          for (const neighbour of overlaps.overlapping(previous.item.pattern)) seeds.add(neighbour)
        }
        if (next !== undefined) {
          overlaps.add(next.item.pattern, offer)
          candidates.set(offer, next)
          seeds.add(offer)
        }
      }
      dirty.clear()

      // Rule 4, over the candidates connected to a change.
      const group = new Set<string>()
      const queue = [...seeds]
      for (let offer = queue.pop(); offer !== undefined; offer = queue.pop()) {
        const candidate = candidates.get(offer)
        // Seeded as the neighbour of a change, then dropped by a later offer of this commit.
        if (group.has(offer) || candidate === undefined) continue
        group.add(offer)
        for (const neighbour of overlaps.overlapping(candidate.item.pattern)) {
          if (!group.has(neighbour)) queue.push(neighbour)
        }
      }
      for (const { candidate, verdict } of Routes.claim([...group].map((offer) => candidates.get(offer)!))) {
        setVerdict(candidate.item.key, verdict)
        entries.add(candidate.item.key)
      }

      // The table: the entries of the changed keys, from the state now.
      const changes: Array<readonly [string, RouteTable.Route<Loaded> | undefined]> = []
      for (const key of entries) {
        const route = routes.get(key)
        const candidate = route === undefined ? undefined : candidates.get(Routes.offerOf(route))
        const verdict = verdicts.get(key)
        const entry =
          candidate !== undefined && candidate.item.key === key && verdict !== undefined && verdict._tag !== "Rejected"
            ? candidate.item
            : undefined
        if (loaded.get(key) === entry) continue
        if (entry === undefined) loaded.delete(key)
        else loaded.set(key, entry)
        changes.push([key, entry])
      }
      if (changes.length > 0) table = RouteTable.update(table, changes)

      const changed = new Map<string, Routes.Verdict | undefined>()
      for (const [key, was] of before) {
        const now = verdicts.get(key)
        if (!sameVerdict(was, now)) changed.set(key, now)
      }
      return { table, changed }
    },
    table: () => table,
    verdict: (key) => verdicts.get(key),
    keys: () => routes.keys(),
    references: (offer) => groups.has(offer)
  }
}
