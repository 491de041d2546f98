import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Chain from "../../src/chain/Chain.ts"
import * as Facilitator from "../../src/chain/Facilitator.ts"

const post = (url: string, body: string) =>
  Effect.promise(async () => {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body })
    return { status: res.status, json: (await res.json()) as Record<string, unknown> }
  })

describe("local facilitator", () => {
  it.live(
    "serves /supported for the chain and answers bad calls with 400 or 404 and a reason, not 500",
    () =>
      Effect.gen(function* () {
        const chain = yield* Chain.start()
        const facilitator = yield* Facilitator.start(chain)
        const supported = yield* Effect.promise(async () => (await fetch(`${facilitator.url}/supported`)).json())
        expect((supported as { kinds: Array<{ network: string; x402Version: number }> }).kinds).toContainEqual(
          expect.objectContaining({ x402Version: 2, scheme: "exact", network: "eip155:84532" })
        )
        expect((yield* post(`${facilitator.url}/verify`, "not json")).status).toBe(400)
        expect((yield* post(`${facilitator.url}/settle`, "{}")).json["error"]).toMatch(/paymentPayload/)
        const elsewhere = yield* post(
          `${facilitator.url}/verify`,
          JSON.stringify({
            x402Version: 2,
            paymentPayload: { x402Version: 2, accepted: { scheme: "exact", network: "eip155:1" }, payload: {} },
            paymentRequirements: { scheme: "exact", network: "eip155:1" }
          })
        )
        expect([elsewhere.status, elsewhere.json["invalidReason"]]).toEqual([400, "invalid_network"])
        expect((yield* post(`${facilitator.url}/nowhere`, "{}")).status).toBe(404)
        expect(facilitator.calls["/verify"]).toBe(2)
      }).pipe(Effect.scoped),
    60_000
  )
})
