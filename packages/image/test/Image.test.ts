import { describe, expect, it } from "@effect/vitest"
import * as Image from "@obol/image/Image"

describe("Image", () => {
  it("names the image, its processes and how they start: the contract deployments rely on", () => {
    expect(Image.reference).toBe("ghcr.io/obolnetwork/serviceoffer:0.1.0")
    expect([Image.name, Image.tag]).toEqual(["ghcr.io/obolnetwork/serviceoffer", "0.1.0"])
    expect(Image.processes.map(Image.bundle)).toEqual([
      "/app/serviceoffer-controller.mjs",
      "/app/x402-verifier.mjs",
      "/app/registrar.mjs"
    ])
    expect(Image.runtime).toEqual({
      entrypoint: ["/usr/local/bin/node"],
      cmd: ["/app/serviceoffer-controller.mjs"],
      workingDir: "/app",
      user: "65532:65532",
      env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production"]
    })
    expect(Image.archivePath).toBe("dist/image/serviceoffer-0.1.0.oci.tar")
  })
})
