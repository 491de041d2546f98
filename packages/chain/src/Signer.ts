/**
 * The registrar's signing key, read from a Secret: a hex private key, or a Web3 Secret Storage
 * (v3 keystore) JSON with its password. The key lives in a `Redacted`, so logging a `Signer`
 * prints `<redacted>`; errors say what is wrong with the input without echoing any of it.
 *
 * Keystores: `aes-128-ctr` with `scrypt` or `pbkdf2` (hmac-sha256) key derivation, MAC checked
 * (keccak-256 of the derived key's second half and the ciphertext) before decrypting, as the
 * Web3 Secret Storage definition requires. Other ciphers and KDFs are refused by name.
 *
 * @since 0.1.0
 */
import { Data, Effect, Redacted, Result, Schema } from "effect"
import { createDecipheriv, pbkdf2, scrypt, timingSafeEqual } from "node:crypto"
import { type Address, type Hex, keccak256 } from "viem"
import { privateKeyToAddress } from "viem/accounts"

/**
 * @category models
 */
export interface Signer {
  readonly address: Address
  readonly privateKey: Redacted.Redacted<Hex>
}

/**
 * @category errors
 */
export class SignerError extends Data.TaggedError("SignerError")<{
  readonly reason: "InvalidKey" | "InvalidKeystore" | "WrongPassword"
  readonly message: string
}> {}

const hexKey = /^(0x)?([0-9a-fA-F]{64})$/u
const secp256k1Order = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/**
 * A signer from a hex private key (with or without `0x`, surrounding whitespace ignored).
 *
 * @category constructors
 */
export const fromPrivateKey = (input: string): Result.Result<Signer, SignerError> => {
  const match = hexKey.exec(input.trim())
  const digits = match?.[2]
  if (digits === undefined) {
    return Result.fail(
      new SignerError({ reason: "InvalidKey", message: "the private key is not 32 bytes of hex (64 hex digits)" })
    )
  }
  const value = BigInt(`0x${digits}`)
  if (value === 0n || value >= secp256k1Order) {
    return Result.fail(
      new SignerError({ reason: "InvalidKey", message: "the private key is outside secp256k1's range" })
    )
  }
  const key = `0x${digits.toLowerCase()}` as Hex
  return Result.succeed({ address: privateKeyToAddress(key), privateKey: Redacted.make(key) })
}

const HexString = Schema.String.check(Schema.isPattern(/^(0x)?[0-9a-fA-F]*$/u, { expected: "hex" }))

const Keystore = Schema.Struct({
  version: Schema.Literal(3),
  crypto: Schema.Struct({
    cipher: Schema.String,
    ciphertext: HexString,
    cipherparams: Schema.Struct({ iv: HexString }),
    kdf: Schema.String,
    kdfparams: Schema.Record(Schema.String, Schema.Unknown),
    mac: HexString
  })
})

const decodeKeystore = Schema.decodeUnknownResult(Schema.fromJsonString(Keystore))
const bytes = (hex: string) => Buffer.from(hex.replace(/^0x/u, ""), "hex")
const invalid = (message: string) => new SignerError({ reason: "InvalidKeystore", message })
const int = (params: Record<string, unknown>, name: string) => {
  const value = params[name]
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : undefined
}

const deriveKey = (
  kdf: string,
  params: Record<string, unknown>,
  password: string
): Effect.Effect<Buffer, SignerError> => {
  const salt = typeof params["salt"] === "string" ? bytes(params["salt"]) : undefined
  const dklen = int(params, "dklen")
  if (salt === undefined || dklen === undefined || dklen < 32) {
    return Effect.fail(invalid("kdfparams need a hex salt and dklen >= 32"))
  }
  if (kdf === "scrypt") {
    const N = int(params, "n")
    const r = int(params, "r")
    const p = int(params, "p")
    if (N === undefined || r === undefined || p === undefined) return Effect.fail(invalid("scrypt needs n, r and p"))
    return Effect.callback<Buffer, SignerError>((resume) => {
      scrypt(password, salt, dklen, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (error, key) =>
        resume(error === null ? Effect.succeed(key) : Effect.fail(invalid(`scrypt failed: ${error.message}`)))
      )
    })
  }
  if (kdf === "pbkdf2") {
    const c = int(params, "c")
    if (c === undefined) return Effect.fail(invalid("pbkdf2 needs c"))
    if (params["prf"] !== "hmac-sha256") return Effect.fail(invalid("pbkdf2 supports prf hmac-sha256 only"))
    return Effect.callback<Buffer, SignerError>((resume) => {
      pbkdf2(password, salt, c, dklen, "sha256", (error, key) =>
        resume(error === null ? Effect.succeed(key) : Effect.fail(invalid(`pbkdf2 failed: ${error.message}`)))
      )
    })
  }
  return Effect.fail(invalid(`unsupported kdf "${kdf}" (scrypt or pbkdf2)`))
}

/**
 * A signer from a v3 keystore JSON and its password.
 *
 * @category constructors
 */
export const fromKeystore = (json: string, password: string): Effect.Effect<Signer, SignerError> =>
  Effect.gen(function* () {
    const keystore = decodeKeystore(json)
    if (Result.isFailure(keystore)) {
      return yield* invalid(`not a v3 keystore: ${keystore.failure.message}`)
    }
    const { crypto } = keystore.success
    if (crypto.cipher !== "aes-128-ctr") return yield* invalid(`unsupported cipher "${crypto.cipher}" (aes-128-ctr)`)
    const derived = yield* deriveKey(crypto.kdf, crypto.kdfparams, password)
    const ciphertext = bytes(crypto.ciphertext)
    const mac = bytes(keccak256(Buffer.concat([derived.subarray(16, 32), ciphertext])))
    const expected = bytes(crypto.mac)
    if (expected.length !== mac.length || !timingSafeEqual(mac, expected)) {
      return yield* new SignerError({
        reason: "WrongPassword",
        message: "the keystore password is wrong (MAC mismatch)"
      })
    }
    const decipher = createDecipheriv("aes-128-ctr", derived.subarray(0, 16), bytes(crypto.cipherparams.iv))
    const key = Buffer.concat([decipher.update(ciphertext), decipher.final()])
    return yield* Effect.fromResult(fromPrivateKey(key.toString("hex")))
  })
