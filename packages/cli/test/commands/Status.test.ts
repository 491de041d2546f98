import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as KubeError from "@obol/kube/KubeError"
import * as FakeKube from "@obol/kube/testing/FakeKube"
import { TestClock } from "effect/testing"
import { RegistrationRequest } from "@obol/api/RegistrationRequest"
import { HTTPRoute } from "@obol/kube/builtin/HTTPRoute"
import { Event } from "@obol/kube/builtin/Event"
import * as KubeClient from "@obol/kube/KubeClient"
import { admittedRoute, obol, output, payTo, layer, requests, writeStatus } from "../utils/Harness.ts"

const children = Effect.gen(function* () {
  yield* admittedRoute("weather")
  yield* KubeClient.KubeClient.use((c) =>
    Effect.gen(function* () {
      yield* c.create(HTTPRoute, {
        apiVersion: HTTPRoute.apiVersion,
        kind: HTTPRoute.kind,
        metadata: { name: "so-weather", namespace: "default" },
        spec: { parentRefs: [{ name: "traefik-gateway", namespace: "traefik" }] }
      })
      yield* c.applyStatus(
        HTTPRoute,
        {
          apiVersion: HTTPRoute.apiVersion,
          kind: HTTPRoute.kind,
          metadata: { name: "so-weather", namespace: "default" },
          status: {
            parents: [
              {
                parentRef: { name: "traefik-gateway", namespace: "traefik" },
                controllerName: "traefik.io/gateway-controller",
                conditions: [
                  {
                    type: "Accepted",
                    status: "True",
                    reason: "Accepted",
                    message: "",
                    lastTransitionTime: "2026-12-01T00:00:00Z",
                    observedGeneration: 1
                  }
                ]
              }
            ]
          }
        },
        { fieldManager: "traefik" }
      )
      yield* c
        .create(RegistrationRequest, {
          apiVersion: RegistrationRequest.apiVersion,
          kind: RegistrationRequest.kind,
          metadata: { name: "weather-registration", namespace: "default" },
          spec: { offer: { name: "weather" }, enabled: true, document: { name: "Weather" } }
        })
        .pipe(Effect.ignore)
      yield* c.create(Event, {
        apiVersion: "events.k8s.io/v1",
        kind: "Event",
        metadata: { name: "weather.1", namespace: "default" },
        eventTime: "2026-12-01T00:00:00.000000Z",
        reportingController: "serviceoffer-controller",
        reportingInstance: "a",
        action: "Reconcile",
        reason: "RoutePublished",
        type: "Normal",
        regarding: { kind: "ServiceOffer", name: "weather", namespace: "default" },
        note: "the Gateway serves /services/weather"
      })
      yield* c.create(Event, {
        apiVersion: "events.k8s.io/v1",
        kind: "Event",
        metadata: { name: "other.1", namespace: "default" },
        eventTime: "2026-12-01T00:00:00.000000Z",
        reportingController: "serviceoffer-controller",
        reportingInstance: "a",
        action: "Reconcile",
        reason: "Unrelated",
        type: "Normal",
        regarding: { kind: "ServiceOffer", name: "other", namespace: "default" },
        note: "not ours"
      })
    })
  ).pipe(Effect.orDie)
})

