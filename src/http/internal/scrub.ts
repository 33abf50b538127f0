/**
 * No signed request leaves the middleware: every response and every error it returns
 * carries the request as it was before signing (our token headers removed), so
 * `filterStatusOk`, a failed decode, `JSON.stringify(error)` or `util.inspect` downstream
 * have no token to show.
 *
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as BoundedBody from "../../internal/boundedBody.js"
import { printableResponse } from "./printable.js"

/** The request without the named headers (a fresh request: Effect has no header removal). @internal */
export const withoutHeaders = (
  request: HttpClientRequest.HttpClientRequest,
  names: ReadonlyArray<string>
): HttpClientRequest.HttpClientRequest =>
  names.some((name) => request.headers[name] !== undefined)
    ? rebuild(request, request.url, Headers.remove(request.headers, names), request.body)
    : request

/** A request with the same method, query and hash, and the given URL, headers and body. @internal */
export const rebuild = (
  request: HttpClientRequest.HttpClientRequest,
  url: string | URL,
  headers: Headers.Headers,
  body: HttpBody.HttpBody
): HttpClientRequest.HttpClientRequest => {
  const fresh = HttpClientRequest.get(url, { headers }).pipe(
    HttpClientRequest.setMethod(request.method),
    HttpClientRequest.setBody(body)
  )
  // A string URL keeps the request's own query and hash; a URL object brings its own.
  if (typeof url !== "string") return fresh
  const withParams = HttpClientRequest.setUrlParams(fresh, request.urlParams)
  return Option.match(request.hash, {
    onNone: () => withParams,
    onSome: (hash) => HttpClientRequest.setHash(withParams, hash)
  })
}

/**
 * A response whose `request` (also in the errors its body readers fail with) is the
 * unsigned one. Everything else is the original's.
 *
 * @internal
 */
export class ScrubbedResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId

  constructor(
    readonly original: HttpClientResponse.HttpClientResponse,
    readonly request: HttpClientRequest.HttpClientRequest
  ) {
    super()
  }

  private scrub = <A>(effect: Effect.Effect<A, HttpClientError.ResponseError>) =>
    Effect.mapError(effect, (error) => this.responseError(error))

  /** The same error, about this response. */
  responseError(error: HttpClientError.ResponseError): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({
      request: this.request,
      response: this,
      reason: error.reason,
      cause: error.cause,
      ...(error.description === undefined ? {} : { description: error.description })
    })
  }

  get status(): number {
    return this.original.status
  }
  get headers(): Headers.Headers {
    return this.original.headers
  }
  get cookies() {
    return this.original.cookies
  }
  get remoteAddress() {
    return this.original.remoteAddress
  }
  get formData() {
    return this.scrub(this.original.formData)
  }
  get json() {
    return this.scrub(this.original.json)
  }
  get text() {
    return this.scrub(this.original.text)
  }
  get urlParamsBody() {
    return this.scrub(this.original.urlParamsBody)
  }
  get arrayBuffer() {
    return this.scrub(this.original.arrayBuffer)
  }
  get stream() {
    return Stream.mapError(this.original.stream, (error) => this.responseError(error))
  }
  toJSON(): unknown {
    return printableResponse(this)
  }
}

/**
 * A scrubbed response whose original reads its body with bounded waits: the same
 * bounded read, its body errors about the unsigned request.
 *
 * @internal
 */
class BoundedScrubbedResponse extends ScrubbedResponse implements BoundedBody.BoundedBody {
  constructor(
    override readonly original: HttpClientResponse.HttpClientResponse & BoundedBody.BoundedBody,
    request: HttpClientRequest.HttpClientRequest
  ) {
    super(original, request)
  }

  [BoundedBody.TypeId]<A, E>(
    bounds: BoundedBody.Bounds<E>,
    decoder: () => BoundedBody.Decoder<A, E>
  ): Stream.Stream<A, E> {
    return this.original[BoundedBody.TypeId]({
      ...bounds,
      onError: (error) => bounds.onError(this.responseError(error))
    }, decoder)
  }
}

/** `response` with the unsigned `request` (keeping a bounded body read when it has one). @internal */
export const scrubbed = (
  response: HttpClientResponse.HttpClientResponse,
  request: HttpClientRequest.HttpClientRequest
): ScrubbedResponse =>
  BoundedBody.isBoundedBody(response)
    ? new BoundedScrubbedResponse(response, request)
    : new ScrubbedResponse(response, request)

/**
 * Points an HttpClientError that left the wire at the unsigned request (and its
 * response at a {@link ScrubbedResponse}). In place: the error is fresh from the client
 * underneath and not seen by anyone yet, and the caller's error type stays exactly `E`.
 *
 * @internal
 */
export const scrubError = <E>(error: E, request: HttpClientRequest.HttpClientRequest): E => {
  if (error instanceof HttpClientError.RequestError || error instanceof HttpClientError.ResponseError) {
    Object.defineProperty(error, "request", { value: request, enumerable: true, configurable: true, writable: false })
  }
  if (error instanceof HttpClientError.ResponseError && !(error.response instanceof ScrubbedResponse)) {
    const response = scrubbed(error.response, request)
    Object.defineProperty(error, "response", { value: response, enumerable: true, configurable: true, writable: false })
  }
  return error
}
