/**
 * Where tokens come from: the credential Application Default Credentials resolved, and
 * the two fetches it can make. `AuthService` caches what a source fetches; a source
 * never caches.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { AccessTokenError, IdTokenError, TokenEndpoint } from "./AuthError.js"
import type { AuthToken } from "./AuthToken.js"

/**
 * The kind of credential ADC found.
 *
 * @since 0.1.0
 * @category Models
 */
export type SourceKind =
  | "metadata"
  | "service_account"
  | "authorized_user"
  | "impersonated"
  | "external_account"
  | "external_account_authorized_user"
  | "other"

/**
 * What ADC resolved to, safe to print (no secret in it).
 *
 * @since 0.1.0
 * @category Models
 */
export interface Identity {
  readonly source: SourceKind
  /** Why this source was chosen (an option, an environment variable, a file, the metadata server). */
  readonly origin: string
  /** The service account or user email, when known. */
  readonly principal: string | undefined
  readonly projectId: string | undefined
  /** The quota project named by the credential (`quota_project_id`), if any. */
  readonly quotaProject: string | undefined
  /**
   * How ID tokens work for this source: `requested` (the audience you ask for),
   * `oauth-client` (gcloud user credentials: the audience is the OAuth client id, which
   * Cloud Run accepts for users with run.invoker), or `unsupported` (with the reason).
   */
  readonly idTokens:
    | { readonly audience: "requested" }
    | { readonly audience: "oauth-client"; readonly clientId: string }
    | { readonly audience: "unsupported"; readonly reason: string }
}

/**
 * A resolved credential.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CredentialSource {
  readonly identity: Identity
  /** Fetches a new access token for the sorted, non-empty scopes. */
  readonly fetchAccessToken: (scopes: ReadonlyArray<string>) => Effect.Effect<AuthToken, AccessTokenError>
  /** Fetches a new ID token for a validated audience. */
  readonly fetchIdToken: (audience: string) => Effect.Effect<AuthToken, IdTokenError>
  /** Which endpoint each kind of token comes from, named in errors (for example `TokenTooShortLived`). */
  readonly endpoints?: { readonly access: TokenEndpoint; readonly id: TokenEndpoint } | undefined
}

/**
 * The credential source in use, for code that wants to swap in its own.
 *
 * @since 0.1.0
 * @category Tags
 */
export class CredentialSourceTag extends Context.Tag("effect-adc/CredentialSource")<
  CredentialSourceTag,
  CredentialSource
>() {}
