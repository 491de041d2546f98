/**
 * Upstream credentials of pay-on-success routes (`spec.upstream.authorization`, docs/adr/0010):
 * the verifier reads exactly the Secrets its routes name, one watch per Secret
 * (`fieldSelector=metadata.name=<name>`, which a Role limited by `resourceNames` to that one
 * Secret allows), and keeps each value in memory as `Redacted`, so no log line, error or metric
 * can print it. A Secret no route names any more is dropped with its watch.
 *
 * A Secret is sent only for the offers it names itself, in its annotation
 * `obol.org/upstream-auth-offers` (comma-separated offer names of its namespace), written by
 * whoever may write the Secret (`obol sell --upstream-auth-secret` adds the offer). The verifier's
 * read grant is per Secret, so without this anyone who may create a ServiceOffer in that namespace
 * could point an offer at the Secret and an upstream of their own, and receive the key.
 *
 * Each reference is in one state: `Ready` (the key is there), `Missing` (no such Secret, no such
 * key, or the verifier may not read it; the message says which and what to do) or `Pending` (not
 * read yet). The informer admits a route only when its credential is `Ready`, rejects it while
 * `Missing` (`UpstreamSecretMissing`), and waits while `Pending`; `changes` tells it when to look
 * again.
 *
 * It does not decide routes or build headers; it never writes Secrets.
 *
 * @since 0.1.0
 */
import { Context, Effect, FiberMap, Layer, PubSub, Redacted, Stream } from "effect"
import * as Watcher from "@obol/controller/Watcher"
import * as UpstreamAuthorization from "@obol/api/UpstreamAuthorization"
import { Secret } from "@obol/kube/builtin/Secret"
import * as KubeClient from "@obol/kube/KubeClient"

/**
 * One key of one Secret.
 *
 * @category models
 */
export interface Ref {
  readonly namespace: string
  readonly name: string
  readonly key: string
  /** The offer (in the same namespace) that sends it; the Secret must name it. */
  readonly offer: string
}

/**
 * @category models
 */
export type State =
  | { readonly _tag: "Ready"; readonly value: Redacted.Redacted<string> }
  | { readonly _tag: "Missing"; readonly message: string }
  | { readonly _tag: "Pending" }

/**
 * @category models
 */
export interface Shape {
  /** The state of one reference now. */
  readonly get: (ref: Ref) => State
  /** Watches exactly these Secrets (`namespace/name`): starts the new ones' watches, stops the rest. */
  readonly track: (secrets: ReadonlySet<string>) => Effect.Effect<void>
  /** One element each time a tracked Secret is read, changes, disappears or becomes unreadable. */
  readonly changes: Stream.Stream<void>
}

/**
 * @category services
 */
export class Credentials extends Context.Service<Credentials, Shape>()("@obol/x402-verifier/Credentials") {}

/**
 * `namespace/name` of a reference's Secret, the key of `track`.
 *
 * @category getters
 */
export const secretOf = (ref: Pick<Ref, "namespace" | "name">): string => `${ref.namespace}/${ref.name}`

type Stored =
  | {
      readonly _tag: "Present"
      readonly data: Readonly<Record<string, string>>
      /** The offers the Secret allows (its annotation). */
      readonly offers: ReadonlyArray<string>
    }
  | { readonly _tag: "Absent"; readonly message: string }
  | { readonly _tag: "Pending" }

const pending: State = { _tag: "Pending" }

/**
 * The state of `ref` given what is known of its Secret.
 *
 * @category constructors
 */
export const stateOf = (ref: Ref, stored: Stored | undefined): State => {
  if (stored === undefined || stored._tag === "Pending") return pending
  if (stored._tag === "Absent") return { _tag: "Missing", message: stored.message }
  if (!stored.offers.includes(ref.offer)) {
    return {
      _tag: "Missing",
      message: `Secret ${secretOf(ref)} does not allow offer ${ref.offer} to send it: its annotation ${UpstreamAuthorization.offersAnnotation} must list ${ref.offer} (obol sell --upstream-auth-secret adds it; or kubectl annotate secret)`
    }
  }
  // Only the key's presence is said, never the other keys' names (offers' status is widely readable).
  const encoded = stored.data[ref.key]
  if (encoded === undefined) return { _tag: "Missing", message: `Secret ${secretOf(ref)} has no key ${ref.key}` }
  const value = Buffer.from(encoded, "base64").toString("utf8").trim()
  // What an HTTP header value may hold (RFC 9110 field-value: visible ASCII, space, tab, obs-text).
  if (value === "" || !/^[\t\x20-\x7e\x80-\xff]+$/u.test(value)) {
    return {
      _tag: "Missing",
      message: `key ${ref.key} of Secret ${secretOf(ref)} is ${value === "" ? "empty" : "not a valid header value (one line of printable characters)"}; it must hold the credential alone`
    }
  }
  return { _tag: "Ready", value: Redacted.make(value, { label: `${secretOf(ref)}:${ref.key}` }) }
}

