/**
 * Routes compiled once at start: the token target, the upstream's connection details
 * and its keep-alive agent, so that a request only matches a prefix and builds a path.
 *
 * @internal
 */
import * as Http from "node:http"
import * as Https from "node:https"
import type { TokenTarget } from "../../auth/TokenTarget.js"
import { isGoogleAccessHost } from "../../http/internal/origin.js"
import type { Route } from "../ProxyConfig.js"

/** The agents upstream connections are pooled in (keep-alive). @internal */
export interface Agents {
  readonly http: Http.Agent
  readonly https: Https.Agent
}

/** @internal */
export interface CompiledRoute {
  readonly prefix: string
  /** How many characters of a matching URL the prefix takes. */
  readonly cut: number
  readonly target: TokenTarget
  readonly forwardAuthorization: boolean
  readonly request: typeof Http.request
  readonly agent: Http.Agent
  readonly protocol: "http:" | "https:"
  /** For the socket: `[::1]` becomes `::1`. */
  readonly hostname: string
  readonly port: number
  /** The `Host` header: `host[:port]` as in the URL. */
  readonly host: string
  /** The upstream URL's path without its trailing slash (`""` for the root). */
  readonly basePath: string
}

/** The token target of a route. @internal */
export const targetOf = (route: Route): TokenTarget => {
  const url = new URL(route.upstream)
  const kind = route.kind ?? (isGoogleAccessHost(url.hostname) ? "access" : "id")
  return kind === "access"
    ? { kind: "access", scopes: route.scopes }
    : { kind: "id", audience: route.audience ?? url.origin, header: route.header }
}

/** @internal */
export const compile = (route: Route, agents: Agents): CompiledRoute => {
  const url = new URL(route.upstream)
  const secure = url.protocol === "https:"
  const prefix = route.prefix
  return {
    prefix,
    cut: prefix.endsWith("/") ? prefix.length - 1 : prefix.length,
    target: targetOf(route),
    forwardAuthorization: route.forwardAuthorization === true,
    request: secure ? Https.request : Http.request,
    agent: secure ? agents.https : agents.http,
    protocol: secure ? "https:" : "http:",
    hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
    host: url.host,
    basePath: url.pathname.replace(/\/+$/, "")
  }
}
