/**
 * IAM Service Account Credentials API:
 * `POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken` and
 * `:generateIdToken`, with the caller's bearer token checked and the
 * token-creator table enforced (delegation chains included).
 *
 * @internal
 */
import type * as Http from "node:http"
import type { ControlPlane } from "./controls.js"
import { apiErrorBody, apiJsonHeaders, badRequest, errorInfo } from "./googleErrors.js"
import { bearer, safeDecode, send } from "./http.js"
import type { Identity, State } from "./state.js"
import { CLOUD_PLATFORM_SCOPE, creatorKey } from "./state.js"
import { lookupAccessToken, mintAccessToken, mintServiceAccountIdToken, rfc3339 } from "./tokens.js"

/** @internal */
export type IamMethod = "generateAccessToken" | "generateIdToken"

/** @internal */
export const IAM_PATH = /^\/v1\/projects\/([^/]+)\/serviceAccounts\/([^/:]+):(generateAccessToken|generateIdToken)$/

const FIELDS: Record<IamMethod, ReadonlyArray<string>> = {
  generateAccessToken: ["delegates", "scope", "lifetime"],
  generateIdToken: ["delegates", "audience", "includeEmail", "useEmailAzp"]
}

const PERMISSION: Record<IamMethod, string> = {
  generateAccessToken: "iam.serviceAccounts.getAccessToken",
  generateIdToken: "iam.serviceAccounts.getOpenIdToken"
}

const IAM_SCOPE = "https://www.googleapis.com/auth/iam"

const rpcMethod = (method: IamMethod) =>
  `google.iam.credentials.v1.IAMCredentials.${
    method === "generateAccessToken" ? "GenerateAccessToken" : "GenerateIdToken"
  }`

const AUTH_SEE =
  "Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."

/** `projects/-/serviceAccounts/{email}` or a bare email, to the email. */
const accountOf = (name: string): string => {
  const match = /^projects\/[^/]+\/serviceAccounts\/(.+)$/.exec(name)
  return safeDecode(match?.[1] ?? name) ?? name
}

