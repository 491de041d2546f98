/**
 * What scripts do with obol: `obol sell list -o json | jq …`. With a reader slower than obol, the
 * whole document must still arrive (obol once exited before a full pipe had drained, silently
 * cutting the JSON at 64 KiB with exit status 0).
 */
import { spawn } from "node:child_process"
import { join } from "node:path"
import { describe, expect, inject, it } from "vitest"
import { serviceOffer } from "@obol/test-envs/Fixtures"
import { request, useNamespace } from "@obol/test-envs/vitest/TestCluster"

const namespace = useNamespace("pipe")
const bin = join(import.meta.dirname, "..", "bin", "obol.mjs")

describe("obol output through a pipe", () => {
  it("delivers a 300-offer JSON list whole to a reader that starts late", async () => {
    for (let i = 0; i < 300; i += 30) {
      await Promise.all(
        Array.from({ length: 30 }, async (_, j) => {
          const res = await request(
            "POST",
            `/apis/obol.org/v1alpha1/namespaces/${namespace()}/serviceoffers`,
            serviceOffer(namespace(), `offer-${i + j}`)
          )
          expect(res.status, res.body).toBe(201)
        })
      )
    }
    const child = spawn(
      process.execPath,
      [bin, "sell", "list", "-o", "json", "-n", namespace(), "--kubeconfig", inject("kubeconfig")],
      {
        stdio: ["ignore", "pipe", "pipe"]
      }
    )
    let stderr = ""
    child.stderr.on("data", (chunk) => (stderr += chunk))
    // Read nothing until obol has written everything it will write, as a busy consumer would.
    child.stdout.pause()
    // Paused, our side stops reading at its buffer's high-water mark and the pipe behind it fills:
    // from then on obol has output queued that only a drained pipe lets out (polled, bounded).
    for (let waited = 0; child.stdout.readableLength < child.stdout.readableHighWaterMark; waited += 20) {
      if (waited > 60_000) throw new Error(`obol never filled the pipe:\n${stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const chunks: Array<Buffer> = []
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk))
    child.stdout.resume()
    const code = await new Promise<number | null | "hung">((resolve) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL")
        resolve("hung")
      }, 60_000)
      child.on("close", (status) => {
        clearTimeout(timer)
        resolve(status)
      })
    })
    expect(code, stderr).toBe(0)
    const text = Buffer.concat(chunks).toString("utf8")
    expect(text.length).toBeGreaterThan(64 * 1024)
    const list = JSON.parse(text) as { items: ReadonlyArray<unknown> }
    expect(list.items).toHaveLength(300)
  }, 120_000)
})
