/**
 * The HTTP side every backend shares: signing through AuthHttpClient (401 →
 * invalidate + replay once), per-attempt timeout, translation of every failure into
 * ModelError once, and the retry policy around opening a response.
 *
 * @internal
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { isAuthError } from "../../auth/AuthError.js"
import { AuthService } from "../../auth/AuthService.js"
import type { TokenTarget } from "../../auth/TokenTarget.js"
import * as AuthHttpClient from "../../http/AuthHttpClient.js"
import * as ModelError from "../ModelError.js"
import * as RetryPolicy from "../RetryPolicy.js"
import { fromResponse, scrub } from "./errors.js"
import * as Sse from "./sse.js"

/** @internal */
export interface ClientOptions {
  readonly backend: ModelError.Backend
  readonly target: TokenTarget
  /** Extra origins the token may go to (a loopback emulator, a PSC endpoint). */
  readonly origins?: ReadonlyArray<string> | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly timeout: Duration.DurationInput
  readonly retry: RetryPolicy.RetryPolicy
}

/**
 * Per-call settings (a request's own headers and timeout).
 *
 * @internal
 */
export interface CallOptions {
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly timeout?: Duration.DurationInput | undefined
}

/** @internal */
export interface Client {
  /** POST JSON and get a 2xx response (retried per policy), or a ModelError. */
  readonly post: (
    url: string,
    body: unknown,
    options: CallOptions
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, ModelError.ModelError>
  /** POST and read the JSON body, all inside one attempt's timeout. */
  readonly postJson: (
    url: string,
    body: unknown,
    options: CallOptions
  ) => Effect.Effect<unknown, ModelError.ModelError>
  readonly backend: ModelError.Backend
}

/** Any failure of the HTTP/auth stack as a ModelError. @internal */
export const toModelError = (backend: ModelError.Backend) => (error: unknown): ModelError.ModelError => {
  if (ModelError.isModelError(error)) return error
  if (isAuthError(error)) {
    const detail = scrub(error.message)
    return error._tag === "TokenEndpointUnreachable"
      ? new ModelError.Transport({ backend, detail: `no token: ${detail}`, cause: error })
      : new ModelError.Unauthorized({ backend, detail: `no token: ${detail}`, cause: error })
  }
  const http = error as HttpClientError.HttpClientError
  if (http._tag === "RequestError") {
    return new ModelError.Transport({ backend, detail: scrub(`${http.reason}: ${http.description ?? ""}`), cause: http })
  }
  if (http._tag === "ResponseError") {
    return http.reason === "Decode"
      ? new ModelError.Decode({ backend, status: http.response.status, detail: scrub(http.description ?? "bad body"), cause: http })
      : new ModelError.Transport({ backend, status: http.response.status, detail: scrub(http.description ?? http.reason), cause: http })
  }
  return new ModelError.Transport({ backend, detail: scrub(String(error)), cause: error })
}

/** @internal */
export const make = (options: ClientOptions) =>
  Effect.gen(function*() {
    const auth = yield* AuthService
    const http = (yield* HttpClient.HttpClient).pipe(
      AuthHttpClient.withAuth(options.target, { origins: options.origins })
    )
    const backend = options.backend
    const mapError = toModelError(backend)

    const attempt = (
      url: string,
      body: unknown,
      headers: Readonly<Record<string, string>> | undefined
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ModelError.ModelError> =>
      http.execute(
        HttpClientRequest.post(url).pipe(
          HttpClientRequest.setHeaders(options.headers ?? {}),
          HttpClientRequest.setHeaders(headers ?? {}),
          HttpClientRequest.bodyUnsafeJson(body)
        )
      ).pipe(
        Effect.provideService(AuthService, auth),
        Effect.mapError(mapError),
        Effect.flatMap((response) =>
          response.status < 400 ? Effect.succeed(response) : response.text.pipe(
            Effect.orElseSucceed(() => ""),
            Effect.flatMap((text) =>
              Effect.fail(fromResponse({
                backend,
                status: response.status,
                headers: response.headers as Record<string, string>,
                body: text
              }))
            )
          )
        )
      )

    const withTimeout = <A>(effect: Effect.Effect<A, ModelError.ModelError>, timeout: Duration.DurationInput | undefined) => {
      const duration = Duration.decode(timeout ?? options.timeout)
      return Effect.timeoutFail(effect, {
        duration,
        onTimeout: () =>
          new ModelError.Timeout({ backend, detail: `no answer within ${Duration.format(duration)}` })
      })
    }

    const retrying = RetryPolicy.retry(options.retry)

    const client: Client = {
      backend,
      post: (url, body, o) => retrying(withTimeout(attempt(url, body, o.headers), o.timeout)),
      postJson: (url, body, o) =>
        retrying(withTimeout(
          Effect.flatMap(attempt(url, body, o.headers), (response) => Effect.mapError(response.json, mapError)),
          o.timeout
        ))
    }
    return client
  })

/** The body of an opened response, with transport failures as ModelError. @internal */
export const bodyStream = (backend: ModelError.Backend, response: HttpClientResponse.HttpClientResponse) =>
  Stream.mapError(response.stream, toModelError(backend))

/** The `data` of each server-sent event of an opened response. @internal */
export const sseData = (backend: ModelError.Backend, response: HttpClientResponse.HttpClientResponse) =>
  bodyStream(backend, response).pipe(
    Stream.decodeText(),
    Sse.data
  )
