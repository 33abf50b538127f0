/**
 * The metadata server of a "Cloud Run instance" (GCE-style paths under
 * `/computeMetadata/v1`). Answers what gcp-metadata and google-auth-library
 * ask: the `isAvailable()` probe (`GET /computeMetadata/v1/instance`, a 301 to
 * the directory), project ids, the service-account directory, `token` and
 * `identity`.
 *
 * @internal
 */
import type * as Http from "node:http"
import type { Endpoint } from "../Emulator.js"
import type { ControlPlane } from "./controls.js"
import { googleRobotHtml } from "./googleErrors.js"
import { requestUrl, safeDecode, send } from "./http.js"
import type { State } from "./state.js"
import { CLOUD_PLATFORM_SCOPE } from "./state.js"
import { mintAccessToken, mintServiceAccountIdToken, secondsLeft } from "./tokens.js"

const BASE = "/computeMetadata/v1"

/** Scopes of the instance's service account. @internal */
export const INSTANCE_SCOPES: ReadonlyArray<string> = [
  CLOUD_PLATFORM_SCOPE,
  "https://www.googleapis.com/auth/userinfo.email"
]

const flavorHeaders = {
  "Metadata-Flavor": "Google",
  "Server": "Metadata Server for VM",
  "X-XSS-Protection": "0",
  "X-Frame-Options": "SAMEORIGIN"
} as const

const text = (res: Http.ServerResponse, body: string, contentType = "application/text") =>
  send(res, 200, { ...flavorHeaders, "Content-Type": contentType }, body)

const json = (res: Http.ServerResponse, body: unknown) =>
  send(res, 200, { ...flavorHeaders, "Content-Type": "application/json" }, JSON.stringify(body))

const notFound = (res: Http.ServerResponse, path: string) =>
  send(res, 404, { ...flavorHeaders, "Content-Type": "text/html; charset=UTF-8" }, googleRobotHtml(404, path))

/** A directory node: children by name; `undefined` values are dynamic leaves. */
type Node = { readonly [name: string]: Node | string | number | ReadonlyArray<string> | undefined }

const camel = (name: string) =>
  /^[a-z0-9-]+$/.test(name) ? name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) : name

const isDir = (node: Node[string]): node is Node => typeof node === "object" && node !== null && !Array.isArray(node)

const leafText = (value: string | number | ReadonlyArray<string>): string =>
  Array.isArray(value) ? value.map((v) => `${v}\n`).join("") : String(value)

const recursiveJson = (node: Node): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [name, child] of Object.entries(node)) {
    if (child === undefined) continue
    out[camel(name)] = isDir(child) ? recursiveJson(child) : child
  }
  return out
}

const listing = (node: Node): string =>
  Object.keys(node)
    .sort()
    .map((name) => (isDir(node[name]) ? `${name}/\n` : `${name}\n`))
    .join("")

const tree = (state: State): Node => {
  const account: Node = {
    aliases: ["default"],
    email: state.serviceAccount.email,
    identity: undefined,
    scopes: INSTANCE_SCOPES,
    token: undefined
  }
  return {
    instance: {
      id: state.serviceAccount.uniqueId.padEnd(40, "0"),
      region: `projects/${state.projectNumber}/regions/us-central1`,
      zone: `projects/${state.projectNumber}/zones/us-central1-1`,
      "service-accounts": { default: account, [state.serviceAccount.email]: account }
    },
    project: {
      "numeric-project-id": Number(state.projectNumber),
      "project-id": state.projectId
    },
    universe: { "universe-domain": "googleapis.com" }
  }
}

const endpointOf = (path: string): Endpoint => {
  const match = /^\/computeMetadata\/v1\/instance\/service-accounts\/[^/]+\/(token|identity)$/.exec(path)
  return match?.[1] === "token" ? "metadata.token" : match?.[1] === "identity" ? "metadata.identity" : "metadata.other"
}

