import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { join } from "node:path"
import * as ThirdPartyNotices from "@obol/image/ThirdPartyNotices"

const root = join(import.meta.dirname, "..", "..", "..")

describe("ThirdPartyNotices", () => {
  it("finds the package of each bundled file: scoped, nested, and not our own sources", () => {
    expect(
      ThirdPartyNotices.packageDirs([
        "node_modules/effect/dist/Effect.js",
        "node_modules/effect/dist/Layer.js",
        "node_modules/@kubernetes/client-node/dist/config.js",
        "node_modules/a/node_modules/b/index.js",
        "packages/kube/src/KubeConfig.ts",
        "narrow-client-node:@kubernetes/client-node"
      ])
    ).toEqual(["node_modules/@kubernetes/client-node", "node_modules/a/node_modules/b", "node_modules/effect"])
  })

  it.effect("writes each package's name, version, licence and licence text", () =>
    Effect.gen(function* () {
      const text = yield* ThirdPartyNotices.make(root, ["node_modules/effect/dist/Effect.js"])
      expect(text).toMatch(/^effect@\d+\.\d+\.\d+ \(MIT\)$/mu)
      expect(text).toContain("Permission is hereby granted")
    })
  )
})
