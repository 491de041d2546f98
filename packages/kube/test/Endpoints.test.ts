import { describe, expect, it } from "vitest"
import * as Endpoints from "@obol/kube/Endpoints"

const service = (ports: ReadonlyArray<{ name?: string; port: number; targetPort?: number | string }>) =>
  ({ apiVersion: "v1", kind: "Service", metadata: { name: "api" }, spec: { ports } }) as never

const slice = (
  ports: ReadonlyArray<{ name?: string; port: number }>,
  endpoints: ReadonlyArray<{ addresses: ReadonlyArray<string>; ready?: boolean }>
) =>
  ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "api-x" },
    addressType: "IPv4",
    ports,
    endpoints: endpoints.map((e) => ({
      addresses: e.addresses,
      conditions: e.ready === undefined ? {} : { ready: e.ready }
    }))
  }) as never

describe("Endpoints", () => {
  it("sends traffic to ready endpoints, on the target port named like the Service port", () => {
    const targets = Endpoints.ready(
      service([
        { name: "http", port: 80, targetPort: "web" },
        { name: "metrics", port: 9090 }
      ]),
      [
        slice(
          [
            { name: "http", port: 8080 },
            { name: "metrics", port: 9091 }
          ],
          [{ addresses: ["10.0.0.1"] }, { addresses: ["10.0.0.2"], ready: false }]
        ),
        slice([{ name: "http", port: 8080 }], [{ addresses: ["fd00::3"], ready: true }])
      ],
      80
    )
    expect(targets).toEqual([
      { address: "10.0.0.1", port: 8080 },
      { address: "fd00::3", port: 8080 }
    ])
    expect(targets.map(Endpoints.origin)).toEqual(["http://10.0.0.1:8080", "http://[fd00::3]:8080"])
  })

  it("falls back to the slice's only port, then a numeric targetPort, then the Service port", () => {
    expect(
      Endpoints.ready(service([{ port: 80 }]), [slice([{ port: 3000 }], [{ addresses: ["10.0.0.1"] }])], 80)
    ).toEqual([{ address: "10.0.0.1", port: 3000 }])
    expect(
      Endpoints.ready(service([{ port: 80, targetPort: 8081 }]), [slice([], [{ addresses: ["10.0.0.1"] }])], 80)
    ).toEqual([{ address: "10.0.0.1", port: 8081 }])
    expect(Endpoints.ready(service([]), [slice([], [{ addresses: ["10.0.0.1"] }])], 8080)).toEqual([
      { address: "10.0.0.1", port: 8080 }
    ])
  })
})
