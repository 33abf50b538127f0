/**
 * `https://oauth2.googleapis.com/token` (JWT-bearer and refresh-token grants)
 * and `/tokeninfo`.
 *
 * @internal
 */
import type * as Http from "node:http"
import type { ControlPlane } from "./controls.js"
import { basicClient, parseParams } from "./forms.js"
import { legacyOauthErrorBody, oauthErrorBody, oauthJsonHeaders } from "./googleErrors.js"
import { send } from "./http.js"
import * as Jwt from "./jwt.js"
import type { State } from "./state.js"
import { GCLOUD_ADC_SCOPES } from "./state.js"
import {
  lookupAccessToken,
  mintAccessToken,
  mintServiceAccountIdToken,
  mintUserIdToken,
  secondsLeft
} from "./tokens.js"

/** The `aud` gtoken puts in its assertion, and the older token URLs Google still accepts. @internal */
export const TOKEN_AUDIENCES: ReadonlyArray<string> = [
  "https://oauth2.googleapis.com/token",
  "https://www.googleapis.com/oauth2/v4/token",
  "https://accounts.google.com/o/oauth2/token"
]

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"

/** Seconds of clock difference tolerated on an assertion's `iat` / `exp`. @internal */
export const ASSERTION_SKEW_SECONDS = 300

/** fixtures/oauth/error-invalid-grant-jwt-timeframe-legacy.json (description text) */
const TIMEFRAME =
  "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values and use a clock with skew to account for clock differences between systems."

/** The legacy token URL, `https://accounts.google.com/o/oauth2/token`, formats its errors the old way. */
const LEGACY_PATH = "/o/oauth2/token"

const error = (res: Http.ServerResponse, status: number, code: string, description?: string) =>
  send(
    res,
    status,
    oauthJsonHeaders,
    (res.req.url?.split("?")[0] === LEGACY_PATH ? legacyOauthErrorBody : oauthErrorBody)(code, description)
  )

/** Success bodies are pretty-printed with two spaces and end with a newline (fixtures/oauth/token-response-id-token-only.json). */
const ok = (res: Http.ServerResponse, body: unknown) =>
  send(res, 200, oauthJsonHeaders, JSON.stringify(body, null, 2) + "\n")

/** @internal */
export const handleToken = (
  state: State,
  plane: ControlPlane,
  req: Http.IncomingMessage,
  res: Http.ServerResponse,
  body: Buffer
): void => {
  const params = parseParams(req, body)
  const grantType = params.get("grant_type") ?? ""
  if (grantType === JWT_BEARER) return jwtBearer(state, plane, res, params)
  if (grantType === "refresh_token") return refreshGrant(state, plane, req, res, params)
  plane.record("oauth.token", undefined, `rejected: grant_type=${grantType}`)
  return error(res, 400, "unsupported_grant_type", `Invalid grant_type: ${grantType}`)
}

const jwtBearer = (state: State, plane: ControlPlane, res: Http.ServerResponse, params: URLSearchParams): void => {
  const reject = (status: number, code: string, description: string, principal?: string) => {
    plane.record("oauth.token", principal, `rejected: ${description}`)
    return error(res, status, code, description)
  }
  const assertion = params.get("assertion")
  if (assertion === null || assertion === "") {
    return reject(400, "invalid_request", "Missing required parameter: assertion")
  }
  const jwt = Jwt.decode(assertion)
  if (jwt === undefined) return reject(400, "invalid_grant", "Invalid JWT Signature.")
  const iss = Jwt.stringClaim(jwt, "iss")
  const account = state.serviceAccount
  if (iss !== account.email) return reject(400, "invalid_grant", "Invalid grant: account not found")
  const kid = Jwt.stringHeader(jwt, "kid")
  if ((kid !== undefined && kid !== account.key.kid) || !Jwt.verifyRs256(jwt, account.key.publicKey)) {
    return reject(400, "invalid_grant", "Invalid JWT Signature.", iss)
  }
  const aud = Jwt.stringClaim(jwt, "aud")
  if (aud === undefined || !TOKEN_AUDIENCES.includes(aud)) {
    return reject(
      400,
      "invalid_grant",
      "Invalid JWT: Failed audience check. The right audience is https://oauth2.googleapis.com/token",
      iss
    )
  }
  const iat = Jwt.numberClaim(jwt, "iat")
  const exp = Jwt.numberClaim(jwt, "exp")
  const now = state.now() / 1000
  if (
    iat === undefined || exp === undefined || exp <= iat || exp - iat > 3600 ||
    iat > now + ASSERTION_SKEW_SECONDS || exp < now - ASSERTION_SKEW_SECONDS
  ) return reject(400, "invalid_grant", TIMEFRAME, iss)
  const sub = Jwt.stringClaim(jwt, "sub")
  if (sub !== undefined && sub !== iss) {
    return reject(
      401,
      "unauthorized_client",
      "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
      iss
    )
  }
  const targetAudience = Jwt.stringClaim(jwt, "target_audience")
  if (targetAudience !== undefined && targetAudience !== "") {
    plane.record("oauth.token", iss, `id_token audience=${targetAudience}`)
    // fixtures/oauth/token-response-id-token-only.json: only `id_token`
    return ok(res, {
      id_token: mintServiceAccountIdToken(state, account, targetAudience, { includeEmail: true, azp: "email" })
    })
  }
  const scope = Jwt.stringClaim(jwt, "scope")
  const scopes = scope?.split(/\s+/).filter((s) => s.length > 0) ?? []
  if (scopes.length === 0) return reject(400, "invalid_scope", "Empty or missing scope not allowed.", iss)
  const minted = mintAccessToken(state, iss, scopes, "oauth")
  plane.record("oauth.token", iss, `access_token scopes=${scopes.join(",")}`)
  return ok(res, {
    access_token: minted.token,
    expires_in: secondsLeft(state, minted.expiresAtMs),
    token_type: "Bearer"
  })
}

