/**
 * Minting the two kinds of Google token: opaque access tokens (remembered so
 * IAM and `tokeninfo` can look them up) and RS256 ID tokens signed with the
 * current Google key.
 *
 * @internal
 */
import * as Crypto from "node:crypto"
import { signRs256 } from "./jwt.js"
import type { AccessTokenRecord, Identity, State } from "./state.js"
import { GOOGLE_ISSUER } from "./state.js"

/** @internal */
export interface MintedAccessToken {
  readonly token: string
  readonly expiresAtMs: number
}

/**
 * An opaque `ya29.` token. The emulator keeps the principal and scopes behind it.
 *
 * @internal
 */
export const mintAccessToken = (
  state: State,
  principal: string,
  scopes: ReadonlyArray<string>,
  issuedBy: AccessTokenRecord["issuedBy"],
  lifetimeSeconds: number = state.settings.tokenLifetimeSeconds
): MintedAccessToken => {
  const prefix = issuedBy === "sts" ? "ya29.d." : issuedBy === "oauth" || issuedBy === "iam" ? "ya29.c." : "ya29."
  const token = `${prefix}${Crypto.randomBytes(96).toString("base64url")}`
  const expiresAtMs = state.now() + lifetimeSeconds * 1000
  state.accessTokens.set(token, { principal, scopes, expiresAtMs, issuedBy })
  return { token, expiresAtMs }
}

/** Whole seconds left, never negative (the `expires_in` of token responses). @internal */
export const secondsLeft = (state: State, expiresAtMs: number): number =>
  Math.max(0, Math.round((expiresAtMs - state.now()) / 1000))

/** @internal */
export const lookupAccessToken = (state: State, token: string):
  | { readonly _tag: "Valid"; readonly record: AccessTokenRecord }
  | { readonly _tag: "Expired"; readonly record: AccessTokenRecord }
  | { readonly _tag: "Unknown" } =>
{
  const record = state.accessTokens.get(token)
  if (record === undefined) return { _tag: "Unknown" }
  return record.expiresAtMs <= state.now() ? { _tag: "Expired", record } : { _tag: "Valid", record }
}

const header = (state: State) => ({ alg: "RS256", kid: state.googleKeys[0]!.kid, typ: "JWT" })

/**
 * A service account's ID token, claims in the order Google's tokens carry them
 * (fixtures/metadata/identity-token.jwt: iss, sub, aud, azp, email,
 * email_verified, exp, iat).
 *
 * @internal
 */
export const mintServiceAccountIdToken = (
  state: State,
  account: Identity,
  audience: string,
  options: { readonly includeEmail: boolean; readonly azp: "email" | "uniqueId" }
): string => {
  const iat = Math.floor(state.now() / 1000)
  const payload: Record<string, unknown> = {
    iss: GOOGLE_ISSUER,
    sub: account.uniqueId,
    aud: audience,
    azp: options.azp === "email" ? account.email : account.uniqueId
  }
  if (options.includeEmail) {
    payload["email"] = account.email
    payload["email_verified"] = true
  }
  payload["exp"] = iat + state.settings.tokenLifetimeSeconds
  payload["iat"] = iat
  return signRs256(header(state), payload, state.googleKeys[0]!.privateKey)
}

/**
 * The `id_token` of a user's refresh-token grant: `aud` and `azp` are the OAuth
 * client id, `at_hash` binds it to the access token issued with it. Claim order
 * as in Google's OpenID Connect documentation.
 *
 * @internal
 */
export const mintUserIdToken = (state: State, accessToken: string): string => {
  const iat = Math.floor(state.now() / 1000)
  const digest = Crypto.createHash("sha256").update(accessToken).digest()
  return signRs256(
    header(state),
    {
      iss: GOOGLE_ISSUER,
      azp: state.user.clientId,
      aud: state.user.clientId,
      sub: state.user.uniqueId,
      email: state.user.email,
      email_verified: true,
      at_hash: digest.subarray(0, 16).toString("base64url"),
      iat,
      exp: iat + state.settings.tokenLifetimeSeconds
    },
    state.googleKeys[0]!.privateKey
  )
}

/** RFC 3339 in UTC without fractional seconds, like IAM's `expireTime`. @internal */
export const rfc3339 = (ms: number): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z")
