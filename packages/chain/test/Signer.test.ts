import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, Result } from "effect"
import { createCipheriv, pbkdf2Sync, randomBytes, scryptSync } from "node:crypto"
import { keccak256 } from "viem"
import { privateKeyToAddress } from "viem/accounts"
import * as Signer from "@obol/chain/Signer"

const key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"

/** Encrypts like geth/ethers do (Web3 Secret Storage v3), independently of the decoder. */
const keystore = (privateKey: string, password: string, kdf: "scrypt" | "pbkdf2") => {
  const salt = randomBytes(32)
  const iv = randomBytes(16)
  const derived =
    kdf === "scrypt"
      ? scryptSync(password, salt, 32, { N: 1024, r: 8, p: 1 })
      : pbkdf2Sync(password, salt, 1000, 32, "sha256")
  const cipher = createCipheriv("aes-128-ctr", derived.subarray(0, 16), iv)
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(privateKey.slice(2), "hex")), cipher.final()])
  const mac = keccak256(Buffer.concat([derived.subarray(16, 32), ciphertext])).slice(2)
  return JSON.stringify({
    version: 3,
    id: "3198bc9c-6672-5ab3-d995-4942343ae5b6",
    address: privateKeyToAddress(key).slice(2).toLowerCase(),
    crypto: {
      cipher: "aes-128-ctr",
      cipherparams: { iv: iv.toString("hex") },
      ciphertext: ciphertext.toString("hex"),
      kdf,
      kdfparams:
        kdf === "scrypt"
          ? { dklen: 32, n: 1024, r: 8, p: 1, salt: salt.toString("hex") }
          : { dklen: 32, c: 1000, prf: "hmac-sha256", salt: salt.toString("hex") },
      mac
    }
  })
}

describe("Signer", () => {
  it("reads a hex private key with or without 0x and derives its address", () => {
    const a = Result.getOrThrow(Signer.fromPrivateKey(key))
    const b = Result.getOrThrow(Signer.fromPrivateKey(`  ${key.slice(2).toUpperCase()}\n`))
    expect(a.address).toBe(privateKeyToAddress(key))
    expect(b.address).toBe(a.address)
    expect(Redacted.value(b.privateKey)).toBe(key)
  })

  it("never shows the key when printed or logged", () => {
    const signer = Result.getOrThrow(Signer.fromPrivateKey(key))
    const printed = `${JSON.stringify(signer)} ${String(signer.privateKey)} ${JSON.stringify({ s: signer.privateKey })}`
    expect(printed).not.toContain(key.slice(2))
    expect(printed).toContain("<redacted>")
  })

  it("refuses malformed keys without echoing them", () => {
    for (const bad of ["0x1234", "zz".repeat(32), "0x" + "0".repeat(64), "f".repeat(64)]) {
      const failure = Result.match(Signer.fromPrivateKey(bad), { onFailure: (e) => e, onSuccess: () => undefined })
      expect(failure?.reason).toBe("InvalidKey")
      expect(failure?.message).not.toContain(bad)
    }
  })

  it.effect("decrypts scrypt and pbkdf2 keystores with the right password", () =>
    Effect.gen(function* () {
      for (const kdf of ["scrypt", "pbkdf2"] as const) {
        const signer = yield* Signer.fromKeystore(keystore(key, "correct horse", kdf), "correct horse")
        expect(signer.address).toBe(privateKeyToAddress(key))
      }
    })
  )

  it.effect("refuses a wrong password by the MAC, and unsupported keystores by name", () =>
    Effect.gen(function* () {
      const wrong = yield* Effect.flip(Signer.fromKeystore(keystore(key, "right", "scrypt"), "wrong"))
      expect(wrong.reason).toBe("WrongPassword")
      const aes = JSON.parse(keystore(key, "pw", "pbkdf2"))
      aes.crypto.cipher = "aes-128-cbc"
      const unsupported = yield* Effect.flip(Signer.fromKeystore(JSON.stringify(aes), "pw"))
      expect(unsupported).toMatchObject({
        reason: "InvalidKeystore",
        message: 'unsupported cipher "aes-128-cbc" (aes-128-ctr)'
      })
      const garbage = yield* Effect.flip(Signer.fromKeystore("{not json", "pw"))
      expect(garbage.reason).toBe("InvalidKeystore")
    })
  )
})
