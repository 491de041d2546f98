import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { ConfigMap } from "@obol/kube/builtin/ConfigMap"
import * as KubeClient from "@obol/kube/KubeClient"

const line = (value: unknown) => JSON.stringify(value)
const cm = (name: string, extra: object = {}) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "n", ...extra }
})
const decode = (text: string) => KubeClient.decodeWatchLine(ConfigMap, "WATCH /cm", text)

describe("KubeClient watch decoding", () => {
  it.effect("decodes ADDED, MODIFIED and DELETED events into typed objects", () =>
    Effect.gen(function* () {
      for (const type of ["ADDED", "MODIFIED", "DELETED"] as const) {
        const event = yield* decode(line({ type, object: cm("a") }))
        expect(event).toEqual({ type, object: cm("a") })
      }
    })
  )

  it.effect("reads a BOOKMARK's resourceVersion", () =>
    Effect.gen(function* () {
      const event = yield* decode(
        line({ type: "BOOKMARK", object: { kind: "ConfigMap", metadata: { resourceVersion: "4711" } } })
      )
      expect(event).toEqual({ type: "BOOKMARK", resourceVersion: "4711" })
    })
  )

  it.effect("fails the stream with Gone on an ERROR event carrying a 410 Status", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        decode(
          line({
            type: "ERROR",
            object: {
              kind: "Status",
              status: "Failure",
              code: 410,
              reason: "Expired",
              message: "too old resource version: 1 (42)"
            }
          })
        )
      )
      expect(error.reason).toBe("Gone")
      expect(error.message).toBe("too old resource version: 1 (42)")
    })
  )

  it.effect("turns a line that is not JSON into a Malformed event instead of failing", () =>
    Effect.gen(function* () {
      const event = yield* decode('{"type":"ADDED","object":{')
      expect(event.type).toBe("Malformed")
      expect(event.type === "Malformed" && event.error.reason).toBe("Decode")
    })
  )

  it.effect("turns an object that does not match the kind's Schema into a Malformed event naming it", () =>
    Effect.gen(function* () {
      const event = yield* decode(line({ type: "ADDED", object: { ...cm("broken"), data: { k: 1 } } }))
      expect(event.type === "Malformed" && event.error.message).toContain("invalid ConfigMap broken")
      expect(event.type === "Malformed" && event.error.message).toContain("data.k")
    })
  )

  it.effect("turns an unknown event type into a Malformed event", () =>
    Effect.gen(function* () {
      expect((yield* decode(line({ type: "SURPRISE", object: {} }))).type).toBe("Malformed")
    })
  )
})
