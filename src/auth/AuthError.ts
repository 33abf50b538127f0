/**
 * Typed errors of the auth layer. Every message says what went wrong and what to do;
 * none ever contains a token, a key or a refresh token.
 *
 * These errors are `Data.TaggedError` classes, not `Schema.TaggedError` classes like the
 * rest of the package's errors, because this module is on the start-up path of every
 * process that only wants a token (Cloud Run cold starts): `effect/Schema` pulls in
 * fast-check and pure-rand for `Arbitrary`. Measured (issue 14, P6, the transpiled tree,
 * 2-core machine): with Schema here and in the metadata client, importing
 * `effect-adc/auth` took 1809 module resolutions (fast-check 674, pure-rand 24) and 443
 * modules, 460-590 ms; without, 1004 resolutions and 187 modules (`effect/Effect` alone
 * is 153), and the CPU time from process start to the first metadata-server token fell
 * from 3.3x google-auth-library's to 1.9x in the same run. The surface is the same:
 * `_tag`, the fields, the `TypeId`, the computed `message`, `toJSON` (the fields, never a
 * secret), structural `Equal` / `Hash`. To encode them or put them in a `Schema.Union`,
 * use `AuthErrorSchema` (not on the auth entry's path). test/auth/startup.test.ts fails if
 * the auth entry points load `effect/Schema` again.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Predicate from "effect/Predicate"

/**
 * @since 0.1.0
 * @category Type IDs
 */
export const TypeId: unique symbol = Symbol.for("effect-adc/AuthError")

/**
 * @since 0.1.0
 * @category Type IDs
 */
export type TypeId = typeof TypeId

/**
 * Is the value one of the auth errors of this module?
 *
 * @since 0.1.0
 * @category Guards
 */
export const isAuthError = (u: unknown): u is AuthError => Predicate.hasProperty(u, TypeId)

/**
 * The endpoint a token request went to.
 *
 * @since 0.1.0
 * @category Models
 */
export const TokenEndpoint = ["metadata", "oauth", "iam", "sts", "external"] as const

/**
 * @since 0.1.0
 * @category Models
 */
export type TokenEndpoint = typeof TokenEndpoint[number]

const endpointName: Record<TokenEndpoint, string> = {
  metadata: "the metadata server",
  oauth: "the OAuth token endpoint",
  iam: "IAM Credentials",
  sts: "the Security Token Service",
  external: "the external credential source"
}

/**
 * Application Default Credentials found nothing, or detection took longer than the
 * configured timeout.
 *
 * @since 0.1.0
 * @category Errors
 */
export class CredentialsNotFound extends Data.TaggedError("CredentialsNotFound")<{
  readonly reason: "NotFound" | "Timeout"
  readonly detail: string
  readonly cause?: unknown
}> {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    const what = this.reason === "Timeout"
      ? `Credential detection did not finish in time (${this.detail}).`
      : `No Application Default Credentials were found (${this.detail}).`
    return `${what} Locally, run \`gcloud auth application-default login\`; elsewhere set ` +
      `GOOGLE_APPLICATION_CREDENTIALS to a credential file, or run on Cloud Run / GCE / GKE ` +
      `where the metadata server provides them. Passing \`projectId\` avoids the gcloud lookup.`
  }
}

/**
 * A credential file or object was found but cannot be used (unreadable, not JSON,
 * missing fields, an unsupported `type`).
 *
 * @since 0.1.0
 * @category Errors
 */
export class CredentialsInvalid extends Data.TaggedError("CredentialsInvalid")<{
  readonly source: string
  readonly detail: string
  /** The JSON field at fault (`private_key`, `source_credentials.client_email`, …), when one is. */
  readonly field?: string | undefined
  readonly cause?: unknown
}> {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `The credentials from ${this.source} cannot be used: ${this.detail}. ` +
      `Check the file (it must be a service_account, authorized_user, impersonated_service_account ` +
      `or external_account JSON) or recreate it with \`gcloud auth application-default login\`.`
  }
}

/**
 * The credential type cannot mint Google-signed ID tokens.
 *
 * @since 0.1.0
 * @category Errors
 */
