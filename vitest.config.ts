/**
 * One vitest project per package (vitest 4+ replaced `vitest.workspace.ts` with `test.projects`).
 *
 * Unit tests are `test/**\/*.test.ts`; integration tests (`*.integration.test.ts`) get their own
 * project once the real control plane exists, so `npm test` runs every tier and never skips one.
 */
import { readdirSync } from "node:fs"
import { defineConfig } from "vitest/config"

const packages = readdirSync(new URL("./packages", import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .toSorted()

export default defineConfig({
  test: {
    projects: packages.map((name) => ({
      extends: true as const,
      test: {
        name,
        root: `packages/${name}`,
        include: ["test/**/*.test.ts"],
        exclude: ["test/**/*.integration.test.ts", "test/utils/**"]
      }
    }))
  }
})
