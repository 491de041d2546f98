/**
 * vitest projects (vitest 4+ replaced `vitest.workspace.ts` with `test.projects`):
 *
 * - one unit project per package (`packages/<name>/test/**\/*.test.ts`, plus `test-envs`);
 * - `integration`: every `*.integration.test.ts`, against one real control plane per run, started
 *   by `test-envs/src/vitest/globalSetup.ts` (building it from Go modules on first use);
 * - `traefik`: the Traefik smoke test, only when OBOL_TRAEFIK_TIER=1 (`npm run test:traefik`; needs
 *   root for its network namespace); the end-to-end tests in `integration` run Traefik too;
 * - `chaos`: the chaos tier, only when OBOL_CHAOS_TIER=1 (`npm run test:chaos`; `.ci/run` runs it
 *   with a bounded number of rounds after `npm test`).
 *
 * `npm test` runs the unit and integration projects; neither is ever skipped silently.
 */
import { readdirSync } from "node:fs"
import { defineConfig } from "vitest/config"
import type { TestProjectInlineConfiguration } from "vitest/config"

const packages = readdirSync(new URL("./packages", import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .toSorted()

const unit = (name: string, root: string): TestProjectInlineConfiguration => ({
  extends: true,
  test: {
    name,
    root,
    include: ["test/**/*.test.ts"],
    exclude: ["test/**/*.integration.test.ts", "test/**/*.traefik.test.ts", "test/**/*.chaos.test.ts", "test/utils/**"],
    // A few unit tests do real work (bundle with esbuild, spawn node, serve on loopback): vitest's
    // 5 s default failed one of them on a busy 2-core machine. A hang still fails, just later.
    testTimeout: 30_000
  }
})

const integration: TestProjectInlineConfiguration = {
  extends: true,
  test: {
    name: "integration",
    include: ["packages/*/test/**/*.integration.test.ts", "test-envs/test/**/*.integration.test.ts"],
    globalSetup: ["test-envs/src/vitest/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
}

const traefik: TestProjectInlineConfiguration = {
  extends: true,
  test: {
    name: "traefik",
    include: ["test-envs/test/**/*.traefik.test.ts"],
    globalSetup: ["test-envs/src/vitest/globalSetup.ts"],
    testTimeout: 120_000,
    hookTimeout: 3_600_000
  }
}

/** The chaos tier: the whole stack with its own control plane, faults under traffic (`npm run test:chaos`). */
const chaos: TestProjectInlineConfiguration = {
  extends: true,
  test: {
    name: "chaos",
    include: ["test-envs/test/**/*.chaos.test.ts"],
    testTimeout: 3_600_000,
    hookTimeout: 900_000
  }
}

export default defineConfig({
  test: {
    projects: [
      ...packages.map((name) => unit(name, `packages/${name}`)),
      unit("test-envs", "test-envs"),
      integration,
      ...(process.env["OBOL_TRAEFIK_TIER"] === "1" ? [traefik] : []),
      ...(process.env["OBOL_CHAOS_TIER"] === "1" ? [chaos] : [])
    ]
  }
})
