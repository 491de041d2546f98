#!/usr/bin/env node
// Entry point of `npx x402-verifier`; the program is TypeScript run by Node 24 directly.
await import("../src/main.ts")
