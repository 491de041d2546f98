/**
 * `npm run chain:build` compiles our contracts and writes their artifacts; `--check` only
 * compares and exits 1 with the stale names.
 */
import * as Contracts from "../chain/Contracts.ts"

if (process.argv.includes("--check")) {
  const stale = Contracts.check()
  if (stale.length > 0) {
    console.error(stale.join("\n"))
    process.exit(1)
  }
  console.log(`chain artifacts match their sources (${Contracts.contracts.join(", ")})`)
} else {
  for (const file of Contracts.write()) console.log(`wrote ${file}`)
}
