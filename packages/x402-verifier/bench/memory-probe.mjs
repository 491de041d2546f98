// Preloaded into each server the memory bench starts (`node --import <this> …`): on SIGUSR2 it
// prints one line `memory {…}` to stderr with `process.memoryUsage()`, the V8 heap by space
// (used and committed bytes), the script source V8 holds and the time spent in garbage collection
// so far (milliseconds, young and full collections), so the bench reads the heap of a process it
// did not write (the verifier, @x402/express).
import { PerformanceObserver } from "node:perf_hooks"
import { getHeapCodeStatistics, getHeapSpaceStatistics } from "node:v8"

const gc = { minor: 0, major: 0 }
// perf_hooks.constants: NODE_PERFORMANCE_GC_MINOR (1) is a scavenge; the others (minor
// mark-sweep 2, major 4, incremental marking 8, weak callbacks 16) count as the rest.
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.detail?.kind === 1) gc.minor += entry.duration
    else gc.major += entry.duration
  }
}).observe({ entryTypes: ["gc"] })

process.on("SIGUSR2", () => {
  const spaces = Object.fromEntries(
    getHeapSpaceStatistics().map((s) => [
      s.space_name.replace(/_space$/u, ""),
      [s.space_used_size, s.physical_space_size]
    ])
  )
  const code = getHeapCodeStatistics()
  const line = { ...process.memoryUsage(), spaces, scriptSource: code.external_script_source_size, gc }
  process.stderr.write(`memory ${JSON.stringify(line)}\n`)
})
