/**
 * `npm run pay -- [options] <url>`: pays for one request with the official x402 client and prints
 * the HTTP status, the response body and the settlement receipt on stdout, progress (the URL, the
 * price asked, the network and payTo) on stderr. `--help` lists the options and settings.
 *
 * This script only wires the command line (`PayCommand.ts`), the settings from the environment or
 * the stack's `stack.env` (`StackEnv.ts`) and the exit status to `@obol/x402/Buyer`, which does
 * the work. Exit status: 0 on a 2xx answer, 1 otherwise (with the reason), 2 for a usage error.
 */
import { Result } from "effect"
import { readFileSync } from "node:fs"
import * as Buyer from "@obol/x402/Buyer"
import * as PayCommand from "./PayCommand.ts"
import * as StackEnv from "./StackEnv.ts"

const readIfExists = (path: string) => {
  try {
    return readFileSync(path, "utf8")
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error
  }
}

const command = PayCommand.parseArgs(process.argv.slice(2))
if (Result.isFailure(command)) {
  console.error(`pay: ${command.failure.message}\n\n${PayCommand.usage}`)
  process.exit(2)
}
if (command.success._tag === "Help") {
  console.log(PayCommand.usage)
  process.exit(0)
}
const settings = StackEnv.loadSettings(process.env, readIfExists)
if (Result.isFailure(settings)) {
  console.error(`pay: ${settings.failure.message}`)
  process.exit(1)
}
const outcome = await Buyer.run(command.success, settings.success, {
  progress: (line) => console.error(`pay: ${line}`)
})
const report = Buyer.report(outcome)
process.stdout.write(report.stdout)
if (report.failure !== undefined) console.error(`pay: ${report.failure}`)
process.exitCode = report.exitCode
