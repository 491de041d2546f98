/**
 * A credential the x402 verifier sends to a pay-on-success upstream as its `Authorization` header
 * (LiteLLM's master key is the common case): `<scheme> <value>`, the value read from one key of
 * one Secret in the offer's own namespace (docs/adr/0010-pay-on-success.md).
 *
 * Only the reference is in the ServiceOffer and its PaymentRoute, never the value. The verifier
 * reads the Secret (a Role naming that one Secret grants it; `obol sell --upstream-auth-secret`
 * creates it), keeps the value in memory, and sends it to that offer's upstream only, replacing
 * whatever `Authorization` the buyer sent.
 *
 * The Secret names the offers (of its namespace) allowed to send it, in its annotation
 * {@link offersAnnotation}: the verifier's read grant is per Secret, so without it any offer of the
 * namespace could borrow the key.
 *
 * It does not read Secrets or build headers (the verifier's `Credentials` and `PayOnSuccess` do).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { defaulted } from "./internal/defaulted.ts"

/**
 * A Secret name: a DNS subdomain (lower-case letters, digits, '-' and '.').
 *
 * @category schemas
 */
export const SecretName = Schema.String.check(
  Schema.isMaxLength(253),
  Schema.isPattern(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/u, {
    expected: "a Secret name: lower-case letters, digits, '-' and '.'"
  })
)

/**
 * A key of a Secret's data.
 *
 * @category schemas
 */
export const SecretKey = Schema.String.check(
  Schema.isMaxLength(253),
  Schema.isPattern(/^[-._a-zA-Z0-9]+$/u, { expected: "a Secret key: letters, digits, '-', '_' and '.'" })
)

/**
 * @category schemas
 */
export const UpstreamAuthorization = Schema.Struct({
  secretKeyRef: Schema.Struct({
    name: SecretName.annotate({ description: "Name of the Secret, in the offer's namespace." }),
    key: SecretKey.annotate({ description: "Key of the Secret's data holding the credential." })
  }).annotate({ description: "Where the credential is: one key of one Secret in the offer's namespace." }),
  scheme: defaulted(
    Schema.String.check(
      Schema.isMaxLength(64),
      Schema.isPattern(/^([A-Za-z][-A-Za-z0-9_.~+]*)?$/u, {
        expected: 'an HTTP authentication scheme such as Bearer or Basic, or "" to send the value as it is'
      })
    ).annotate({
      description:
        'Authentication scheme put before the value: Authorization: <scheme> <value>. "" sends the value as it is. Default Bearer.'
    }),
    "Bearer"
  )
}).annotate({
  description:
    "A credential the x402 verifier sends to the upstream as Authorization (e.g. LiteLLM's master key), replacing the buyer's. Only with settlement onSuccess. The verifier must be granted get/list/watch on that one Secret (obol sell --upstream-auth-secret does)."
})

/**
 * @category models
 */
export type UpstreamAuthorization = typeof UpstreamAuthorization.Type

/**
 * The header value: `<scheme> <value>`, or the value alone when the scheme is empty.
 *
 * @category constructors
 */
export const headerValue = (authorization: Pick<UpstreamAuthorization, "scheme">, value: string): string =>
  authorization.scheme === "" ? value : `${authorization.scheme} ${value}`

/**
 * The annotation by which a Secret names the offers (of its namespace, comma-separated) allowed
 * to send it upstream.
 *
 * @category constants
 */
export const offersAnnotation = "obol.org/upstream-auth-offers"

/**
 * The offer names an {@link offersAnnotation} value lists.
 *
 * @category getters
 */
export const offersOf = (annotation: string | undefined): ReadonlyArray<string> =>
  (annotation ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "")
