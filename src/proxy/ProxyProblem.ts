/**
 * The JSON body of every answer the proxy gives itself (instead of the upstream's):
 * `{"error": "<what happened and what to do>", "reason": "<kind>", "status": <code>, …}`,
 * with `limitBytes` or `timeoutMs` where a limit was hit. Clients can branch on `reason`
 * and decode the body with {@link ProxyProblem}. No token, header value or upstream
 * body ever appears in it.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { ProxyProblem } from "effect-adc/proxy"
 *
 * const response = await fetch("http://127.0.0.1:8080/gemma/api/chat", { method: "POST", body: "{}" })
 * if (response.headers.get("x-effect-adc-proxy") === "problem") {
 *   const problem = Schema.decodeUnknownSync(ProxyProblem.ProxyProblem)(await response.json())
 *   if (problem.reason === "upstream-timeout") console.log(`no answer within ${problem.timeoutMs} ms`)
 * }
 * ```
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"

/**
 * Why the proxy answered itself, and the status each reason gets:
 *
 * | reason | status | when |
 * | --- | --- | --- |
 * | `absolute-uri` | 400 | `GET http://other/…`: the proxy is not an open relay |
 * | `bad-path` | 400 | the path would leave the route's base path (`..`, `%2e%2e`, `%2f`) |
 * | `no-route` | 404 | no route's prefix matches |
 * | `body-too-large` | 413 | the body passed `maxBodyBytes` (declared or counted) |
 * | `no-token` | 502 | no token could be minted for the route, or none within `responseTimeoutMs` |
 * | `upstream-unreachable` | 502 | the upstream refused, reset or closed before answering |
 * | `upstream-timeout` | 504 | no response headers within `responseTimeoutMs` after the request was sent |
 * | `upstream-idle` | 504 | the upstream took none of the request body for `idleTimeoutMs` |
 *
 * @since 0.2.0
 * @category Schemas
 */
export const Reason = Schema.Literal(
  "absolute-uri",
  "bad-path",
  "no-route",
  "body-too-large",
  "no-token",
  "upstream-unreachable",
  "upstream-timeout",
  "upstream-idle"
)

/**
 * @since 0.2.0
 * @category Models
 */
export type Reason = typeof Reason.Type

/**
 * The status code of each reason.
 *
 * @since 0.2.0
 * @category Constants
 */
export const statusOf: { readonly [K in Reason]: number } = {
  "absolute-uri": 400,
  "bad-path": 400,
  "no-route": 404,
  "body-too-large": 413,
  "no-token": 502,
  "upstream-unreachable": 502,
  "upstream-timeout": 504,
  "upstream-idle": 504
}

/**
 * The body of a proxy's own answer.
 *
 * @since 0.2.0
 * @category Schemas
 */
export class ProxyProblem extends Schema.Class<ProxyProblem>("effect-adc/ProxyProblem")({
  /** What happened and what to do, for people. */
  error: Schema.String,
  reason: Reason,
  status: Schema.Int,
  /** The limit that was passed (`body-too-large`). */
  limitBytes: Schema.optional(Schema.Int),
  /** The timeout that expired (`upstream-timeout`, `upstream-idle`, `no-token` when the token did not come). */
  timeoutMs: Schema.optional(Schema.Int)
}) {}

/**
 * The header every answer of the proxy's own carries (`x-effect-adc-proxy: problem`),
 * so a client can tell it from the upstream's answers with the same status.
 *
 * @since 0.2.0
 * @category Constants
 */
export const header = "x-effect-adc-proxy"

/**
 * A problem for a reason, with its status.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (
  reason: Reason,
  error: string,
  details: { readonly limitBytes?: number; readonly timeoutMs?: number } = {}
): ProxyProblem => new ProxyProblem({ error, reason, status: statusOf[reason], ...details })
