import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
import * as Ports from "../src/Ports.ts"

const ephemeralLow = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/u)[0])

const listen = (port: number) =>
  Effect.acquireRelease(
    Effect.callback<ReturnType<typeof createServer>, Error>((resume) => {
      const server = createServer()
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen(port, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
  )

describe("Ports", () => {
  it.live("hands out distinct ports below the kernel's ephemeral range, which a server can then bind", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const ports = yield* Ports.freeN(8)
        expect(new Set(ports).size).toBe(8)
        for (const port of ports) {
          expect(port).toBeLessThan(ephemeralLow)
          expect(port).toBeGreaterThan(1024)
          yield* listen(port)
        }
      })
    )
  )
})
