/**
 * Upstream credentials: what a Secret's key means for a route (`stateOf`), and the per-Secret
 * watches over FakeKube (read, rotated, deleted, forbidden, no longer tracked).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Stream } from "effect"
import { Secret } from "@obol/kube/builtin/Secret"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as Credentials from "@obol/x402-verifier/Credentials"
import * as Idle from "@obol/controller/testing/Idle"

const settle = Idle.quiesce

const b64 = (value: string) => Buffer.from(value).toString("base64")
const ref = { namespace: "shop", name: "litellm-secrets", key: "LITELLM_MASTER_KEY", offer: "chat" }
const secret = (data: Record<string, string>, offers = "chat") => ({
  apiVersion: "v1" as const,
  kind: "Secret" as const,
  metadata: { name: "litellm-secrets", namespace: "shop", annotations: { "obol.org/upstream-auth-offers": offers } },
  data
})
const present = (data: Record<string, string>, offers: ReadonlyArray<string> = ["chat"]) =>
  ({ _tag: "Present", data, offers }) as const

const layer = () => Credentials.layer.pipe(Layer.provideMerge(Layer.fresh(FakeKube.layer)))

const stateNow = Credentials.Credentials.use((c) => Effect.succeed(c.get(ref)))

/** The state with its value revealed, to compare. */
const shown = (state: Credentials.State) =>
  state._tag === "Ready" ? `Ready ${Redacted.value(state.value)}` : state._tag === "Missing" ? state.message : "Pending"

describe("Credentials.stateOf", () => {
  it("reads the key's value without surrounding whitespace, and never prints it", () => {
    const state = Credentials.stateOf(ref, present({ LITELLM_MASTER_KEY: b64("sk-123\n") }))
    expect(shown(state)).toBe("Ready sk-123")
    expect(`${JSON.stringify(state)} ${String(state._tag === "Ready" && state.value)}`).not.toContain("sk-123")
  })

  it("says which key is missing (never naming the others), or that the value cannot be a header", () => {
    expect(shown(Credentials.stateOf(ref, present({ OTHER: b64("sk-1"), A: b64("x") })))).toBe(
      "Secret shop/litellm-secrets has no key LITELLM_MASTER_KEY"
    )
    expect(shown(Credentials.stateOf(ref, present({ LITELLM_MASTER_KEY: b64(" \n") })))).toBe(
      "key LITELLM_MASTER_KEY of Secret shop/litellm-secrets is empty; it must hold the credential alone"
    )
    for (const bad of ["a\nb", "a\u0000b", "key-\u2603"]) {
      expect(shown(Credentials.stateOf(ref, present({ LITELLM_MASTER_KEY: b64(bad) })))).toContain(
        "is not a valid header value"
      )
    }
    expect(shown(Credentials.stateOf(ref, undefined))).toBe("Pending")
  })
})

describe("Credentials.stateOf, which offers may send a Secret", () => {
  it("sends a Secret only for an offer its annotation names, so another offer cannot borrow the key", () => {
    const data = { LITELLM_MASTER_KEY: b64("sk-1") }
    expect(shown(Credentials.stateOf(ref, present(data, ["other", "chat"])))).toBe("Ready sk-1")
    const borrowed = Credentials.stateOf({ ...ref, offer: "mine" }, present(data, ["chat"]))
    expect(shown(borrowed)).toBe(
      "Secret shop/litellm-secrets does not allow offer mine to send it: its annotation obol.org/upstream-auth-offers must list mine (obol sell --upstream-auth-secret adds it; or kubectl annotate secret)"
    )
    expect(shown(Credentials.stateOf(ref, present(data, [])))).toContain("does not allow offer chat")
  })
})

describe("Credentials.layer", () => {
  it.effect("reads a tracked Secret, follows its rotation and deletion, and tells about each change", () =>
    Idle.provide(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        const credentials = yield* Credentials.Credentials
        let changes = 0
        yield* credentials.changes.pipe(
          Stream.runForEach(() => Effect.sync(() => changes++)),
          Effect.forkScoped
        )
        yield* settle
        expect(shown(yield* stateNow)).toBe("Pending")
        yield* credentials.track(new Set(["shop/litellm-secrets"]))
        yield* settle
        expect(shown(yield* stateNow)).toBe("Secret shop/litellm-secrets does not exist")

        yield* client.create(Secret, secret({ LITELLM_MASTER_KEY: b64("sk-1") }))
        yield* settle
        expect(shown(yield* stateNow)).toBe("Ready sk-1")
        yield* client.patch(
          Secret,
          { namespace: "shop", name: "litellm-secrets" },
          { type: "merge", patch: { data: { LITELLM_MASTER_KEY: b64("sk-2") } } }
        )
        yield* settle
        expect(shown(yield* stateNow)).toBe("Ready sk-2")
        yield* client.delete(Secret, { namespace: "shop", name: "litellm-secrets" })
        yield* settle
        expect(shown(yield* stateNow)).toBe("Secret shop/litellm-secrets does not exist")
        expect(changes).toBeGreaterThanOrEqual(4)
      }).pipe(Effect.scoped, Effect.provide(layer()))
    )
  )

  it.effect("watches only the tracked Secret, by name, and forgets one no longer tracked", () =>
    Idle.provide(
      Effect.gen(function* () {
        const client = yield* KubeClient.KubeClient
        const fake = yield* FakeKube.FakeKube
        const credentials = yield* Credentials.Credentials
        yield* client.create(Secret, secret({ LITELLM_MASTER_KEY: b64("sk-1") }))
        yield* credentials.track(new Set(["shop/litellm-secrets"]))
        yield* settle
        const reads = (yield* fake.requests).filter((r) => r.kind === "Secret" && r.verb !== "create")
        expect(reads.length).toBeGreaterThan(0)
        expect(reads.every((r) => r.namespace === "shop")).toBe(true)
        yield* credentials.track(new Set())
        yield* settle
        expect(shown(yield* stateNow)).toBe("Pending")
      }).pipe(Effect.scoped, Effect.provide(layer()))
    )
  )

  it.effect("reports a Secret the verifier may not read as missing, with the grant to ask for", () =>
    Idle.provide(
      Effect.gen(function* () {
        const fake = yield* FakeKube.FakeKube
        const credentials = yield* Credentials.Credentials
        yield* fake.failNext("list", {
          error: new KubeError.KubeError({
            reason: "Forbidden",
            code: 403,
            message: 'secrets "litellm-secrets" is forbidden',
            request: "GET /api/v1/namespaces/shop/secrets"
          }),
          when: (request) => request.kind === "Secret"
        })
        yield* credentials.track(new Set(["shop/litellm-secrets"]))
        yield* settle
        const state = yield* stateNow
        expect(shown(state)).toContain("may not read Secret shop/litellm-secrets")
        expect(shown(state)).toContain("--upstream-auth-secret")
      }).pipe(Effect.scoped, Effect.provide(layer()))
    )
  )
})