const header = (req: Http.IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** @internal */
export const makeMetadataHandler =
  (state: State, plane: ControlPlane) => async (req: Http.IncomingMessage, res: Http.ServerResponse): Promise<void> => {
    const url = requestUrl(req)
    const path = url.pathname
    const endpoint = endpointOf(path)
    if (!(await plane.gate(endpoint, req, res))) return

    if (req.headers["x-forwarded-for"] !== undefined) {
      // The metadata server refuses anything that passed through a proxy.
      plane.record(endpoint, undefined, "rejected: X-Forwarded-For")
      return send(
        res,
        403,
        { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" },
        "Metadata Server encountered an error: Forbidden: request contains the X-Forwarded-For header\n"
      )
    }
    const flavor = header(req, "metadata-flavor")
    const legacy = header(req, "x-google-metadata-request")
    if (flavor !== "Google" && legacy?.toLowerCase() !== "true") {
      plane.record(endpoint, undefined, "rejected: missing Metadata-Flavor")
      // byte for byte fixtures/metadata/error-403-missing-metadata-flavor-gke.json
      return send(
        res,
        403,
        { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" },
        "GKE Metadata Server encountered an error: Missing required header \"Metadata-Flavor\": \"Google\"\n"
      )
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      plane.record(endpoint, undefined, `rejected: method ${req.method}`)
      return send(
        res,
        405,
        { ...flavorHeaders, "Content-Type": "text/html; charset=UTF-8", "Allow": "GET, HEAD" },
        googleRobotHtml(405, path, req.method)
      )
    }
    if (path === "/") {
      plane.record(endpoint, undefined, "/")
      return text(res, "computeMetadata/\n")
    }
    if (path !== BASE && !path.startsWith(`${BASE}/`)) {
      plane.record(endpoint, undefined, path)
      return notFound(res, path)
    }

    const segments = path.slice(BASE.length).split("/").filter((s) => s.length > 0)
    const trailingSlash = path.endsWith("/")
    const recursive = url.searchParams.get("recursive")?.toLowerCase() === "true"
    const alt = url.searchParams.get("alt")

    // dynamic leaves: service-accounts/{account}/token and /identity
    if (segments.length === 4 && segments[0] === "instance" && segments[1] === "service-accounts" && !trailingSlash) {
      const account = segments[2]!
      const leaf = segments[3]
      const known = account === "default" || account === state.serviceAccount.email
      if (known && leaf === "token") return token(state, plane, res, url)
      if (known && leaf === "identity") return identity(state, plane, res, url)
    }

    let node: Node[string] = tree(state)
    for (const segment of segments) {
      const name = safeDecode(segment)
      node = isDir(node) && name !== undefined ? node[name] : undefined
      if (node === undefined) {
        plane.record(endpoint, undefined, path)
        return notFound(res, path)
      }
    }
    plane.record(endpoint, undefined, path)
    if (isDir(node)) {
      if (!trailingSlash) {
        // GCE answers a directory without its slash with a redirect
        const location = `http://${header(req, "host") ?? "metadata.google.internal"}${path}/${url.search}`
        return send(res, 301, { ...flavorHeaders, "Content-Type": "text/html", "Location": location }, `${path}/\n`)
      }
      if (recursive) {
        return alt === "text" ? text(res, listing(node)) : json(res, recursiveJson(node))
      }
      return text(res, listing(node))
    }
    if (trailingSlash) return notFound(res, path)
    return alt === "json" ? json(res, node) : text(res, leafText(node))
  }

const token = (state: State, plane: ControlPlane, res: Http.ServerResponse, url: URL) => {
  const requested = url.searchParams.get("scopes")
  const scopes = requested === null || requested.trim() === ""
    ? INSTANCE_SCOPES
    : requested.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
  const key = [...scopes].sort().join(" ")
  const cached = state.metadataTokens.get(key)
  const reuse = cached !== undefined &&
    cached.expiresAtMs - state.now() > state.settings.metadataReuseWindowSeconds * 1000
  const current = reuse ? cached : mintAccessToken(state, state.serviceAccount.email, scopes, "metadata")
  if (!reuse) state.metadataTokens.set(key, current)
  plane.record("metadata.token", state.serviceAccount.email, `scopes=${scopes.join(",")}${reuse ? " (reused)" : ""}`)
  // key order as fixtures/metadata/token.json
  return json(res, {
    access_token: current.token,
    expires_in: secondsLeft(state, current.expiresAtMs),
    token_type: "Bearer"
  })
}

const identity = (state: State, plane: ControlPlane, res: Http.ServerResponse, url: URL) => {
  const audience = url.searchParams.get("audience")
  if (audience === null || audience.trim() === "") {
    plane.record("metadata.identity", state.serviceAccount.email, "rejected: no audience")
    return send(
      res,
      400,
      { ...flavorHeaders, "Content-Type": "text/plain; charset=utf-8" },
      "non-empty audience parameter required\n"
    )
  }
  const full = url.searchParams.get("format") === "full"
  plane.record(
    "metadata.identity",
    state.serviceAccount.email,
    `audience=${audience} format=${full ? "full" : "standard"}`
  )
  return text(
    res,
    mintServiceAccountIdToken(state, state.serviceAccount, audience, {
      includeEmail: full,
      azp: full ? "email" : "uniqueId"
    }),
    "text/plain; charset=utf-8"
  )
}
