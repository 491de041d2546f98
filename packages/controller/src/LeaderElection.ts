/**
 * Leader election on a `coordination.k8s.io/v1` Lease, with client-go's semantics and defaults
 * (lease 15 s, renew deadline 10 s, retry period 2 s), so one replica of a controller reconciles
 * while the others wait.
 *
 * Expected flow:
 * 1. Every retry period, try to acquire: create the Lease, or take it over when it is free
 *    (released) or expired. Expiry is judged by *our* clock from when *we* last saw the Lease
 *    change, never by the holder's timestamps, so clock skew between nodes cannot cause two leaders.
 * 2. Once leading, run `whileLeading` and renew every retry period (a replace conditioned on the
 *    resourceVersion we read, so two writers cannot both succeed).
 * 3. If renewals keep failing for the renew deadline, stop `whileLeading` (interrupt it and wait
 *    for it to end) and become a candidate again. Because the deadline (10 s) is shorter than the
 *    lease (15 s), we stop before another candidate can consider the Lease expired.
 * 4. On shutdown: stop `whileLeading` first, and only then release the Lease (empty holder,
 *    1-second duration) so a successor starts at once instead of waiting out the lease.
 *
 * `leader_election_master_status{name}` is 1 while leading. Time goes through Effect's `Clock`.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Metric, Option } from "effect"
import { Lease } from "@obol/kube/builtin/Lease"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as Metrics from "./Metrics.ts"

/**
 * @category models
 */
export interface Options {
  readonly lease: { readonly namespace: string; readonly name: string }
  /** Unique per replica, e.g. the pod name plus a random suffix. */
  readonly identity: string
  readonly leaseDuration?: Duration.Input
  readonly renewDeadline?: Duration.Input
  readonly retryPeriod?: Duration.Input
}

type LeaseObject = typeof Lease.schema.Type

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
const microTime = (millis: number) => new Date(millis).toISOString().replace(/\.(\d{3})Z$/u, ".$1000Z")

/**
 * Runs `whileLeading` whenever this replica holds the Lease, forever (until interrupted).
 *
 * @category constructors
 */
