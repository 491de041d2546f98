/**
 * `npm run pay`'s command line: the arguments to the request to pay for, or a usage error.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import * as PayCommand from "../../src/cli/PayCommand.ts"

const parsed = (argv: ReadonlyArray<string>) => {
  const result = PayCommand.parseArgs(argv)
  if (Result.isFailure(result)) throw new Error(`expected success, got ${result.failure.message}`)
  return result.success
}
const usageError = (argv: ReadonlyArray<string>) => {
  const result = PayCommand.parseArgs(argv)
  if (Result.isSuccess(result)) throw new Error(`expected a usage error for ${argv.join(" ")}`)
  return result.failure.message
}

describe("parseArgs", () => {
  it("takes one http(s) URL; GET by default", () => {
    const command = parsed(["https://seller.example/services/weather?x=1"])
    expect(command).toMatchObject({ _tag: "Pay", method: "GET", headers: [] })
    expect(command._tag === "Pay" && command.url.href).toBe("https://seller.example/services/weather?x=1")
    expect(command).not.toHaveProperty("data")
    expect(command).not.toHaveProperty("max")
  })

  it("reads --method, --data (POST by default), repeated -H and --max, in either --opt value or --opt=value form", () => {
    expect(
      parsed(["--data", "{}", "-H", "Content-Type: application/json", "-H", "X-A:b:c", "--max=0.01", "http://h/x"])
    ).toMatchObject({
      method: "POST",
      data: "{}",
      headers: [
        ["Content-Type", "application/json"],
        ["X-A", "b:c"]
      ],
      max: "0.01"
    })
    expect(parsed(["-X", "put", "-d", "a=1", "http://h/x"])).toMatchObject({ method: "PUT", data: "a=1" })
    expect(parsed(["--method=DELETE", "http://h/x"])).toMatchObject({ method: "DELETE" })
  })

  it("answers --help", () => {
    expect(parsed(["--help"])).toEqual({ _tag: "Help" })
  })

  it("refuses a missing, extra or non-http(s) URL", () => {
    expect(usageError([])).toMatch(/URL to pay for is missing/)
    expect(usageError(["http://a/", "http://b/"])).toMatch(/expected one URL, got 2/)
    expect(usageError(["ftp://h/x"])).toMatch(/not an http:\/\/ or https:\/\/ URL/)
    expect(usageError(["seller.example/x"])).toMatch(/is not a URL/)
  })

  it("refuses bad headers, a body on GET, a malformed --max, and unknown options", () => {
    expect(usageError(["-H", "NoColon", "http://h/x"])).toMatch(/'Name: value'/)
    expect(usageError(["-H", ": empty name", "http://h/x"])).toMatch(/'Name: value'/)
    expect(usageError(["--method", "GET", "--data", "x", "http://h/x"])).toMatch(/cannot carry --data/)
    expect(usageError(["--method", "BAD METHOD", "http://h/x"])).toMatch(/not an HTTP method/)
    for (const max of ["1e-3", "-1", ".5", "0,01", "$1", "abc"]) {
      expect(usageError([`--max=${max}`, "http://h/x"]), max).toMatch(/not a plain decimal/)
    }
    expect(usageError(["--nope", "http://h/x"])).toMatch(/nope/)
  })

  it("accepts a --max finer than any asset at parse time (checked against the asset's decimals later)", () => {
    expect(parsed(["--max", "0.0000001", "http://h/x"])).toMatchObject({ max: "0.0000001" })
  })
})
