#!/usr/bin/env node
// Entry point of `npx obol`; the program is TypeScript run by Node 24 directly (type stripping).
const [major] = process.versions.node.split(".").map(Number)
if (major < 24) {
  console.error(
    `obol needs Node 24 or later (this is Node ${process.versions.node}); run it as \`npx obol\` from the project, which uses the pinned Node 24`
  )
  process.exit(1)
}
// Cache compiled modules between runs (in the OS temp directory): start-up is mostly module loading.
const { enableCompileCache } = await import("node:module")
enableCompileCache?.()
await import("../src/main.ts")