/**
 * What a failed read of the Secret means for its routes, when it means anything: the verifier
 * may not read it (until someone grants it), or it does not exist. Other errors are retried by the
 * watch and leave the last known state.
 */
const absentOn = (secret: string, error: { readonly reason: string; readonly message: string }): Stored | undefined =>
  error.reason === "Forbidden"
    ? {
        _tag: "Absent",
        message: `the x402-verifier may not read Secret ${secret}: grant its ServiceAccount get, list and watch on that Secret (obol sell --upstream-auth-secret does, or see docs/adr/0010-pay-on-success.md)`
      }
    : error.reason === "NotFound"
      ? { _tag: "Absent", message: `Secret ${secret} does not exist` }
      : undefined

const present = (secret: typeof Secret.schema.Type): Stored => ({
  _tag: "Present",
  data: secret.data ?? {},
  offers: UpstreamAuthorization.offersOf(secret.metadata.annotations?.[UpstreamAuthorization.offersAnnotation])
})

/**
 * Credentials from a fixed map of Secrets' data (values base64, as the API returns them), for tests.
 *
 * @category layers
 */
export const layerMemory = (
  secrets: ReadonlyMap<
    string,
    { readonly data: Readonly<Record<string, string>>; readonly offers: ReadonlyArray<string> } | "forbidden"
  >
): Layer.Layer<Credentials> =>
  Layer.succeed(Credentials, {
    get: (ref) => {
      const secret = secrets.get(secretOf(ref))
      return stateOf(
        ref,
        secret === undefined
          ? { _tag: "Absent", message: `Secret ${secretOf(ref)} does not exist` }
          : secret === "forbidden"
            ? absentOn(secretOf(ref), { reason: "Forbidden", message: "" })
            : { _tag: "Present", ...secret }
      )
    },
    track: () => Effect.void,
    changes: Stream.empty
  })

/**
 * One watch per tracked Secret, through the API server.
 *
 * @category layers
 */
export const layer: Layer.Layer<Credentials, never, KubeClient.KubeClient> = Layer.effect(
  Credentials,
  Effect.gen(function* () {
    const client = yield* KubeClient.KubeClient
    const stored = new Map<string, Stored>()
    const watches = yield* FiberMap.make<string>()
    const changed = yield* PubSub.sliding<void>(1)
    const set = (secret: string, value: Stored) =>
      Effect.suspend(() => {
        if (!stored.has(secret)) return Effect.void // stopped meanwhile
        stored.set(secret, value)
        return PubSub.publish(changed, undefined)
      })

    const watch = (secret: string) => {
      const [namespace, name] = secret.split("/") as [string, string]
      return Watcher.watch(client, Secret, { namespace, fieldSelector: `metadata.name=${name}` }).pipe(
        Stream.runForEach((event) => {
          switch (event._tag) {
            case "Restarted": {
              const found = event.objects.find((o) => o.metadata.name === name)
              return set(
                secret,
                found === undefined ? { _tag: "Absent", message: `Secret ${secret} does not exist` } : present(found)
              )
            }
            case "Applied":
              return set(secret, present(event.object))
            case "Deleted":
              return set(secret, { _tag: "Absent", message: `Secret ${secret} does not exist` })
            case "Error": {
              const absent = absentOn(secret, event.error)
              return absent === undefined
                ? Effect.logWarning("Watching an upstream credential's Secret failed; retrying").pipe(
                    Effect.annotateLogs({ secret, error: event.error.message })
                  )
                : set(secret, absent)
            }
          }
        })
      )
    }

    return {
      get: (ref) => stateOf(ref, stored.get(secretOf(ref))),
      track: (secrets) =>
        Effect.gen(function* () {
          // Deleting the entry being visited is safe while iterating a Map.
          for (const secret of stored.keys()) {
            if (secrets.has(secret)) continue
            stored.delete(secret)
            yield* FiberMap.remove(watches, secret)
          }
          for (const secret of secrets) {
            if (stored.has(secret)) continue
            stored.set(secret, { _tag: "Pending" })
            yield* FiberMap.run(watches, secret, watch(secret))
          }
        }),
      changes: Stream.fromPubSub(changed)
    }
  })
)