export class IdTokenUnsupported extends Data.TaggedError("IdTokenUnsupported")<{
  readonly credentialType: string
  readonly detail: string
}> {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `Credentials of type ${this.credentialType} cannot mint ID tokens: ${this.detail}`
  }
}

/**
 * The audience asked for is not an http(s) URL or custom audience Google accepts.
 *
 * @since 0.1.0
 * @category Errors
 */
export class InvalidAudience extends Data.TaggedError("InvalidAudience")<{
  readonly audience: string
  readonly detail: string
}> {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `Invalid ID token audience ${JSON.stringify(this.audience)}: ${this.detail}. ` +
      `Use the Cloud Run service's URL (https://SERVICE-HASH-REGION.a.run.app) or a custom audience ` +
      `configured on the service.`
  }
}

/**
 * The token endpoint could not be reached or did not answer in time.
 *
 * @since 0.1.0
 * @category Errors
 */
export class TokenEndpointUnreachable extends Data.TaggedError("TokenEndpointUnreachable")<{
  readonly endpoint: TokenEndpoint
  readonly reason: "Unreachable" | "Timeout" | "RateLimited"
  readonly detail: string
  /** With `RateLimited`: the server's Retry-After, in milliseconds, when it sent one. */
  readonly retryAfterMillis?: number | undefined
}> {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    const hint = this.endpoint === "metadata"
      ? "Outside Google Cloud there is no metadata server: use gcloud credentials or a key file; " +
        "on Cloud Run it is transient, retry."
      : "Check network access to Google APIs (proxy, firewall, DNS); the request is retried in the background."
    if (this.reason === "RateLimited") {
      const after = this.retryAfterMillis === undefined
        ? ""
        : ` and asked to retry after ${Math.ceil(this.retryAfterMillis / 1000)} s`
      return `${endpointName[this.endpoint]} is rate limiting token requests (${this.detail})${after}. ` +
        `Requests are retried with backoff; too many token requests usually mean tokens are not cached ` +
        `(one AuthService per app).`
    }
    return `${endpointName[this.endpoint]} ${
      this.reason === "Timeout" ? "did not answer in time" : "could not be reached"
    } (${this.detail}). ${hint}`
  }
}

/**
 * The token endpoint answered with an error (Google's error code is kept).
 *
 * @since 0.1.0
 * @category Errors
 */
export class TokenRequestRejected extends Data.TaggedError("TokenRequestRejected")<{
  readonly endpoint: TokenEndpoint
  readonly status?: number | undefined
  readonly code: string
  readonly description: string
}> {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `${endpointName[this.endpoint]} rejected the token request` +
      `${this.status === undefined ? "" : ` with HTTP ${this.status}`}: ${this.code}` +
      `${this.description === "" ? "" : ` (${this.description})`}. ${rejectionHint(this.code)}`
  }
}

const rejectionHint = (code: string): string => {
  switch (code) {
    case "invalid_grant":
      return "The credential is expired, revoked or its clock is off: run " +
        "`gcloud auth application-default login` again, or create a new key, and check the system clock."
    case "invalid_client":
      return "The OAuth client in the credential file is unknown or its secret is wrong: recreate the file."
    case "PERMISSION_DENIED":
    case "IAM_PERMISSION_DENIED":
      return "Grant the caller roles/iam.serviceAccountTokenCreator on the target service account."
    case "UNAUTHENTICATED":
      return "The source credential was not accepted: refresh the source credentials."
    default:
      return "See Google's error code above; fix the credential or its permissions."
  }
}

/**
 * The token endpoint answered, but not with a usable token (wrong shape, no expiry,
 * not a JWT). A token with too little life left is {@link TokenTooShortLived}.
 *
 * @since 0.1.0
 * @category Errors
 */
export class TokenResponseInvalid extends Data.TaggedError("TokenResponseInvalid")<{
  readonly endpoint: TokenEndpoint
  readonly detail: string
}> {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `${endpointName[this.endpoint]} returned an unusable token response: ${this.detail}. ` +
      `This is retried in the background; if it persists, check for a proxy rewriting responses.`
  }
}

