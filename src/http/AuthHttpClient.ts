/**
 * HttpClient middleware that signs requests with the right Google token: an access
 * token for Google APIs, an ID token for a Cloud Run service.
 *
 * - **Origin confinement.** A token goes only where {@link mayReceive} allows, judged
 *   per hop: the middleware follows redirects itself (fetch underneath is set to
 *   `redirect: "manual"`), re-signing a hop only for an origin that may receive the
 *   token and sending any other hop without the headers it sets. A later
 *   `HttpClient.followRedirects()` finds nothing left to follow with our headers.
 * - **No token in telemetry or errors.** The headers it sets are redacted in spans
 *   (`Headers.currentRedactedNames`), and every response and error it returns carries
 *   the unsigned request.
 * - **401.** Only a 401 about our token (a Bearer `invalid_token` challenge, or Cloud
 *   Run's bare 401 for a token in `Authorization`) invalidates it; the request is
 *   replayed once when its body can be sent again (streams up to `replayBufferBytes`).
 *   A 403 is never replayed.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 * import { AuthHttpClient } from "effect-adc/http"
 *
 * const gemma = Effect.map(HttpClient.HttpClient, AuthHttpClient.withAuth({
 *   kind: "id",
 *   audience: "https://gemma-abc-uc.a.run.app"
 * }))
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as Effect from "effect/Effect"
import type { AccessTokenError, IdTokenError } from "../auth/AuthError.js"
import { AuthService } from "../auth/AuthService.js"
import type { AccessTarget, TokenTarget } from "../auth/TokenTarget.js"
import * as origin from "./internal/origin.js"
import * as signing from "./internal/signing.js"

/**
 * Options of the middleware.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /**
   * Extra origins (`scheme://host[:port]`) the token may be sent to besides its natural
   * ones (Google API hosts for access tokens, the audience's origin for ID tokens): a
   * custom audience's service URL, a Private Service Connect endpoint, a local
   * emulator. Plain `http` origins count only on loopback.
   */
  readonly origins?: ReadonlyArray<string> | undefined
  /** Redirects followed per call (each hop judged on its own). Default 10; 0 returns the 3xx. */
  readonly maxRedirects?: number | undefined
  /**
   * Bytes of a streamed request body kept while it is sent, so a rejected token or a
   * 307/308 can send it again. Default 1 MiB; a longer stream is not replayed (the token
   * is still invalidated).
   */
  readonly replayBufferBytes?: number | undefined
}

/**
 * May a token for `target` be sent to `url`? Never to a URL with userinfo, never over
 * plain http except to loopback (`localhost`, 127.0.0.0/8, `::1`); then access tokens
 * go to Google's hosts (`https://*.googleapis.com`, and Vertex AI dedicated endpoints
 * `https://{id}.{region}-{n}.prediction.vertexai.goog`), ID tokens to the origin of a URL
 * audience, both also to the extra `origins`. Every hop of every signed request is
 * judged by this one rule.
 *
 * @since 0.1.0
 * @category Predicates
 */
export const mayReceive = (target: TokenTarget, url: string | URL, options: Options = {}): boolean =>
  origin.mayReceive(target, url, options)

/**
 * The header names a target's token travels in (lower case): redact them in your own
 * telemetry or logs if you copy requests around. The middleware adds them to
 * `Headers.currentRedactedNames` for its own calls.
 *
 * @example
 * ```ts
 * import { AuthHttpClient } from "effect-adc/http"
 *
 * AuthHttpClient.headerNames({ kind: "id", audience: "https://svc-abc-uc.a.run.app", header: "X-Serverless-Authorization" })
 * // ["x-serverless-authorization"]
 * ```
 *
 * @since 0.2.0
 * @category Getters
 */
export const headerNames = (target: TokenTarget): ReadonlyArray<string> => origin.tokenHeaderNames(target)

const fromService = (auth: AuthService["Type"]): signing.Signer<IdTokenError, never> => ({
  headers: (target) => auth.headers(target),
  invalidate: (target, rejected) => auth.invalidate(target, rejected)
})

const fromContext: signing.Signer<IdTokenError, AuthService> = {
  headers: (target) => Effect.flatMap(AuthService, (auth) => auth.headers(target)),
  invalidate: (target, rejected) => Effect.flatMap(AuthService, (auth) => auth.invalidate(target, rejected))
}

/**
 * Signs every request of a client for `target`, with the AuthService of the context
 * (added to `R`). Requests to origins that may not receive the token pass unsigned.
 *
 * @since 0.1.0
 * @category Middleware
 */
export function withAuth(
  target: AccessTarget,
  options?: Options
): <E, R>(client: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E | AccessTokenError, R | AuthService>
export function withAuth(
  target: TokenTarget,
  options?: Options
): <E, R>(client: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E | IdTokenError, R | AuthService>
export function withAuth(target: TokenTarget, options: Options = {}) {
  return <E, R>(client: HttpClient.HttpClient.With<E, R>) => signing.signClient(client, fromContext, target, options)
}

/**
 * `withAuth` over an AuthService captured once (nothing added to `R`): the signing
 * middleware for clients built at layer construction. Token errors stay typed in `E`.
 *
 * @since 0.2.0
 * @category Middleware
 */
export function sign(
  auth: AuthService["Type"],
  target: AccessTarget,
  options?: Options
): <E, R>(client: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E | AccessTokenError, R>
export function sign(
  auth: AuthService["Type"],
  target: TokenTarget,
  options?: Options
): <E, R>(client: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E | IdTokenError, R>
export function sign(auth: AuthService["Type"], target: TokenTarget, options: Options = {}) {
  return <E, R>(client: HttpClient.HttpClient.With<E, R>) =>
    signing.signClient(client, fromService(auth), target, options)
}

/**
 * An `HttpClient => HttpClient` transform over a captured AuthService, for APIs that take
 * one (the `transformClient` option of `@effect/ai-google`'s `GoogleClient.layer`, and
 * the like). A token error becomes an `HttpClientError.RequestError` with reason
 * `"Transport"`, the `AuthError` as its `cause` and its message as `description`.
 *
 * @example
 * ```ts
 * import { FetchHttpClient, HttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 * import { AuthService } from "effect-adc/auth"
 * import { AuthHttpClient } from "effect-adc/http"
 *
 * const program = Effect.gen(function*() {
 *   const auth = yield* AuthService.AuthService
 *   const client = (yield* HttpClient.HttpClient).pipe(
 *     AuthHttpClient.transformClient(auth, { kind: "access" })
 *   )
 *   return yield* client.get("https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google/models")
 * }).pipe(Effect.provide(FetchHttpClient.layer))
 * ```
 *
 * @since 0.2.0
 * @category Middleware
 */
export const transformClient = (
  auth: AuthService["Type"],
  target: TokenTarget,
  options: Options = {}
) =>
(client: HttpClient.HttpClient): HttpClient.HttpClient =>
  signing.signClient(
    client,
    {
      headers: (target, request) =>
        Effect.mapError(auth.headers(target), (error) =>
          new HttpClientError.RequestError({
            request,
            reason: "Transport",
            cause: error,
            description: error.message
          })),
      invalidate: (target, rejected) => auth.invalidate(target, rejected)
    },
    target,
    options
  )
