/**
 * Where the registrar's signing key comes from: one Secret (by default `registrar-signer` in
 * the registrar's namespace; a RegistrationRequest may name another key of a Secret in that
 * namespace with `spec.signerSecretRef`). The Secret holds either a hex private key (key
 * `privateKey`, or the key `signerSecretRef` names) or a v3 keystore JSON under that key plus its
 * password under `password`.
 *
 * `None` means "no signer configured" (the Secret or the key does not exist): the registrar
 * reports OffChainOnly and looks again later. A Secret that exists but cannot be used is a
 * `SignerError` naming the Secret and what is wrong, never its content.
 *
 * Decoded signers are cached by the Secret's resourceVersion, so a keystore's slow key derivation
 * runs once per change of the Secret, not once per reconcile.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option } from "effect"
import type { RegistrationRequest } from "@obol/api/RegistrationRequest"
import * as Signer from "@obol/chain/Signer"
import { Secret } from "@obol/kube/builtin/Secret"
import * as KubeClient from "@obol/kube/KubeClient"
import * as KubeError from "@obol/kube/KubeError"

type Request = typeof RegistrationRequest.schema.Type

/**
 * @category models
 */
export interface SecretRef {
  readonly namespace: string
  readonly name: string
  readonly key: string
}

/**
 * @category models
 */
export interface Shape {
  /** Which Secret and key a request signs with. */
  readonly refOf: (request: Request) => SecretRef
  readonly get: (
    request: Request
  ) => Effect.Effect<Option.Option<Signer.Signer>, Signer.SignerError | KubeError.KubeError>
}

/**
 * @category services
 */
export class Signers extends Context.Service<Signers, Shape>()("@obol/registrar/Signers") {}

/**
 * @category models
 */
export interface Options {
  /** Namespace of the signer Secret (the registrar's own). */
  readonly namespace: string
  /** Default Secret name. */
  readonly secret: string
}

const refOf =
  (options: Options) =>
  (request: Request): SecretRef => ({
    namespace: options.namespace,
    name: request.spec.signerSecretRef?.name ?? options.secret,
    key: request.spec.signerSecretRef?.key ?? "privateKey"
  })

const decode = (
  ref: SecretRef,
  data: Record<string, string>
): Effect.Effect<Option.Option<Signer.Signer>, Signer.SignerError> => {
  const text = (key: string) => {
    const value = data[key]
    return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8")
  }
  const where = `Secret ${ref.namespace}/${ref.name} key ${ref.key}`
  const value = text(ref.key) ?? (ref.key === "privateKey" ? text("keystore") : undefined)
  if (value === undefined) return Effect.succeed(Option.none())
  const contextual = (error: Signer.SignerError) =>
    new Signer.SignerError({ reason: error.reason, message: `${where}: ${error.message}` })
  if (value.trimStart().startsWith("{")) {
    const password = text("password")
    if (password === undefined) {
      return Effect.fail(
        new Signer.SignerError({
          reason: "InvalidKeystore",
          message: `${where} holds a keystore but the Secret has no password key`
        })
      )
    }
    return Signer.fromKeystore(value, password.replace(/\r?\n$/u, "")).pipe(
      Effect.mapError(contextual),
      Effect.map(Option.some)
    )
  }
  return Effect.fromResult(Signer.fromPrivateKey(value)).pipe(Effect.mapError(contextual), Effect.map(Option.some))
}

/**
 * Reads Secrets through the API server.
 *
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Signers, never, KubeClient.KubeClient> =>
  Layer.effect(
    Signers,
    Effect.gen(function* () {
      const client = yield* KubeClient.KubeClient
      const cache = new Map<string, Option.Option<Signer.Signer>>()
      return {
        refOf: refOf(options),
        get: (request) =>
          Effect.gen(function* () {
            const ref = refOf(options)(request)
            const secret = yield* KubeError.ignoreNotFound(
              client.get(Secret, { namespace: ref.namespace, name: ref.name })
            )
            if (Option.isNone(secret)) return Option.none()
            const key = `${ref.namespace}/${ref.name}/${ref.key}@${secret.value.metadata.resourceVersion ?? ""}`
            const cached = cache.get(key)
            if (cached !== undefined) return cached
            const signer = yield* decode(ref, secret.value.data ?? {})
            for (const k of cache.keys()) if (k.startsWith(`${ref.namespace}/${ref.name}/${ref.key}@`)) cache.delete(k)
            cache.set(key, signer)
            return signer
          })
      }
    })
  )

/**
 * Fixed signers by Secret name (absent: no signer), for unit tests.
 *
 * @category layers
 */
export const layerMemory = (
  signers: ReadonlyMap<string, Signer.Signer>,
  options: Options = { namespace: "obol-system", secret: "registrar-signer" }
): Layer.Layer<Signers> =>
  Layer.succeed(Signers, {
    refOf: refOf(options),
    get: (request) => Effect.succeed(Option.fromUndefinedOr(signers.get(refOf(options)(request).name)))
  })