export const run = <E, R>(
  options: Options,
  whileLeading: Effect.Effect<unknown, E, R>
): Effect.Effect<never, never, KubeClient.KubeClient | R> =>
  Effect.gen(function* () {
    const client = yield* KubeClient.KubeClient
    const leaseDuration = Duration.fromInputUnsafe(options.leaseDuration ?? "15 seconds")
    const renewDeadline = Duration.fromInputUnsafe(options.renewDeadline ?? "10 seconds")
    const retryPeriod = Duration.fromInputUnsafe(options.retryPeriod ?? "2 seconds")
    const ref = { namespace: options.lease.namespace, name: options.lease.name }
    const status = Metrics.leaderElectionMasterStatus.pipe(Metric.withAttributes({ name: options.lease.name }))
    const log = (message: string) =>
      Effect.logInfo(message).pipe(
        Effect.annotateLogs({ lease: `${ref.namespace}/${ref.name}`, identity: options.identity })
      )

    /** What we last saw and when (by our clock). */
    let observed: { resourceVersion: string; at: number } | undefined

    const spec = (now: number, previous: LeaseObject["spec"] | undefined, keepAcquire: boolean) => ({
      holderIdentity: options.identity,
      leaseDurationSeconds: Math.ceil(Duration.toSeconds(leaseDuration)),
      acquireTime: keepAcquire && previous?.acquireTime != null ? previous.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (keepAcquire ? 0 : 1)
    })

    let lastFailure: string | undefined
    /** One attempt to acquire or renew; true when we hold the Lease afterwards. */
    const tryAcquireOrRenew = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const current = yield* KubeError.ignoreNotFound(client.get(Lease, ref))
      if (Option.isNone(current)) {
        yield* client.create(Lease, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: ref.name, namespace: ref.namespace },
          spec: { ...spec(now, undefined, false), leaseTransitions: 0 }
        })
        return true
      }
      const lease = current.value
      const rv = lease.metadata.resourceVersion ?? ""
      if (observed === undefined || observed.resourceVersion !== rv) observed = { resourceVersion: rv, at: now }
      const holder = lease.spec?.holderIdentity ?? ""
      const mine = holder === options.identity
      const held = holder !== "" && !mine
      const durationMillis = (lease.spec?.leaseDurationSeconds ?? Duration.toSeconds(leaseDuration)) * 1000
      if (held && observed.at + durationMillis > now) return false
      const updated = yield* client.replace(Lease, {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: ref.name, namespace: ref.namespace, resourceVersion: rv },
        spec: spec(now, lease.spec, mine)
      })
      observed = { resourceVersion: updated.metadata.resourceVersion ?? "", at: now }
      return true
    }).pipe(
      Effect.tap(() => Effect.sync(() => (lastFailure = undefined))),
      // Losing a race (Conflict, AlreadyExists) is how election works; anything else (Forbidden,
      // an unreachable API server) would leave a replica a silent standby forever: say so, once
      // per kind of failure.
      Effect.catch((error) =>
        Effect.gen(function* () {
          const reason = KubeError.isKubeError(error) ? error.reason : "Unknown"
          if (reason !== "Conflict" && reason !== "AlreadyExists" && reason !== lastFailure) {
            lastFailure = reason
            yield* Effect.logWarning("Cannot acquire or renew the leader lease").pipe(
              Effect.annotateLogs({ lease: `${ref.namespace}/${ref.name}`, reason, error: String(error) })
            )
          }
          return false
        })
      )
    )

    const release = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const current = yield* KubeError.ignoreNotFound(client.get(Lease, ref))
      if (Option.isNone(current) || current.value.spec?.holderIdentity !== options.identity) return
      yield* client.replace(Lease, {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: {
          name: ref.name,
          namespace: ref.namespace,
          resourceVersion: current.value.metadata.resourceVersion ?? ""
        },
        spec: {
          holderIdentity: null,
          leaseDurationSeconds: 1,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: current.value.spec?.leaseTransitions ?? 0
        }
      })
      yield* log("Leader lease released")
    }).pipe(
      Effect.catch((error) =>
        Effect.logWarning("Releasing the leader lease failed").pipe(Effect.annotateLogs({ error: String(error) }))
      )
    )

    const acquire = Effect.gen(function* () {
      while (!(yield* tryAcquireOrRenew)) yield* Effect.sleep(retryPeriod)
      yield* Metric.update(status, 1)
      yield* log("Leader lease acquired")
    })

    /** Completes when renewals have failed for the renew deadline. */
    const renewUntilLost = Effect.gen(function* () {
      let lastRenew = yield* Clock.currentTimeMillis
      for (;;) {
        yield* Effect.sleep(retryPeriod)
        const now = yield* Clock.currentTimeMillis
        if (yield* tryAcquireOrRenew) lastRenew = now
        else if (now - lastRenew >= Duration.toMillis(renewDeadline)) return
      }
    })

    const lead = Effect.acquireUseRelease(
      // Waiting for the lease must stay interruptible (acquire regions are not, by default).
      Effect.interruptible(acquire),
      () =>
        Effect.raceFirst(
          renewUntilLost.pipe(Effect.andThen(log("Leader lease lost: renewals failed past the renew deadline"))),
          whileLeading.pipe(
            Effect.exit,
            Effect.flatMap((exit) =>
              Effect.logError("Work under leader election ended; stepping down").pipe(
                Effect.annotateLogs({ exit: String(exit) })
              )
            )
          )
        ),
      // Runs after `use` (and so `whileLeading`) has fully stopped.
      () => Effect.andThen(Metric.update(status, 0), release)
    )
    return yield* Effect.forever(lead)
  })
