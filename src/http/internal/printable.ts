/**
 * How our responses print (`toJSON`, hence `JSON.stringify`, `String` and
 * `util.inspect`): as `@effect/platform`'s do (`_id`, the request, the status, the
 * headers, the remote address), with credential headers redacted wherever the print
 * happens. `@effect/platform` redacts headers only inside a fiber (its logger sets the
 * context); a response printed outside one (`console.log(response)`, an error's JSON in
 * a `catch`) showed an `Authorization` header the caller had set by hand, and a
 * `Set-Cookie` the server sent.
 *
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"

/**
 * Header names never printed: Effect's default `Headers.currentRedactedNames`, and the
 * credential headers of Google's APIs, Cloud Run and proxies.
 *
 * @internal
 */
export const credentialHeaders: ReadonlyArray<string> = [
  "authorization",
  "proxy-authorization",
  "x-serverless-authorization",
  "x-goog-api-key",
  "x-api-key",
  "cookie",
  "set-cookie"
]

/** A request as `@effect/platform` prints it, credential headers redacted. @internal */
export const printableRequest = (request: HttpClientRequest.HttpClientRequest) => ({
  _id: "@effect/platform/HttpClientRequest",
  method: request.method,
  url: request.url,
  urlParams: request.urlParams,
  hash: request.hash,
  headers: Headers.redact(request.headers, credentialHeaders),
  body: request.body.toJSON()
})

/** A response as `@effect/platform` prints it (without a body), credential headers redacted. @internal */
export const printableResponse = (response: HttpClientResponse.HttpClientResponse) => ({
  _id: "@effect/platform/HttpClientResponse",
  request: printableRequest(response.request),
  status: response.status,
  headers: Headers.redact(response.headers, credentialHeaders),
  remoteAddress: response.remoteAddress
})
