/**
 * The sidecar proxy, for agents we cannot change (Python ADK + LiteLLM, curl, any
 * language): it listens on loopback and forwards each request to the upstream its path
 * prefix names, adding the right Google token (an ID token for a Cloud Run upstream, an
 * access token for Google APIs), refreshed by AuthService. Bodies stream both ways
 * without buffering (small request bodies are kept so a 401 can be replayed once).
 *
 * It is not an open relay: only configured upstreams, no absolute-URI or CONNECT
 * requests, the caller's `Authorization` is not forwarded unless a route says so, and
 * body and header sizes are bounded.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { createServer } from "node:http"
import { isAuthError } from "../auth/AuthError.js"
import type { AuthService } from "../auth/AuthService.js"
import type { TokenTarget } from "../auth/TokenTarget.js"
import * as AuthHttpClient from "../http/AuthHttpClient.js"
import type { ProxyConfig, Route } from "./ProxyConfig.js"

/** Headers that describe one hop, never forwarded (RFC 9110 7.6.1), plus the ones we set. */
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
  "x-serverless-authorization"
])

/** The token target of a route. */
export const targetOf = (route: Route): TokenTarget => {
  const url = new URL(route.upstream)
  const kind = route.kind ?? (url.hostname.endsWith(".googleapis.com") ? "access" : "id")
  return kind === "access"
    ? { kind: "access", scopes: route.scopes }
    : { kind: "id", audience: route.audience ?? url.origin, header: route.header }
}

/** The route whose prefix matches the path (the longest), on a segment boundary. */
const match = (routes: ReadonlyArray<Route>, path: string): Route | undefined => {
  let best: Route | undefined
  for (const route of routes) {
    const prefix = route.prefix.endsWith("/") ? route.prefix.slice(0, -1) : route.prefix
    const hit = prefix === "" || path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`)
    if (hit && (best === undefined || route.prefix.length > best.prefix.length)) best = route
  }
  return best
}

const problem = (status: number, error: string) => HttpServerResponse.unsafeJson({ error }, { status })

class BodyTooLarge {
  readonly _tag = "BodyTooLarge"
}

/**
 * The proxy as an HttpApp: one signed client per route, built once.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeApp = (config: ProxyConfig) =>
  Effect.gen(function*() {
    const base = yield* HttpClient.HttpClient
    const clients = new Map(config.routes.map((route) => {
      const origin = new URL(route.upstream).origin
      return [route, AuthHttpClient.withAuth(targetOf(route), { origins: [origin] })(base)] as const
    }))

    return Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const url = request.url
      if (!url.startsWith("/")) return problem(400, "absolute-URI requests are not accepted: this is not an open proxy")
      if (url === "/healthz") {
        return HttpServerResponse.unsafeJson({ status: "ok", routes: config.routes.map((r) => r.prefix) })
      }
      const route = match(config.routes, url)
      if (route === undefined) return problem(404, `no route for ${url.split("?")[0]}`)
      const client = clients.get(route)!

      const declared = Number(request.headers["content-length"] ?? Number.NaN)
      if (declared > config.maxBodyBytes) {
        return problem(413, `the request body is larger than ${config.maxBodyBytes} bytes`)
      }
      const rest = url.slice(route.prefix.endsWith("/") ? route.prefix.length - 1 : route.prefix.length)
      const target = `${route.upstream.replace(/\/$/, "")}${rest.startsWith("/") || rest === "" || rest.startsWith("?") ? rest : `/${rest}`}`

      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(request.headers)) {
        if (hopByHop.has(name)) continue
        if (name === "authorization" && route.forwardAuthorization !== true) continue
        headers[name] = value
      }
      let outgoing = HttpClientRequest.make(request.method)(target).pipe(HttpClientRequest.setHeaders(headers))
      const hasBody = request.method !== "GET" && request.method !== "HEAD" &&
        (Number.isFinite(declared) ? declared > 0 : request.headers["transfer-encoding"] !== undefined)
      if (hasBody) {
        const contentType = request.headers["content-type"]
        if (Number.isFinite(declared) && declared <= config.replayBufferBytes) {
          // Small enough to keep: the request can be replayed after a 401.
          const bytes = new Uint8Array(yield* request.arrayBuffer)
          outgoing = HttpClientRequest.bodyUint8Array(outgoing, bytes, contentType)
        } else {
          let seen = 0
          const limited = request.stream.pipe(
            Stream.mapEffect((chunk) => {
              seen += chunk.length
              return seen > config.maxBodyBytes ? Effect.fail(new BodyTooLarge()) : Effect.succeed(chunk)
            })
          )
          outgoing = HttpClientRequest.bodyStream(outgoing, limited, {
            ...(contentType === undefined ? {} : { contentType }),
            ...(Number.isFinite(declared) ? { contentLength: declared } : {})
          })
        }
      }

      const response = yield* client.execute(outgoing)
      const responseHeaders: Record<string, string> = {}
      for (const [name, value] of Object.entries(response.headers)) {
        if (name !== "content-length" && hopByHop.has(name)) continue
        responseHeaders[name] = value
      }
      return HttpServerResponse.stream(response.stream, { status: response.status, headers: responseHeaders })
    }).pipe(
      Effect.catchAll((error) =>
        Effect.succeed(
          isAuthError(error)
            ? problem(502, `no token for the upstream: ${error.message}`)
            : problem(502, "the upstream could not be reached")
        )
      )
    )
  })

/**
 * Starts the proxy in the current scope and returns its URL. Closing the scope stops
 * accepting connections and lets requests in flight finish.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const start = (config: ProxyConfig) =>
  Effect.gen(function*() {
    const server = yield* NodeHttpServer.make(
      () => createServer({ maxHeaderSize: config.maxHeaderBytes }),
      { host: config.host, port: config.port }
    )
    const app = yield* makeApp(config)
    yield* HttpServer.serveEffect(app).pipe(Effect.provideService(HttpServer.HttpServer, server))
    const address = server.address
    const url = address._tag === "TcpAddress"
      ? `http://${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}`
      : `unix:${address.path}`
    return { url }
  })

/**
 * What running the proxy needs.
 *
 * @since 0.1.0
 * @category Models
 */
export type Requirements = AuthService | HttpClient.HttpClient
