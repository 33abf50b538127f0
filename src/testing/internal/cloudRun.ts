/**
 * The Cloud Run front door: one loopback server per deployed service. It
 * verifies the Google-signed ID token (in `X-Serverless-Authorization`, else
 * `Authorization`), checks the invoker list, plays cold starts, strips the
 * token's signature and hands the request to the service's handler.
 *
 * @internal
 */
import type * as Http from "node:http"
import type { CloudRunService, DeployOptions } from "../Emulator.js"
import type { ControlPlane } from "./controls.js"
import { cloudRun401Html, cloudRun403Html, gfeHtml } from "./googleErrors.js"
import type { LoopbackServer } from "./http.js"
import { bearer, listen, requestUrl, send } from "./http.js"
import * as Jwt from "./jwt.js"
import type { State } from "./state.js"
import { GCLOUD_ADC_CLIENT_ID, GOOGLE_ISSUER } from "./state.js"

/** Seconds an ID token is still accepted after its `exp`. @internal */
export const ID_TOKEN_SKEW_SECONDS = 30

/** fixtures/cloudrun/www-authenticate-invalid-token.txt */
const INVALID_TOKEN = "Bearer error=\"invalid_token\" error_description=\"The access token could not be verified\""

const html = { "Content-Type": "text/html; charset=UTF-8" }

type Verdict =
  | { readonly _tag: "Ok"; readonly principal: string | undefined }
  | { readonly _tag: "Invalid"; readonly reason: string }

const verify = (state: State, token: string, accepted: ReadonlyArray<string>): Verdict => {
  const jwt = Jwt.decode(token)
  if (jwt === undefined) return { _tag: "Invalid", reason: "not a JWT" }
  const key = state.googleKeys.find((k) => k.kid === Jwt.stringHeader(jwt, "kid"))
  if (key === undefined || !Jwt.verifyRs256(jwt, key.publicKey)) return { _tag: "Invalid", reason: "bad signature" }
  const iss = Jwt.stringClaim(jwt, "iss")
  if (iss !== GOOGLE_ISSUER && iss !== "accounts.google.com") return { _tag: "Invalid", reason: "wrong issuer" }
  const aud = Jwt.stringClaim(jwt, "aud")
  if (aud === undefined || !accepted.includes(aud)) return { _tag: "Invalid", reason: `wrong audience ${aud ?? ""}` }
  const exp = Jwt.numberClaim(jwt, "exp")
  if (exp === undefined || exp + ID_TOKEN_SKEW_SECONDS < state.now() / 1000) {
    return { _tag: "Invalid", reason: "expired" }
  }
  const email = Jwt.stringClaim(jwt, "email")
  const sub = Jwt.stringClaim(jwt, "sub")
  const known = [state.serviceAccount, state.impersonationTarget, state.user].find((i) => i.uniqueId === sub)
  return { _tag: "Ok", principal: email ?? known?.email }
}

