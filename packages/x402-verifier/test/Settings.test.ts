import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Option } from "effect"
import * as Settings from "@obol/x402-verifier/Settings"

describe("Settings", () => {
  it.effect("defaults to ports no other process of the stack uses (8080, health 8084), and says so in --help", () =>
    Effect.gen(function* () {
      const settings = yield* Settings.fromEnv.pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ FACILITATOR_URL: "http://127.0.0.1:4021" })))
      )
      expect([settings.port, settings.healthPort]).toEqual([8080, 8084])
      expect(Settings.help("x402-verifier")).toMatch(/HEALTH_PORT\s+port of \/healthz[^\n]*\n\s+default: 8084/u)
    })
  )

  it.effect("takes a comma-separated set of namespaces to watch", () =>
    Effect.gen(function* () {
      const settings = yield* Settings.fromEnv.pipe(
        Effect.provide(
          ConfigProvider.layer(
            ConfigProvider.fromUnknown({ FACILITATOR_URL: "http://127.0.0.1:4021", WATCH_NAMESPACE: "a, b,,c" })
          )
        )
      )
      expect(settings.namespaces).toEqual(Option.some(["a", "b", "c"]))
    })
  )
})
