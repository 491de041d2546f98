/**
 * An optional struct key with a default that holds in both places defaults apply: the API server
 * (the CRD `default`, from the annotation) and our own decoding (`withDecodingDefaultKey`).
 */
import { Effect, Schema } from "effect"

export const defaulted = <S extends Schema.Top>(schema: S, value: S["Encoded"] & S["Type"]) =>
  schema.annotate({ default: value } as never).pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))
