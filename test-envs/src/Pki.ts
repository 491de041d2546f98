/**
 * The certificates a local control plane needs, made with the system `openssl`: a CA, a serving
 * certificate for 127.0.0.1/localhost, an admin client certificate in `system:masters`, and the
 * service-account signing key pair. Files are written into a directory the caller owns; a directory
 * that already holds a complete set is reused as it is.
 *
 * This is test PKI: short-lived directories, EC P-256 keys, no revocation. Never use it elsewhere.
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import { execFile } from "node:child_process"
import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"

/**
 * @category errors
 */
export class PkiFailed extends Data.TaggedError("PkiFailed")<{ readonly step: string; readonly stderr: string }> {
  override get message() {
    return `creating test certificates failed at "${this.step}" (is openssl installed?):\n${this.stderr}`
  }
}

/**
 * @category models
 */
export interface Pki {
  readonly dir: string
  readonly caCert: string
  readonly caKey: string
  readonly servingCert: string
  readonly servingKey: string
  readonly adminCert: string
  readonly adminKey: string
  readonly serviceAccountKey: string
  readonly serviceAccountPub: string
}

const openssl = (step: string, args: ReadonlyArray<string>, cwd: string) =>
  Effect.callback<void, PkiFailed>((resume) => {
    execFile("openssl", [...args], { cwd }, (error, _stdout, stderr) => {
      resume(error === null ? Effect.void : Effect.fail(new PkiFailed({ step, stderr: stderr || String(error) })))
    })
  })

const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]

/**
 * Creates the PKI in `dir`.
 *
 * @category constructors
 */
export const make = Effect.fn("Pki.make")(function* (dir: string) {
  const at = (file: string) => join(dir, file)
  const pki: Pki = {
    dir,
    caCert: at("ca.crt"),
    caKey: at("ca.key"),
    servingCert: at("serving.crt"),
    servingKey: at("serving.key"),
    adminCert: at("admin.crt"),
    adminKey: at("admin.key"),
    serviceAccountKey: at("sa.key"),
    serviceAccountPub: at("sa.pub")
  }
  // A directory that already holds a complete set (a persistent stack restarting) keeps it.
  const files = Object.values(pki).filter((path) => path !== dir)
  if (files.every((path) => existsSync(path))) return pki
  writeFileSync(join(dir, "serving.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
  writeFileSync(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n")
  const sign = (name: string, ext: string) => [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "3650",
    "-out",
    `${name}.crt`,
    "-extfile",
    ext
  ]
  yield* openssl(
    "ca",
    ["req", "-x509", ...ec, "-days", "3650", "-subj", "/CN=obol-test-envs-ca", "-keyout", "ca.key", "-out", "ca.crt"],
    dir
  )
  yield* openssl(
    "serving csr",
    ["req", ...ec, "-subj", "/CN=kube-apiserver", "-keyout", "serving.key", "-out", "serving.csr"],
    dir
  )
  yield* openssl("serving cert", sign("serving", "serving.ext"), dir)
  yield* openssl(
    "admin csr",
    ["req", ...ec, "-subj", "/O=system:masters/CN=test-admin", "-keyout", "admin.key", "-out", "admin.csr"],
    dir
  )
  yield* openssl("admin cert", sign("admin", "client.ext"), dir)
  yield* openssl(
    "service-account key",
    ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key"],
    dir
  )
  yield* openssl("service-account public key", ["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir)
  return pki
})
