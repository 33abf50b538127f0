/**
 * Request-body parsing for the token endpoints: form-encoded (what every
 * client sends) or JSON (which Google's token endpoints also accept).
 *
 * @internal
 */
import type * as Http from "node:http"

/** @internal */
export const parseParams = (req: Http.IncomingMessage, body: Buffer): URLSearchParams => {
  const contentType = String(req.headers["content-type"] ?? "").toLowerCase()
  const text = body.toString("utf8")
  if (contentType.includes("application/json")) {
    try {
      const parsed: unknown = JSON.parse(text)
      const params = new URLSearchParams()
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
        for (const [key, value] of Object.entries(parsed)) {
          if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
            params.set(key, String(value))
          }
        }
      }
      return params
    } catch {
      return new URLSearchParams()
    }
  }
  return new URLSearchParams(text)
}

/** Client credentials from `Authorization: Basic` (client_secret_basic), if sent. @internal */
export const basicClient = (
  req: Http.IncomingMessage
): { readonly id: string; readonly secret: string } | undefined => {
  const header = req.headers["authorization"]
  const match = typeof header === "string" ? /^\s*basic\s+(\S+)\s*$/i.exec(header) : null
  if (match === null) return undefined
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  if (colon < 0) return undefined
  return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) }
}