const refreshGrant = (
  state: State,
  plane: ControlPlane,
  req: Http.IncomingMessage,
  res: Http.ServerResponse,
  params: URLSearchParams
): void => {
  const reject = (status: number, code: string, description: string, principal?: string) => {
    plane.record("oauth.token", principal, `rejected: ${description}`)
    return error(res, status, code, description)
  }
  const basic = basicClient(req)
  const clientId = params.get("client_id") ?? basic?.id
  const clientSecret = params.get("client_secret") ?? basic?.secret
  if (clientId === undefined || clientId === "") {
    return reject(400, "invalid_request", "Could not determine client ID from request.")
  }
  if (clientId !== state.user.clientId) return reject(401, "invalid_client", "The OAuth client was not found.")
  if (clientSecret !== state.user.clientSecret) return reject(401, "invalid_client", "Unauthorized")
  const refreshToken = params.get("refresh_token")
  if (refreshToken === null || refreshToken === "") {
    return reject(400, "invalid_request", "Missing required parameter: refresh_token")
  }
  if (refreshToken !== state.user.refreshToken || state.revokedRefreshTokens.has(refreshToken)) {
    return reject(400, "invalid_grant", "Token has been expired or revoked.")
  }
  const requested = params.get("scope")?.split(/\s+/).filter((s) => s.length > 0)
  const invalid = (requested ?? []).filter((s) => !GCLOUD_ADC_SCOPES.includes(s))
  if (invalid.length > 0) {
    return reject(
      400,
      "invalid_scope",
      `Some requested scopes were invalid. {invalid=[${invalid.join(", ")}]}`,
      state.user.email
    )
  }
  const scopes = requested !== undefined && requested.length > 0 ? requested : GCLOUD_ADC_SCOPES
  const minted = mintAccessToken(state, state.user.email, scopes, "oauth")
  // Google ignores `target_audience` here: the id_token is always for the OAuth client.
  const body: Record<string, unknown> = {
    access_token: minted.token,
    expires_in: secondsLeft(state, minted.expiresAtMs),
    scope: scopes.join(" "),
    token_type: "Bearer"
  }
  if (scopes.includes("openid")) body["id_token"] = mintUserIdToken(state, minted.token)
  plane.record("oauth.token", state.user.email, `refresh_token scopes=${scopes.join(",")}`)
  return ok(res, body)
}

/** `GET|POST /tokeninfo?access_token=…|id_token=…` @internal */
export const handleTokenInfo = (
  state: State,
  plane: ControlPlane,
  req: Http.IncomingMessage,
  res: Http.ServerResponse,
  url: URL,
  body: Buffer
): void => {
  const params = req.method === "POST" ? parseParams(req, body) : url.searchParams
  const invalid = () => {
    plane.record("oauth.tokeninfo", undefined, "rejected: invalid token")
    return send(
      res,
      400,
      oauthJsonHeaders,
      JSON.stringify({ error: "invalid_token", error_description: "Invalid Value" }, null, 2)
    )
  }
  const accessToken = params.get("access_token")
  if (accessToken !== null) {
    const found = lookupAccessToken(state, accessToken)
    if (found._tag !== "Valid") return invalid()
    const { record } = found
    const isUser = record.principal === state.user.email
    const account = [...state.serviceAccounts.values()].find((a) => a.email === record.principal)
    const client = isUser ? state.user.clientId : account?.uniqueId ?? record.principal
    const info: Record<string, string> = { azp: client, aud: client }
    if (isUser) info["sub"] = state.user.uniqueId
    info["scope"] = record.scopes.join(" ")
    info["exp"] = String(Math.floor(record.expiresAtMs / 1000))
    info["expires_in"] = String(secondsLeft(state, record.expiresAtMs))
    if (isUser || account !== undefined) {
      info["email"] = record.principal
      info["email_verified"] = "true"
    }
    info["access_type"] = "online"
    plane.record("oauth.tokeninfo", record.principal, "access_token")
    return send(res, 200, oauthJsonHeaders, JSON.stringify(info, null, 2))
  }
  const idToken = params.get("id_token")
  if (idToken !== null) {
    const jwt = Jwt.decode(idToken)
    const key = jwt && state.googleKeys.find((k) => k.kid === Jwt.stringHeader(jwt, "kid"))
    const exp = jwt && Jwt.numberClaim(jwt, "exp")
    if (
      jwt === undefined || key === undefined || !Jwt.verifyRs256(jwt, key.publicKey) || exp === undefined ||
      exp * 1000 <= state.now()
    ) {
      return invalid()
    }
    const info: Record<string, string> = {}
    for (const [name, value] of Object.entries(jwt.payload)) {
      info[name] = typeof value === "string"
        ? value
        : JSON.stringify(value)
    }
    info["alg"] = "RS256"
    info["kid"] = key.kid
    info["typ"] = "JWT"
    plane.record("oauth.tokeninfo", Jwt.stringClaim(jwt, "email"), "id_token")
    return send(res, 200, oauthJsonHeaders, JSON.stringify(info, null, 2))
  }
  return invalid()
}
