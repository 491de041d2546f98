import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import { Secret } from "@obol/kube/builtin/Secret"
import * as KubeClient from "@obol/kube/KubeClient"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import * as Signers from "@obol/registrar/Signers"
import { privateKeyToAddress } from "viem/accounts"

const key = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
const b64 = (s: string) => Buffer.from(s).toString("base64")

const request = (signerSecretRef?: { name: string; key: string }) =>
  ({
    apiVersion: "obol.org/v1alpha1",
    kind: "RegistrationRequest",
    metadata: { name: "r", namespace: "sellers" },
    spec: {
      name: "r",
      endpoint: "https://x.example",
      agentURI: "https://x.example/a",
      chain: "base-sepolia",
      ...(signerSecretRef === undefined ? {} : { signerSecretRef })
    }
  }) as typeof RegistrationRequest.schema.Type

const secret = (name: string, data: Record<string, string>) =>
  KubeClient.KubeClient.use((c) =>
    c.create(Secret, { apiVersion: "v1", kind: "Secret", metadata: { name, namespace: "obol-system" }, data })
  )

const layer = Signers.layer({ namespace: "obol-system", secret: "registrar-signer" }).pipe(
  Layer.provideMerge(Layer.fresh(FakeKube.layer))
)

describe("Signers", () => {
  it.effect("reads the default Secret's privateKey; no Secret or no key means no signer", () =>
    Effect.gen(function* () {
      const signers = yield* Signers.Signers
      expect(yield* signers.get(request())).toEqual(Option.none())
      yield* secret("registrar-signer", { other: b64("x") })
      expect(yield* signers.get(request())).toEqual(Option.none())
      yield* secret("custom", { hot: b64(`${key}\n`) })
      const signer = yield* signers.get(request({ name: "custom", key: "hot" }))
      expect(Option.getOrThrow(signer).address).toBe(privateKeyToAddress(key))
    }).pipe(Effect.provide(layer))
  )

  it.effect("names the Secret and the problem of an unusable key, never its content", () =>
    Effect.gen(function* () {
      const signers = yield* Signers.Signers
      yield* secret("registrar-signer", { privateKey: b64("0xdeadbeef") })
      const error = yield* Effect.flip(signers.get(request()))
      expect(error.message).toBe(
        "Secret obol-system/registrar-signer key privateKey: the private key is not 32 bytes of hex (64 hex digits)"
      )
      yield* secret("ks", { privateKey: b64('{"version":3}') })
      const missingPassword = yield* Effect.flip(signers.get(request({ name: "ks", key: "privateKey" })))
      expect(missingPassword.message).toBe(
        "Secret obol-system/ks key privateKey holds a keystore but the Secret has no password key"
      )
    }).pipe(Effect.provide(layer))
  )
})