const setHeader = (req: Http.IncomingMessage, name: string, value: string) => {
  req.headers[name] = value
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === name) req.rawHeaders[i + 1] = value
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** @internal */
export const deploy = async (
  state: State,
  plane: ControlPlane,
  options: DeployOptions
): Promise<{ readonly service: CloudRunService; readonly server: LoopbackServer }> => {
  const endpoint = `cloudrun:${options.name}` as const
  const invokers = options.invokers ?? [state.serviceAccount.email, state.user.email, state.impersonationTarget.email]
  const cold = options.coldStart
  let admitted = 0
  let lastRequest = 0
  let inFlight = 0
  let accepted: ReadonlyArray<string> = []

  const noInstance = (res: Http.ServerResponse) =>
    send(
      res,
      429,
      html,
      gfeHtml(
        429,
        "Too Many Requests",
        "Too Many Requests",
        "The request was aborted because there was no available instance."
      )
    )

  const forward = async (
    req: Http.IncomingMessage,
    res: Http.ServerResponse,
    principal: string | undefined,
    path: string
  ) => {
    const now = Date.now()
    if (cold?.afterIdleMs !== undefined && lastRequest > 0 && now - lastRequest >= cold.afterIdleMs) admitted = 0
    lastRequest = now
    if (options.maxInFlight !== undefined && inFlight >= options.maxInFlight) {
      plane.record(endpoint, principal, `no available instance 429 ${path}`)
      return noInstance(res)
    }
    inFlight += 1
    res.once("close", () => {
      inFlight -= 1
    })
    const timeout = options.requestTimeoutMs === undefined ? undefined : setTimeout(() => {
      plane.record(endpoint, principal, `request timeout 504 ${path}`)
      // Cloud Run ends a response past the request timeout: a 504 before the headers, a cut connection after
      if (res.headersSent) res.destroy()
      else send(res, 504, { "Content-Type": "text/plain" }, "upstream request timeout")
    }, options.requestTimeoutMs)
    if (timeout !== undefined) res.once("close", () => clearTimeout(timeout))
    admitted += 1
    if (cold !== undefined && admitted <= (cold.requests ?? 1)) {
      if ((cold.delayMs ?? 0) > 0) await sleep(cold.delayMs ?? 0)
      if (res.writableEnded || res.destroyed) return
      if (cold.status === 429) {
        plane.record(endpoint, principal, `cold start 429 ${path}`)
        return noInstance(res)
      }
      if (cold.status === 503) {
        plane.record(endpoint, principal, `cold start 503 ${path}`)
        return send(
          res,
          503,
          html,
          gfeHtml(
            503,
            "Service Unavailable",
            "Service Unavailable",
            "The service you requested is not available yet. Please try again in 30 seconds."
          )
        )
      }
    }
    if (options.serverQueue !== undefined && inFlight > options.serverQueue) {
      plane.record(endpoint, principal, `server busy 503 ${path}`)
      return send(
        res,
        503,
        { "Content-Type": "application/json; charset=utf-8" },
        JSON.stringify({ error: "server busy, please try again.  maximum pending requests exceeded" })
      )
    }
    plane.record(endpoint, principal, `${req.method ?? "GET"} ${path}`)
    options.handler(req, res)
  }

  const server = await listen(
    async (req, res) => {
      if (!(await plane.gate(endpoint, req, res))) return
      const path = requestUrl(req).pathname
      if (invokers === "allUsers") return forward(req, res, undefined, path)
      const carrier = req.headers["x-serverless-authorization"] !== undefined
        ? "x-serverless-authorization"
        : req.headers["authorization"] !== undefined
        ? "authorization"
        : undefined
      if (carrier === undefined) {
        plane.record(endpoint, undefined, `rejected 401: no token ${path}`)
        return send(res, 401, html, cloudRun401Html(path))
      }
      const token = bearer(req.headers[carrier])
      const verdict: Verdict = token === undefined
        ? { _tag: "Invalid", reason: "not a bearer token" }
        : verify(state, token, accepted)
      if (verdict._tag === "Invalid") {
        plane.record(endpoint, undefined, `rejected 401: ${verdict.reason} (${carrier}) ${path}`)
        return send(res, 401, { ...html, "WWW-Authenticate": INVALID_TOKEN }, cloudRun401Html(path))
      }
      if (verdict.principal === undefined || !invokers.includes(verdict.principal)) {
        plane.record(endpoint, verdict.principal, `rejected 403: not an invoker ${path}`)
        return send(res, 403, html, cloudRun403Html(path))
      }
      // Cloud Run forwards the token without its signature
      setHeader(req, carrier, `Bearer ${token!.split(".").slice(0, 2).join(".")}`)
      return forward(req, res, verdict.principal, path)
    },
    (_req, res) =>
      send(
        res,
        500,
        html,
        gfeHtml(
          500,
          "Server Error",
          "Server Error",
          "The server encountered an error and could not complete your request.<p>Please try again in 30 seconds."
        )
      )
  )
  accepted = [server.url, `${server.url}/`, ...(options.audiences ?? []), GCLOUD_ADC_CLIENT_ID]
  return { service: { name: options.name, url: server.url, close: server.close }, server }
}