describe("obol sell status <name>", () => {
  it.effect("shows the price, the conditions as a table, the children's state and the offer's events", () =>
    Effect.gen(function* () {
      yield* obol("sell", "http", "weather", "-w", payTo, "--upstream", "weather", "--price", "0.001", "--register")
      yield* children
      yield* writeStatus(
        "weather",
        [
          { type: "UpstreamHealthy", status: "True", reason: "Healthy", message: "GET /health answered 200" },
          {
            type: "PaymentGateReady",
            status: "True",
            reason: "Admitted",
            message: "the x402 verifier serves the current price"
          },
          { type: "Registered", status: "False", reason: "Submitted", message: "registration in progress" },
          { type: "Ready", status: "False", reason: "RegisteredFalse", message: "Registered is False" }
        ],
        { phase: "NotReady" }
      )
      const before = (yield* output).stdout.length
      const sent = (yield* requests).length
      expect(yield* obol("sell", "status", "weather")).toBe(0)
      // Reads only: one GET per object and one LIST of Events.
      expect(
        (yield* requests)
          .slice(sent)
          .map((r) => `${r.verb} ${r.kind}`)
          .toSorted()
      ).toEqual([
        "get HTTPRoute",
        "get Middleware",
        "get PaymentRoute",
        "get RegistrationRequest",
        "get ServiceOffer",
        "list Event"
      ])
      const page = (yield* output).stdout.slice(before).join("\n")
      expect(page).toContain("Price:        0.001 USDC/request = 0.001 USDC (1000 atomic units) per request")
      expect(page).toContain("Endpoint:     http://obol.stack:8080/services/weather")
      expect(page).toContain("Phase:        NotReady (generation 1, observed 1)")
      expect(page).toMatch(/TYPE\s+STATUS\s+REASON\s+AGE\s+MESSAGE/u)
      expect(page).toMatch(/Registered\s+False\s+Submitted\s+\S+\s+registration in progress/u)
      expect(page).toMatch(
        /PaymentRoute\s+weather-payment\s+admitted at generation 1; pattern \/services\/weather\/\*/u
      )
      expect(page).toMatch(/HTTPRoute\s+so-weather\s+accepted by traefik\/traefik-gateway/u)
      expect(page).toMatch(
        /Middleware\s+x402-weather\s+not used \(pay on success: the HTTPRoute leads to the x402 verifier\)/u
      )
      expect(page).toMatch(/ServiceOffer\/weather\s+the Gateway serves \/services\/weather/u)
      expect(page).not.toContain("not ours")
    }).pipe(Effect.provide(layer()))
  )

  it.effect("-o json prints the offer, its children and events as one document", () =>
    Effect.gen(function* () {
      yield* obol("sell", "http", "weather", "-w", payTo, "--upstream", "weather", "--price", "0.001")
      yield* children
      const before = (yield* output).stdout.length
      expect(yield* obol("sell", "status", "weather", "-o", "json")).toBe(0)
      const doc = JSON.parse((yield* output).stdout.slice(before).join("\n"))
      expect(doc.offer.metadata.name).toBe("weather")
      expect(doc.children.paymentRoute.status).toEqual({ admitted: true, lastAdmittedGeneration: 1 })
      expect(doc.children.middleware).toBeNull()
      expect(doc.events.map((e: { reason: string }) => e.reason)).toEqual(["RoutePublished"])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("still shows the page when events may not be listed, saying so", () =>
    Effect.gen(function* () {
      yield* obol("sell", "http", "weather", "-w", payTo, "--upstream", "weather", "--price", "0.001")
      yield* FakeKube.FakeKube.use((f) =>
        f.failNext("list", {
          error: new KubeError.KubeError({ reason: "Forbidden", code: 403, message: "events is forbidden" })
        })
      )
      expect(yield* obol("sell", "status", "weather")).toBe(0)
      expect((yield* output).stdout).toContain("  (not allowed to list events in this namespace)")
    }).pipe(Effect.provide(layer()))
  )

  it.effect("says how to find offers when the name is wrong", () =>
    Effect.gen(function* () {
      expect(yield* obol("sell", "status", "ghost")).toBe(1)
      expect((yield* output).stderr).toEqual([
        "error: ServiceOffer default/ghost does not exist",
        "  list the offers with `obol sell list -n default` (or -A for every namespace)"
      ])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("without a name shows the list and the registrations", () =>
    Effect.gen(function* () {
      yield* obol("sell", "http", "weather", "-w", payTo, "--upstream", "weather", "--price", "0.001", "--register")
      yield* TestClock.adjust("10 seconds")
      const before = (yield* output).stdout.length
      expect(yield* obol("sell", "status")).toBe(0)
      const text = (yield* output).stdout.slice(before)
      expect(text[0]).toMatch(/^NAME\s+TYPE/u)
      expect(text).toContain("Registrations (ERC-8004):")
      expect(text.at(-1)).toMatch(/^weather\s+<none>\s+Unknown\s+<none>$/u)
    }).pipe(Effect.provide(layer()))
  )
})
