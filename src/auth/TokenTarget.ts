/**
 * What a request needs a token for: Google APIs (an access token with scopes) or a
 * private service (an ID token for an audience).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { InvalidAudience } from "./AuthError.js"

/**
 * The scope every Google Cloud API accepts.
 *
 * @since 0.1.0
 * @category Constants
 */
export const cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

/**
 * An OAuth access token for Google APIs. `quotaProject` becomes `x-goog-user-project`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface AccessTarget {
  readonly kind: "access"
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly quotaProject?: string | undefined
}

/**
 * A Google-signed ID token for an audience (a Cloud Run URL or a custom audience).
 * `header` lets an app keep `Authorization` for its own API key.
 *
 * @since 0.1.0
 * @category Models
 */
export interface IdTarget {
  readonly kind: "id"
  readonly audience: string
  readonly header?: "Authorization" | "X-Serverless-Authorization" | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export type TokenTarget = AccessTarget | IdTarget

/**
 * An access target.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const access = (options?: Omit<AccessTarget, "kind">): AccessTarget => ({ kind: "access", ...options })

/**
 * An ID-token target.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const id = (audience: string, options?: Omit<IdTarget, "kind" | "audience">): IdTarget => ({
  kind: "id",
  audience,
  ...options
})

/**
 * The scopes of an access target, sorted and de-duplicated (cloud-platform when none).
 *
 * @since 0.1.0
 * @category Getters
 */
export const normalizeScopes = (scopes: ReadonlyArray<string> | undefined): ReadonlyArray<string> =>
  scopes === undefined || scopes.length === 0 ? [cloudPlatformScope] : [...new Set(scopes)].sort()

/**
 * The cache key of a target: one entry per (kind, sorted scopes | audience, quota
 * project). The header an ID token goes in does not change the token.
 *
 * @since 0.1.0
 * @category Getters
 */
export const cacheKey = (target: TokenTarget): string =>
  target.kind === "access"
    ? `access\u0000${normalizeScopes(target.scopes).join(" ")}\u0000${target.quotaProject ?? ""}`
    : `id\u0000${target.audience}`

const loopbackHosts = new Set(["localhost", "127.0.0.1", "[::1]"])

/**
 * Checks an ID-token audience: an https URL (http only for loopback, for local
 * emulators), or a custom audience without whitespace. Google rejects the rest.
 *
 * @since 0.1.0
 * @category Validation
 */
export const validateAudience = (audience: string): Effect.Effect<string, InvalidAudience> => {
  if (audience.length === 0) {
    return Effect.fail(new InvalidAudience({ audience, detail: "it is empty" }))
  }
  if (audience.length > 2048 || /\s/.test(audience)) {
    return Effect.fail(new InvalidAudience({ audience, detail: "it contains whitespace or is too long" }))
  }
  if (!audience.includes("://")) return Effect.succeed(audience)
  let url: URL
  try {
    url = new URL(audience)
  } catch {
    return Effect.fail(new InvalidAudience({ audience, detail: "it looks like a URL but does not parse" }))
  }
  if (url.protocol === "https:") return Effect.succeed(audience)
  if (url.protocol === "http:" && loopbackHosts.has(url.hostname)) return Effect.succeed(audience)
  return Effect.fail(
    new InvalidAudience({ audience, detail: `the ${url.protocol} scheme is not accepted (use https)` })
  )
}
