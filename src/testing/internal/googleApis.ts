/**
 * The one loopback server that plays oauth2.googleapis.com,
 * iamcredentials.googleapis.com, sts.googleapis.com and the `/oauth2/…` and
 * key paths of www.googleapis.com. Their paths do not overlap, so requests are
 * routed by path alone.
 *
 * @internal
 */
import type * as Http from "node:http"
import type { Endpoint } from "../Emulator.js"
import { CERTS_PATH, makeCertsHandler } from "./certs.js"
import type { ControlPlane } from "./controls.js"
import { googleRobotHtml, htmlHeaders } from "./googleErrors.js"
import { BodyTooLarge, readBody, requestUrl, send } from "./http.js"
import { handleIam, IAM_PATH } from "./iamCredentials.js"
import { handleToken, handleTokenInfo } from "./oauthServer.js"
import type { State } from "./state.js"
import { handleSts } from "./sts.js"

const TOKEN_PATHS = ["/token", "/oauth2/v4/token", "/o/oauth2/token"]
const TOKENINFO_PATHS = ["/tokeninfo", "/oauth2/v3/tokeninfo"]

const endpointOf = (path: string): Endpoint => {
  if (TOKEN_PATHS.includes(path)) return "oauth.token"
  if (TOKENINFO_PATHS.includes(path)) return "oauth.tokeninfo"
  if (path === "/v1/token") return "sts.token"
  const iam = IAM_PATH.exec(path)
  if (iam !== null) return iam[3] === "generateAccessToken" ? "iam.generateAccessToken" : "iam.generateIdToken"
  if (CERTS_PATH.test(path)) return "certs"
  return "googleapis.other"
}

/** @internal */
export const makeGoogleApisHandler = (state: State, plane: ControlPlane) => {
  const certs = makeCertsHandler(state, plane)
  return async (req: Http.IncomingMessage, res: Http.ServerResponse): Promise<void> => {
    const url = requestUrl(req)
    const path = url.pathname
    const endpoint = endpointOf(path)
    if (!(await plane.gate(endpoint, req, res))) return
    let body: Buffer
    try {
      body = await readBody(req)
    } catch (error) {
      if (error instanceof BodyTooLarge) return send(res, 413, htmlHeaders, googleRobotHtml(400, path))
      return
    }
    const methodNotAllowed = () => {
      plane.record(endpoint, undefined, `rejected: method ${req.method}`)
      return send(res, 405, { ...htmlHeaders, "Allow": "POST" }, googleRobotHtml(405, path, req.method))
    }
    switch (endpoint) {
      case "oauth.token":
        return req.method === "POST" ? handleToken(state, plane, req, res, body) : methodNotAllowed()
      case "oauth.tokeninfo":
        return handleTokenInfo(state, plane, req, res, url, body)
      case "sts.token":
        return req.method === "POST" ? handleSts(state, plane, req, res, body) : methodNotAllowed()
      case "iam.generateAccessToken":
      case "iam.generateIdToken":
        return handleIam(state, plane, req, res, IAM_PATH.exec(path)!, body)
      case "certs":
        return req.method === "GET" || req.method === "HEAD" ? certs(res, path) : methodNotAllowed()
      default:
        plane.record(endpoint, undefined, path)
        return send(res, 404, htmlHeaders, googleRobotHtml(404, path))
    }
  }
}
