/**
 * The one rule for "may this URL receive the token" and the one redirect rule, shared
 * by the HttpClient middleware and the signing `fetch`: every hop of every request is
 * judged here, so origin confinement holds in one place.
 *
 * @internal
 */
import * as AuthToken from "../../auth/AuthToken.js"
import type { TokenTarget } from "../../auth/TokenTarget.js"
import { stripBearer } from "../../internal/bearer.js"

/** @internal */
export const parseUrl = (url: string | URL, base?: string | URL): URL | undefined => {
  try {
    return new URL(url, base)
  } catch {
    return undefined
  }
}

const originOf = (url: string): string | undefined => parseUrl(url)?.origin

/**
 * Loopback hosts: `localhost`, 127.0.0.0/8 and `::1`. Plain http is allowed only there
 * (local emulators and sidecars).
 *
 * @internal
 */
export const isLoopback = (hostname: string): boolean =>
  hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)

/** https anywhere, http only to loopback, nothing else. @internal */
export const secureTransport = (url: URL): boolean =>
  url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname))

/**
 * One DNS label as Google's dedicated endpoint names use it: lower-case letters, digits
 * and inner hyphens (the URL parser has already lower-cased and punycoded the host).
 */
const label = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"

/**
 * A Vertex AI dedicated endpoint's host, exactly as `Endpoint.dedicatedEndpointDns`
 * documents it: `{endpoint_id}.{region}-{uid}.prediction.vertexai.goog` (Model Garden
 * dedicated public endpoints, and the names Private Service Connect private endpoints
 * take in a private DNS zone). Two labels before the Google-owned suffix, nothing else:
 * not the suffix itself, not a deeper or shallower name, no trailing dot.
 *
 * @internal
 */
export const dedicatedEndpointHost: RegExp = new RegExp(`^${label}\\.${label}\\.prediction\\.vertexai\\.goog$`)

/**
 * Is `hostname` (as `URL.hostname` gives it) one of the Google-owned hosts an access
 * token goes to without configuration? `googleapis.com` and every `*.googleapis.com`
 * (the regional `{region}-aiplatform`, the global `aiplatform`, the multi-region
 * `aiplatform.{us,eu}.rep`, Private Service Connect's `*.p.googleapis.com`, the Gemini
 * API's `generativelanguage`), and the dedicated endpoints {@link dedicatedEndpointHost}.
 * A trailing dot (`aiplatform.googleapis.com.`) does not match: configure it in
 * `origins` if you really need it.
 *
 * @internal
 */
export const isGoogleAccessHost = (hostname: string): boolean =>
  hostname === "googleapis.com" || hostname.endsWith(".googleapis.com") || dedicatedEndpointHost.test(hostname)

/** @internal */
export interface OriginOptions {
  readonly origins?: ReadonlyArray<string> | undefined
}

/**
 * The origin rule for `target` and `options`, compiled once: the audience and the extra
 * `origins` are parsed here, so judging a URL parses only that URL. Never with userinfo
 * in the URL, never over plain http except to loopback; then access tokens go to
 * `https://*.googleapis.com` and `https://{id}.{region}-{n}.prediction.vertexai.goog`
 * ({@link isGoogleAccessHost}), ID tokens to their URL audience's origin, both to the
 * extra `origins`.
 *
 * @internal
 */
export const receiver = (target: TokenTarget, options: OriginOptions = {}): (url: string | URL) => boolean => {
  const extra = new Set(options.origins?.flatMap((origin) => originOf(origin) ?? []))
  const audienceOrigin = target.kind === "id" ? originOf(target.audience) : undefined
  return (url) => {
    const parsed = typeof url === "string" ? parseUrl(url) : url
    if (parsed === undefined) return false
    if (parsed.username !== "" || parsed.password !== "") return false
    if (!secureTransport(parsed)) return false
    if (extra.has(parsed.origin)) return true
    if (target.kind === "access") {
      return parsed.protocol === "https:" && isGoogleAccessHost(parsed.hostname)
    }
    return audienceOrigin !== undefined && audienceOrigin === parsed.origin
  }
}

/**
 * May a token for `target` be sent to `url`? The rule of {@link receiver}, for one URL.
 *
 * @internal
 */
export const mayReceive = (target: TokenTarget, url: string | URL, options: OriginOptions = {}): boolean =>
  receiver(target, options)(url)

/** @internal */
export const redirectStatuses: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])

/** The next hop of a redirect, as fetch and undici compute it. @internal */
export interface NextHop<M extends string> {
  readonly url: URL
  readonly method: M | "GET"
  /** The body is dropped (and the headers that describe it): the request became a GET. */
  readonly dropBody: boolean
}

/**
 * Where a redirect response leads, or `undefined` when it is not one to follow (no
 * `Location`, an unparsable one, a non-redirect status, or a 307/308 whose body cannot
 * be sent again). 301/302 turn a POST into a GET without body, 303 turns anything but
 * HEAD into a GET, 307/308 keep method and body.
 *
 * @internal
 */
export const nextHop = <M extends string>(
  status: number,
  location: string | null | undefined,
  current: string | URL,
  method: M,
  bodyReplayable: boolean
): NextHop<M> | undefined => {
  if (!redirectStatuses.has(status) || location === null || location === undefined) return undefined
  const url = parseUrl(location, current)
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) return undefined
  // `method` is upper case (fetch normalises it, HttpClientRequest's type says so).
  if ((status === 303 && method !== "HEAD") || ((status === 301 || status === 302) && method === "POST")) {
    return { url, method: "GET", dropBody: true }
  }
  return bodyReplayable ? { url, method, dropBody: false } : undefined
}

/** Headers that describe a body, dropped when a redirect turns the request into a GET. @internal */
export const bodyHeaders: ReadonlyArray<string> = [
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-location"
]

/**
 * Credentials of the caller's own dropped when a redirect leaves the origin: what fetch
 * drops, plus Cloud Run's token header (fetch does not know it).
 *
 * @internal
 */
export const crossOriginHeaders: ReadonlyArray<string> = [
  "authorization",
  "x-serverless-authorization",
  "proxy-authorization",
  "cookie"
]

/**
 * The names of the headers a target's token travels in (lower case): the token header,
 * and for access tokens the quota project header.
 *
 * @internal
 */
export const tokenHeaderNames = (target: TokenTarget): ReadonlyArray<string> =>
  target.kind === "id"
    ? [target.header === "X-Serverless-Authorization" ? "x-serverless-authorization" : "authorization"]
    : ["authorization", "x-goog-user-project"]

/** The header the token itself goes in. @internal */
export const tokenHeader = (target: TokenTarget): "authorization" | "x-serverless-authorization" =>
  target.kind === "id" && target.header === "X-Serverless-Authorization"
    ? "x-serverless-authorization"
    : "authorization"

/**
 * The token a signed request carried in `headers`, as the cache knows it (value only):
 * what a 401 hands to `invalidate` so only that token is dropped.
 *
 * @internal
 */
export const sentToken = (
  target: TokenTarget,
  headers: Readonly<Record<string, string>>
): AuthToken.AuthToken | undefined => {
  const value = headers[tokenHeader(target)]
  return value === undefined ? undefined : AuthToken.make(target.kind, stripBearer(value), 0)
}
