/**
 * A Google token with its kind and expiry. The value is `Redacted`, so it prints as
 * `<redacted>` in logs, errors and spans.
 *
 * @since 0.1.0
 */
import * as Redacted from "effect/Redacted"

/**
 * An OAuth access token (for Google APIs) or a Google-signed ID token (for Cloud Run
 * and other audiences).
 *
 * @since 0.1.0
 * @category Models
 */
export interface AuthToken {
  readonly kind: "access" | "id"
  readonly value: Redacted.Redacted<string>
  /** Epoch milliseconds at which the token stops being valid. */
  readonly expiresAt: number
  /**
   * Epoch milliseconds at which the issuer says it minted the token (an ID token's
   * `iat`, by the issuer's clock), when known: `expiresAt - issuedAt` is the lifetime it
   * was given, which tells a short-lived token from a clock that runs ahead.
   */
  readonly issuedAt?: number | undefined
}

/**
 * Builds a token.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (kind: AuthToken["kind"], value: string, expiresAt: number, issuedAt?: number): AuthToken =>
  issuedAt === undefined
    ? { kind, value: Redacted.make(value), expiresAt }
    : { kind, value: Redacted.make(value), expiresAt, issuedAt }

/**
 * Do two tokens carry the same secret value? (The metadata server hands back the same
 * access token until shortly before it expires; a refresh that does so is no refresh.)
 *
 * @since 0.1.0
 * @category Predicates
 */
export const sameValue = (a: AuthToken, b: AuthToken): boolean => Redacted.value(a.value) === Redacted.value(b.value)

/**
 * Milliseconds of validity left at `now`.
 *
 * @since 0.1.0
 * @category Getters
 */
export const remainingMillis = (token: AuthToken, now: number): number => token.expiresAt - now