/**
 * A token arrived with too little life left to use: already expired, or shorter-lived
 * than the cache's `minLifetime` (default 10 seconds), by this machine's clock. The
 * usual cause for an ID token is a clock that runs ahead of Google's (the token's `exp`
 * is absolute); for an access token (`expires_in` is relative), a token endpoint or
 * proxy that hands out tokens about to expire. Tokens with more life than that but less
 * than the margin are used, with a margin scaled to their lifetime (see TokenCache).
 *
 * @since 0.2.0
 * @category Errors
 */
export class TokenTooShortLived extends Data.TaggedError("TokenTooShortLived")<{
  readonly kind: "access" | "id"
  readonly endpoint?: TokenEndpoint | undefined
  /** Milliseconds of validity left when the token arrived (zero or negative: expired). */
  readonly remainingMillis: number
  /** The smallest remaining life the cache accepts, in milliseconds. */
  readonly minimumMillis: number
  /** For ID tokens: `exp - iat`, the lifetime the issuer gave it, in milliseconds. */
  readonly issuedLifetimeMillis?: number | undefined
}> {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.2.0 */
  override get message(): string {
    const from = this.endpoint === undefined ? "the token source" : endpointName[this.endpoint]
    const left = Math.round(this.remainingMillis / 1000)
    const seen = this.remainingMillis <= 0
      ? `was already expired by this machine's clock (${-left} s ago)`
      : `had ${left} s left by this machine's clock, less than the ${Math.round(this.minimumMillis / 1000)} s minimum`
    const skew = this.issuedLifetimeMillis !== undefined && this.issuedLifetimeMillis > this.remainingMillis + 60_000
      ? ` The issuer gave it ${Math.round(this.issuedLifetimeMillis / 1000)} s, so this machine's clock is about ` +
        `${
          Math.round((this.issuedLifetimeMillis - this.remainingMillis) / 60_000)
        } min ahead of Google's: sync it (NTP).`
      : this.kind === "id"
      ? " If this machine's clock runs ahead of Google's, sync it (NTP)."
      : " Check for a proxy or token broker that hands out tokens about to expire; a machine clock ahead of Google's " +
        "(sync it with NTP) has the same effect on ID tokens."
    return `The ${this.kind === "id" ? "ID" : "access"} token from ${from} ${seen}. It is not used; ` +
      `the next attempt is rate-limited.${skew}`
  }
}

/**
 * A call reached an AuthService (or its token cache) whose scope was closed: the layer
 * was released, so no token can be fetched any more.
 *
 * @since 0.2.0
 * @category Errors
 */
export class AuthServiceClosed extends Data.TaggedError("AuthServiceClosed")<{
  readonly operation: string
}> {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.2.0 */
  override get message(): string {
    return `${this.operation} was called after the AuthService's scope closed (its layer was released). ` +
      `Keep the layer alive for as long as its service is used, or build a new one.`
  }
}

/**
 * The auth configuration (environment variables or options) is malformed.
 *
 * @since 0.1.0
 * @category Errors
 */
export class AuthConfigInvalid extends Data.TaggedError("AuthConfigInvalid")<{
  readonly detail: string
}> {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `The auth configuration is invalid: ${this.detail}. Durations are written like "60 seconds" ` +
      `or "5 minutes"; see docs/auth.md for every variable.`
  }
}

/**
 * What detecting Application Default Credentials can fail with.
 *
 * @since 0.1.0
 * @category Errors
 */
export type DetectError = CredentialsNotFound | CredentialsInvalid

/**
 * What fetching an access token can fail with.
 *
 * @since 0.1.0
 * @category Errors
 */
export type AccessTokenError =
  | TokenEndpointUnreachable
  | TokenRequestRejected
  | TokenResponseInvalid
  | TokenTooShortLived
  | AuthServiceClosed

/**
 * What fetching an ID token can fail with.
 *
 * @since 0.1.0
 * @category Errors
 */
export type IdTokenError = AccessTokenError | IdTokenUnsupported | InvalidAudience

/**
 * Every auth error.
 *
 * @since 0.1.0
 * @category Errors
 */
export type AuthError = DetectError | IdTokenError | AuthConfigInvalid
