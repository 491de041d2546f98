/**
 * Test helpers: read YAML manifests from the repository and build ServiceOffer variants.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { parse } from "yaml"

export const repoRoot = join(import.meta.dirname, "..", "..", "..", "..")

/** Parses a YAML file relative to the repository root; every call returns a fresh object. */
export const readManifest = (relative: string): Record<string, unknown> =>
  parse(readFileSync(join(repoRoot, relative), "utf8")) as Record<string, unknown>

/** A minimal valid ServiceOffer manifest, fresh on every call, for tests to break one field at a time. */
export const minimalOffer = (): any => ({
  apiVersion: "obol.org/v1alpha1",
  kind: "ServiceOffer",
  metadata: { name: "demo", namespace: "default" },
  spec: {
    upstream: { service: "demo" },
    payment: {
      network: "base-sepolia",
      payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      price: { perRequest: "0.001" }
    }
  }
})
