#!/usr/bin/env node
// Entry point of `npx registrar`; the program is TypeScript run by Node 24 directly.
await import("../src/main.ts")