/** @internal */
export const handleIam = (
  state: State,
  plane: ControlPlane,
  req: Http.IncomingMessage,
  res: Http.ServerResponse,
  match: RegExpExecArray,
  body: Buffer
): void => {
  const method = match[3] as IamMethod
  const endpoint = method === "generateAccessToken" ? "iam.generateAccessToken" : "iam.generateIdToken"
  const targetEmail = safeDecode(match[2]!) ?? match[2]!
  const fail = (
    code: number,
    status: string,
    message: string,
    details: Parameters<typeof apiErrorBody>[3],
    principal: string | undefined,
    extra: Record<string, string> = {}
  ) => {
    plane.record(endpoint, principal, `rejected ${code} ${status} target=${targetEmail}`)
    return send(res, code, { ...apiJsonHeaders, ...extra }, apiErrorBody(code, status, message, details))
  }
  const errorMeta = { service: "iamcredentials.googleapis.com", method: rpcMethod(method) }

  // 1. authentication
  const token = bearer(req.headers["authorization"])
  if (token === undefined) {
    return fail(
      401,
      "UNAUTHENTICATED",
      `Request is missing required authentication credential. ${AUTH_SEE}`,
      [
        errorInfo("CREDENTIALS_MISSING", "googleapis.com", errorMeta)
      ],
      undefined,
      { "WWW-Authenticate": "Bearer realm=\"https://accounts.google.com/\"" }
    )
  }
  const found = lookupAccessToken(state, token)
  if (found._tag !== "Valid") {
    return fail(
      401,
      "UNAUTHENTICATED",
      `Request had invalid authentication credentials. ${AUTH_SEE}`,
      [
        errorInfo(
          found._tag === "Expired" ? "ACCESS_TOKEN_EXPIRED" : "ACCESS_TOKEN_TYPE_UNSUPPORTED",
          "googleapis.com",
          errorMeta
        )
      ],
      undefined,
      { "WWW-Authenticate": "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"" }
    )
  }
  const caller = found.record.principal
  if (!found.record.scopes.includes(CLOUD_PLATFORM_SCOPE) && !found.record.scopes.includes(IAM_SCOPE)) {
    return fail(
      403,
      "PERMISSION_DENIED",
      "Request had insufficient authentication scopes.",
      [
        errorInfo("ACCESS_TOKEN_SCOPE_INSUFFICIENT", "googleapis.com", errorMeta)
      ],
      caller,
      {
        "WWW-Authenticate":
          `Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="${IAM_SCOPE} ${CLOUD_PLATFORM_SCOPE}"`
      }
    )
  }

  // 2. the request body
  if (req.method !== "POST") {
    return fail(404, "NOT_FOUND", "Method not found.", undefined, caller)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(body.length === 0 ? "{}" : body.toString("utf8"))
  } catch {
    const message = "Invalid JSON payload received. Unexpected token."
    return fail(400, "INVALID_ARGUMENT", message, [badRequest(message)], caller)
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    const message = "Invalid JSON payload received. Expected an object."
    return fail(400, "INVALID_ARGUMENT", message, [badRequest(message)], caller)
  }
  const request = parsed as Record<string, unknown>
  for (const name of Object.keys(request)) {
    if (!FIELDS[method].includes(name)) {
      const message = `Invalid JSON payload received. Unknown name "${name}": Cannot find field.`
      return fail(400, "INVALID_ARGUMENT", message, [badRequest(message)], caller)
    }
  }
  const delegatesValue = request["delegates"] ?? []
  if (!Array.isArray(delegatesValue) || !delegatesValue.every((d): d is string => typeof d === "string")) {
    const message = `Invalid value at 'delegates' (TYPE_STRING), ${JSON.stringify(delegatesValue)}`
    return fail(400, "INVALID_ARGUMENT", message, [badRequest(message, "delegates")], caller)
  }
  const delegates = delegatesValue.map(accountOf)

  // 3. the target and the permission chain caller -> delegates... -> target
  const target: Identity | undefined = state.serviceAccounts.get(targetEmail)
  if (target === undefined) {
    return fail(404, "NOT_FOUND", `Not found; Gaia id not found for email ${targetEmail}`, undefined, caller)
  }
  const chain = [caller, ...delegates, target.email]
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!state.tokenCreators.has(creatorKey(chain[i]!, chain[i + 1]!))) {
      // byte for byte fixtures/oauth/iam-generate-access-token-error-403.json for getAccessToken
      return fail(
        403,
        "PERMISSION_DENIED",
        `Permission '${PERMISSION[method]}' denied on resource (or it may not exist).`,
        [
          errorInfo("IAM_PERMISSION_DENIED", "iam.googleapis.com", { permission: PERMISSION[method] })
        ],
        caller
      )
    }
  }
  const detail = `target=${target.email}${delegates.length > 0 ? ` delegates=${delegates.join(",")}` : ""}`

  if (method === "generateAccessToken") {
    const scopeValue = request["scope"]
    const scopes = typeof scopeValue === "string"
      ? [scopeValue]
      : Array.isArray(scopeValue)
      ? scopeValue.filter((s): s is string => typeof s === "string")
      : []
    if (scopes.length === 0) {
      return fail(400, "INVALID_ARGUMENT", "Scope required.", [badRequest("Scope required.", "scope")], caller)
    }
    const lifetimeValue = request["lifetime"]
    let lifetime = state.settings.tokenLifetimeSeconds
    if (lifetimeValue !== undefined) {
      const parsedLifetime = typeof lifetimeValue === "string" ? /^(\d+)(?:\.\d{1,9})?s$/.exec(lifetimeValue) : null
      if (parsedLifetime === null) {
        const message =
          `Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration), Field 'lifetime', Illegal duration format; duration must end with 's'`
        return fail(400, "INVALID_ARGUMENT", message, [badRequest(message, "lifetime")], caller)
      }
      const seconds = Number(parsedLifetime[1])
      if (seconds < 1 || seconds > 3600) {
        const message = "The lifetime must be between 1 second and 3600 seconds (1 hour)."
        return fail(400, "INVALID_ARGUMENT", message, [badRequest(message, "lifetime")], caller)
      }
      lifetime = Math.min(seconds, state.settings.tokenLifetimeSeconds)
    }
    const minted = mintAccessToken(state, target.email, scopes, "iam", lifetime)
    plane.record(endpoint, caller, detail)
    return send(
      res,
      200,
      apiJsonHeaders,
      JSON.stringify({ accessToken: minted.token, expireTime: rfc3339(minted.expiresAtMs) }, null, 2) + "\n"
    )
  }

  const audience = request["audience"]
  if (typeof audience !== "string" || audience === "") {
    return fail(400, "INVALID_ARGUMENT", "Audience required.", [badRequest("Audience required.", "audience")], caller)
  }
  const includeEmail = request["includeEmail"] === true
  const azp = includeEmail && request["useEmailAzp"] === true ? "email" : "uniqueId"
  plane.record(endpoint, caller, `${detail} audience=${audience}`)
  return send(
    res,
    200,
    apiJsonHeaders,
    JSON.stringify({ token: mintServiceAccountIdToken(state, target, audience, { includeEmail, azp }) }, null, 2) + "\n"
  )
}
