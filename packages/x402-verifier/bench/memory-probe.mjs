// Preloaded into each server the memory bench starts (`node --import <this> …`): on SIGUSR2 it
// prints one line `memory {…}` to stderr with `process.memoryUsage()`, the V8 heap by space
// (used and committed bytes) and the script source V8 holds, so the bench reads the heap of a
// process it did not write (the verifier, @x402/express).
import { getHeapCodeStatistics, getHeapSpaceStatistics } from "node:v8"

process.on("SIGUSR2", () => {
  const spaces = Object.fromEntries(
    getHeapSpaceStatistics().map((s) => [
      s.space_name.replace(/_space$/u, ""),
      [s.space_used_size, s.physical_space_size]
    ])
  )
  const code = getHeapCodeStatistics()
  const line = { ...process.memoryUsage(), spaces, scriptSource: code.external_script_source_size }
  process.stderr.write(`memory ${JSON.stringify(line)}\n`)
})
