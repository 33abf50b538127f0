/**
 * The request handler: what the proxy answers itself (health, refusals, limits known
 * from the head) and, for everything else, one {@link Exchange} with the route's
 * upstream.
 *
 * @internal
 */
import type * as Http from "node:http"
import * as ProxyProblem from "../ProxyProblem.js"
import { Exchange, type Plane, reply } from "./exchange.js"
import { match, upstreamPath } from "./path.js"
import type { CompiledRoute } from "./routes.js"

/** A request handler; `expectContinue` when Node gave it through `checkContinue`. @internal */
export type Handler = (req: Http.IncomingMessage, res: Http.ServerResponse, expectContinue?: boolean) => void

/** Does the request carry a body we have not read? */
const hasBody = (req: Http.IncomingMessage): boolean => {
  const length = req.headers["content-length"]
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0")
}

/** @internal */
export const makeHandler = (plane: Plane, routes: ReadonlyArray<CompiledRoute>): Handler => {
  const { maxBodyBytes } = plane.config
  const health = JSON.stringify({ status: "ok", routes: routes.map((route) => route.prefix) })
  const refuse = (req: Http.IncomingMessage, res: Http.ServerResponse, problem: ProxyProblem.ProxyProblem) =>
    reply(res, problem, hasBody(req))

  return (req, res, expectContinue = false) => {
    const url = req.url ?? ""
    if (url.charCodeAt(0) !== 47 /* "/" */) {
      return refuse(
        req,
        res,
        ProxyProblem.make(
          "absolute-uri",
          "absolute-URI requests are not accepted: this is not an open proxy; send the path only"
        )
      )
    }
    if (url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(health) })
      res.end(health)
      return
    }
    const route = match(routes, url)
    if (route === undefined) {
      return refuse(
        req,
        res,
        ProxyProblem.make("no-route", `no route for ${url.split("?")[0]}; see GET /healthz for the routes`)
      )
    }
    const path = upstreamPath(route.basePath, url.slice(route.cut))
    if (path._tag === "Refused") {
      return refuse(
        req,
        res,
        ProxyProblem.make("bad-path", `${path.detail}: a request cannot leave its route's base path`)
      )
    }
    const declared = req.headers["content-length"]
    if (declared !== undefined && Number(declared) > maxBodyBytes) {
      return refuse(
        req,
        res,
        ProxyProblem.make("body-too-large", `the request body is larger than ${maxBodyBytes} bytes (maxBodyBytes)`, {
          limitBytes: maxBodyBytes
        })
      )
    }
    new Exchange(plane, route, req, res, path.path, expectContinue).start()
  }
}
