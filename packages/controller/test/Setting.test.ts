import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Option } from "effect"
import * as Setting from "@obol/controller/Setting"

const settings = {
  port: Setting.port("PORT", 8080, "where it listens"),
  name: Setting.string("NAME", "demo", "what it is called"),
  verbose: Setting.boolean("VERBOSE", false, "say more"),
  url: Setting.required("URL", "where to send"),
  extra: Setting.optional("EXTRA", "(none)", "something else"),
  namespace: Setting.namespace("OWN_NAMESPACE", "where it lives"),
  listen: Setting.listen,
  kubeconfig: Setting.documented("KUBECONFIG", "(~/.kube/config)", "cluster")
}

const read = (env: Record<string, string>) =>
  Setting.read(settings).pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown(env)))

describe("Setting", () => {
  it.effect("reads each variable, with its own default when unset", () =>
    Effect.gen(function* () {
      const values = yield* read({ URL: "https://x", PORT: "9000", POD_NAMESPACE: "pods" })
      expect(values).toMatchObject({
        port: 9000,
        name: "demo",
        verbose: false,
        url: "https://x",
        extra: Option.none(),
        namespace: "pods",
        listen: {}
      })
      const more = yield* read({ URL: "u", OWN_NAMESPACE: "own", LISTEN_ADDRESS: "127.0.0.1", EXTRA: "e" })
      expect(more).toMatchObject({ namespace: "own", listen: { host: "127.0.0.1" }, extra: Option.some("e") })
      expect((yield* read({ URL: "u" })).namespace).toBe("default")
    })
  )

  it.effect("fails naming a required variable that is unset, or a value that does not parse", () =>
    Effect.gen(function* () {
      const missing = yield* Effect.flip(read({}))
      expect(missing.message).toContain("URL")
      const bad = yield* Effect.flip(read({ URL: "u", PORT: "http" }))
      expect(bad.message).toContain("PORT")
    })
  )

  it("shows in --help exactly the defaults it reads with", () => {
    const text = Setting.help("demo", "does a thing.", settings)
    expect(text).toContain("  PORT ")
    expect(text).toContain("default: 8080")
    expect(text).toContain("default: demo")
    expect(text).toContain("default: (required)")
    expect(text).toContain("default: (POD_NAMESPACE, else default)")
    for (const setting of Object.values(settings)) expect(text).toContain(setting.env)
  })

  it("lists every setting with its default, aligned under the longest name", () => {
    const text = Setting.help("demo", "does a thing.", {
      port: Setting.documented("PORT", "8080", "where it listens"),
      longer: Setting.documented("LONGER_NAME", "(none)", "something else")
    })
    expect(text.split("\n")).toEqual([
      "demo: does a thing.",
      "",
      "Settings (environment variables):",
      "  PORT         where it listens",
      "               default: 8080",
      "  LONGER_NAME  something else",
      "               default: (none)",
      ""
    ])
  })
})
