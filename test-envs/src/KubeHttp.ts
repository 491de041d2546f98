/**
 * A minimal HTTPS client for a test control plane, authenticated with the admin client
 * certificate. The harness uses it for readiness and discovery checks and tests use it for raw
 * API calls; it is deliberately not the project's Kubernetes client (`@obol/kube`), so the
 * harness can check that client instead of depending on it.
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import { readFileSync } from "node:fs"
import { Agent, request } from "node:https"

/**
 * @category errors
 */
export class RequestFailed extends Data.TaggedError("RequestFailed")<{
  readonly method: string
  readonly path: string
  readonly cause: string
}> {
  override get message() {
    return `${this.method} ${this.path}: ${this.cause}`
  }
}

/**
 * @category models
 */
export interface Response {
  readonly status: number
  readonly body: string
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: any
}

/**
 * @category models
 */
export interface KubeHttp {
  readonly server: string
  readonly request: (
    method: string,
    path: string,
    body?: unknown,
    contentType?: string
  ) => Effect.Effect<Response, RequestFailed>
}

/**
 * @category constructors
 */
export const make = (options: {
  readonly server: string
  readonly caFile: string
  readonly certFile: string
  readonly keyFile: string
}): KubeHttp => {
  const agent = new Agent({
    ca: readFileSync(options.caFile),
    cert: readFileSync(options.certFile),
    key: readFileSync(options.keyFile),
    keepAlive: true
  })
  const url = new URL(options.server)
  return {
    server: options.server,
    request: (method, path, body, contentType = "application/json") =>
      Effect.callback<Response, RequestFailed>((resume) => {
        const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body)
        const req = request(
          {
            agent,
            hostname: url.hostname,
            port: url.port,
            method,
            path,
            headers: {
              accept: "application/json",
              ...(payload === undefined
                ? {}
                : { "content-type": contentType, "content-length": Buffer.byteLength(payload) })
            },
            timeout: 30_000
          },
          (res) => {
            let text = ""
            res.setEncoding("utf8")
            res.on("data", (chunk: string) => (text += chunk))
            res.on("end", () => {
              let json: unknown
              try {
                json = JSON.parse(text)
              } catch {
                json = undefined
              }
              resume(Effect.succeed({ status: res.statusCode ?? 0, body: text, json }))
            })
          }
        )
        req.on("timeout", () => req.destroy(new Error("timed out after 30s")))
        req.on("error", (error) => resume(Effect.fail(new RequestFailed({ method, path, cause: error.message }))))
        if (payload !== undefined) req.write(payload)
        req.end()
        return Effect.sync(() => req.destroy())
      })
  }
}
