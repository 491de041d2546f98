import { Result } from "effect"
import { describe, expect, it } from "vitest"
import * as DemoUpstream from "../src/DemoUpstream.ts"

const nic = (address: string, internal = false) => ({
  address,
  netmask: "255.255.255.0",
  family: "IPv4" as const,
  mac: "00:00:00:00:00:00",
  internal,
  cidr: `${address}/24`
})

describe("DemoUpstream", () => {
  it("finds the first address an EndpointSlice accepts: not loopback, not link-local, not IPv6", () => {
    expect(
      DemoUpstream.hostAddress({
        lo: [nic("127.0.0.1", true)],
        docker0: [nic("169.254.3.4")],
        eth0: [nic("192.168.1.20")]
      })
    ).toBe("192.168.1.20")
    expect(DemoUpstream.hostAddress({ lo: [nic("127.0.0.1", true)] })).toBeUndefined()
  })

  it("runs in a network namespace as root, on the host's address otherwise, and says what to do when neither works", () => {
    const choose = (forced: string | undefined, root: boolean, hostAddress: string | undefined) => {
      const result = DemoUpstream.choosePlacement({ forced, root, hostAddress })
      return Result.isSuccess(result) ? result.success : `error: ${result.failure}`
    }
    expect(choose(undefined, true, "10.0.0.5")).toBe("netns")
    expect(choose(undefined, false, "10.0.0.5")).toBe("host")
    expect(choose("host", true, "10.0.0.5")).toBe("host")
    expect(choose("netns", false, "10.0.0.5")).toMatch(/^error: a network namespace needs root/u)
    expect(choose(undefined, false, undefined)).toMatch(/^error: this machine has no IPv4 address.*run as root/u)
    expect(choose("docker", true, "10.0.0.5")).toMatch(/^error: OBOL_DEMO_UPSTREAM must be "netns" or "host"/u)
  })
})
