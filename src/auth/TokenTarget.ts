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
 * What is wrong with an ID-token audience, if anything: Google accepts an https URL
 * (http only for loopback, for local emulators) or a custom audience without
 * whitespace.
 *
 * @since 0.1.0
 * @category Validation
 */
export const audienceProblem = (audience: string): string | undefined => {
  if (audience.length === 0) return "it is empty"
  if (audience.length > 2048 || /\s/.test(audience)) return "it contains whitespace or is too long"
  if (!audience.includes("://")) return undefined
  let url: URL
  try {
    url = new URL(audience)
  } catch {
    return "it looks like a URL but does not parse"
  }
  if (url.protocol === "https:") return undefined
  if (url.protocol === "http:" && loopbackHosts.has(url.hostname)) return undefined
  return `the ${url.protocol} scheme is not accepted (use https)`
}

/**
 * Checks an ID-token audience (see {@link audienceProblem}).
 *
 * @since 0.1.0
 * @category Validation
 */
export const validateAudience = (audience: string): Effect.Effect<string, InvalidAudience> => {
  const detail = audienceProblem(audience)
  return detail === undefined ? Effect.succeed(audience) : Effect.fail(new InvalidAudience({ audience, detail }))
}
