/** @internal */
import { scrub } from "../../internal/scrub.js"
import {
  type AccessTokenError,
  type TokenEndpoint,
  TokenEndpointUnreachable,
  TokenRequestRejected,
  TokenResponseInvalid
} from "../AuthError.js"

/**
 * Scrubs text from a library or a token endpoint with the one scrubber, capped at 500
 * characters, before it goes into an auth error.
 *
 * @internal
 */
export const scrubDetail = (text: string): string => scrub(text, 500)

interface ResponseLike {
  readonly status?: unknown
  readonly data?: unknown
}

const transportCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT"
])

const errorCode = (u: unknown): string | undefined => {
  let current: unknown = u
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === "string") return code
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

const parseBody = (data: unknown): unknown => {
  if (typeof data !== "string") return data
  try {
    return JSON.parse(data)
  } catch {
    return data
  }
}

/**
 * Translates what google-auth-library / gaxios threw into our error, once. Google's
 * error code is kept (`invalid_grant`, `PERMISSION_DENIED`, ...); the raw error is not,
 * because gaxios errors carry request headers.
 *
 * @internal
 */
export const fromLibraryError = (endpoint: TokenEndpoint, error: unknown): AccessTokenError => {
  const response = typeof error === "object" && error !== null
    ? (error as { response?: ResponseLike }).response
    : undefined
  if (response !== undefined && typeof response.status === "number") {
    const status = response.status
    const body = parseBody(response.data)
    if (typeof body === "object" && body !== null) {
      const record = body as Record<string, unknown>
      if (typeof record["error"] === "string") {
        return new TokenRequestRejected({
          endpoint,
          status,
          code: record["error"],
          description: scrubDetail(typeof record["error_description"] === "string" ? record["error_description"] : "")
        })
      }
      if (typeof record["error"] === "object" && record["error"] !== null) {
        const inner = record["error"] as Record<string, unknown>
        const reason = Array.isArray(inner["details"])
          ? inner["details"].map((d) => (d as Record<string, unknown>)?.["reason"]).find((r) => typeof r === "string")
          : undefined
        return new TokenRequestRejected({
          endpoint,
          status,
          code: typeof inner["status"] === "string" ? inner["status"] : String(reason ?? status),
          description: scrubDetail(typeof inner["message"] === "string" ? inner["message"] : "")
        })
      }
    }
    if (status >= 500 || status === 429) {
      return new TokenEndpointUnreachable({ endpoint, reason: "Unreachable", detail: `HTTP ${status}` })
    }
    return new TokenRequestRejected({
      endpoint,
      status,
      code: `HTTP_${status}`,
      description: scrubDetail(typeof body === "string" ? body.trim() : "")
    })
  }
  const code = errorCode(error)
  const message = error instanceof Error ? error.message : String(error)
  if (code !== undefined && transportCodes.has(code)) {
    return new TokenEndpointUnreachable({ endpoint, reason: "Unreachable", detail: code })
  }
  if (code === "ETIMEDOUT" || /timeout|timed out|aborted/i.test(message)) {
    return new TokenEndpointUnreachable({ endpoint, reason: "Timeout", detail: scrubDetail(message) })
  }
  if (/fetch failed|socket hang up|network/i.test(message)) {
    return new TokenEndpointUnreachable({ endpoint, reason: "Unreachable", detail: scrubDetail(message) })
  }
  return new TokenResponseInvalid({ endpoint, detail: scrubDetail(message) })
}
