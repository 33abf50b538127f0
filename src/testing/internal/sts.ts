/**
 * Security Token Service `POST https://sts.googleapis.com/v1/token`: RFC 8693
 * token exchange of an identity-pool subject token (an OIDC JWT from the
 * emulator's "external IdP") for a federated access token.
 *
 * @internal
 */
import type * as Http from "node:http"
import type { ControlPlane } from "./controls.js"
import { parseParams } from "./forms.js"
import { oauthJsonHeaders } from "./googleErrors.js"
import { send } from "./http.js"
import * as Jwt from "./jwt.js"
import type { State } from "./state.js"
import { CLOUD_PLATFORM_SCOPE } from "./state.js"
import { mintAccessToken, secondsLeft } from "./tokens.js"

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
const SUBJECT_TOKEN_TYPES = ["urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:id_token"]

/** @internal */
export const STS_SKEW_SECONDS = 30

/** @internal */
export const handleSts = (
  state: State,
  plane: ControlPlane,
  req: Http.IncomingMessage,
  res: Http.ServerResponse,
  body: Buffer
): void => {
  const reject = (error: string, description: string) => {
    plane.record("sts.token", undefined, `rejected: ${error}`)
    return send(res, 400, oauthJsonHeaders, JSON.stringify({ error, error_description: description }))
  }
  const params = parseParams(req, body)
  const grantType = params.get("grant_type") ?? ""
  if (grantType !== TOKEN_EXCHANGE) {
    return reject("unsupported_grant_type", `Invalid value for "grant_type": ${grantType}`)
  }
  const audience = params.get("audience")
  if (audience === null || audience === "") {
    return reject("invalid_request", "Missing required parameter: \"audience\".")
  }
  if (audience !== state.workload.audience) {
    return reject(
      "invalid_target",
      "The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist."
    )
  }
  const requested = params.get("requested_token_type") ?? ""
  if (requested !== ACCESS_TOKEN_TYPE) {
    return reject("invalid_request", `Invalid value for "requested_token_type": ${requested}`)
  }
  const subjectTokenType = params.get("subject_token_type") ?? ""
  if (!SUBJECT_TOKEN_TYPES.includes(subjectTokenType)) {
    return reject("invalid_request", `Invalid value for "subject_token_type": ${subjectTokenType}`)
  }
  const subjectToken = params.get("subject_token")
  if (subjectToken === null || subjectToken === "") {
    return reject("invalid_request", "Missing required parameter: \"subject_token\".")
  }

  const jwt = Jwt.decode(subjectToken)
  if (jwt === undefined) return reject("invalid_grant", "Unable to parse the ID Token.")
  const { workload } = state
  const kid = Jwt.stringHeader(jwt, "kid")
  if ((kid !== undefined && kid !== workload.key.kid) || !Jwt.verifyRs256(jwt, workload.key.publicKey)) {
    return reject("invalid_grant", "Invalid ID Token signature.")
  }
  const iss = Jwt.stringClaim(jwt, "iss")
  if (iss !== workload.issuer) {
    return reject(
      "invalid_grant",
      `The issuer in ID Token ${iss ?? ""} does not match the expected ones: ${workload.issuer}.`
    )
  }
  const aud = jwt.payload["aud"]
  const audiences = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : []
  const allowed = [workload.audience, `https:${workload.audience}`]
  if (!audiences.some((a) => typeof a === "string" && allowed.includes(a))) {
    return reject(
      "invalid_grant",
      `The audience in ID Token [${audiences.join(", ")}] does not match the expected audience.`
    )
  }
  const exp = Jwt.numberClaim(jwt, "exp")
  const now = state.now() / 1000
  if (exp === undefined || exp < now - STS_SKEW_SECONDS) return reject("invalid_grant", "ID Token has expired.")
  const sub = Jwt.stringClaim(jwt, "sub")
  if (sub === undefined || sub === "") return reject("invalid_grant", "The ID Token must contain a sub claim.")

  const principal = workload.principal.replace(/subject\/[^/]+$/, `subject/${sub}`)
  const scopes = (params.get("scope") ?? CLOUD_PLATFORM_SCOPE).split(/\s+/).filter((s) => s.length > 0)
  const minted = mintAccessToken(state, principal, scopes, "sts")
  plane.record("sts.token", principal, `scopes=${scopes.join(",")}`)
  return send(
    res,
    200,
    oauthJsonHeaders,
    JSON.stringify({
      access_token: minted.token,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: "Bearer",
      expires_in: secondsLeft(state, minted.expiresAtMs)
    })
  )
}

/**
 * An OIDC subject token from the emulator's external IdP.
 *
 * @internal
 */
export const mintSubjectToken = (
  state: State,
  options: {
    readonly subject?: string
    readonly audience?: string
    readonly lifetimeSeconds?: number
    readonly iatOffsetSeconds?: number
  } = {}
): string => {
  const iat = Math.floor(state.now() / 1000) + (options.iatOffsetSeconds ?? 0)
  return Jwt.signRs256(
    { alg: "RS256", kid: state.workload.key.kid, typ: "JWT" },
    {
      iss: state.workload.issuer,
      sub: options.subject ?? state.workload.subject,
      aud: options.audience ?? `https:${state.workload.audience}`,
      iat,
      exp: iat + (options.lifetimeSeconds ?? state.settings.tokenLifetimeSeconds)
    },
    state.workload.key.privateKey
  )
}
