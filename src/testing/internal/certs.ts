/**
 * Google's public signing keys: `/oauth2/v3/certs` (JWKS), `/oauth2/v1/certs`
 * (PEM certificates by kid), and a service account's own keys at
 * `/robot/v1/metadata/x509/{email}` and `/service_accounts/v1/jwk/{email}`.
 *
 * @internal
 */
import type * as Http from "node:http"
import type { ControlPlane } from "./controls.js"
import { googleRobotHtml, htmlHeaders } from "./googleErrors.js"
import { safeDecode, send } from "./http.js"
import type { SigningKey } from "./keys.js"
import { certificatePem, toJwk } from "./keys.js"
import type { State } from "./state.js"

/** @internal */
export const CERTS_PATH =
  /^\/(?:oauth2\/v[13]\/certs|robot\/v1\/metadata\/x509\/[^/]+|service_accounts\/v1\/jwk\/[^/]+)$/

const headers = {
  "Content-Type": "application/json; charset=UTF-8",
  "Cache-Control": "public, max-age=21600, must-revalidate, no-transform",
  "Server": "ESF",
  "X-XSS-Protection": "0",
  "X-Frame-Options": "SAMEORIGIN",
  "X-Content-Type-Options": "nosniff"
}

/** @internal */
export const makeCertsHandler = (state: State, plane: ControlPlane) => {
  const pems = new Map<string, string>()
  const pem = (key: SigningKey, subject: string) => {
    let cert = pems.get(key.kid)
    if (cert === undefined) {
      cert = certificatePem(key, subject, state.now())
      pems.set(key.kid, cert)
    }
    return cert
  }
  return (res: Http.ServerResponse, path: string): void => {
    const body = (keys: ReadonlyArray<SigningKey>, format: "jwks" | "pem", subject: string) =>
      format === "jwks"
        ? JSON.stringify({ keys: keys.map(toJwk) }, null, 2) + "\n"
        : JSON.stringify(Object.fromEntries(keys.map((k) => [k.kid, pem(k, subject)])), null, 2) + "\n"
    if (path === "/oauth2/v3/certs" || path === "/oauth2/v1/certs") {
      plane.record("certs", undefined, path)
      return send(
        res,
        200,
        headers,
        body(
          state.googleKeys,
          path === "/oauth2/v3/certs" ? "jwks" : "pem",
          "federated-signon.system.gserviceaccount.com"
        )
      )
    }
    const email = safeDecode(path.slice(path.lastIndexOf("/") + 1))
    plane.record("certs", undefined, path)
    if (email !== state.serviceAccount.email) return send(res, 404, htmlHeaders, googleRobotHtml(404, path))
    return send(res, 200, headers, body([state.serviceAccount.key], path.startsWith("/robot/") ? "pem" : "jwks", email))
  }
}
