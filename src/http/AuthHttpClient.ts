/**
 * HttpClient middleware that signs requests with the right Google token: an access
 * token for Google APIs, an ID token for a Cloud Run service. A 401 invalidates the
 * token and replays the request once (when its body can be sent again); a 403 is
 * never replayed. A token is only sent to the origins it was minted for.
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
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import type { AccessTokenError, IdTokenError } from "../auth/AuthError.js"
import { AuthService } from "../auth/AuthService.js"
import * as AuthToken from "../auth/AuthToken.js"
import type { AccessTarget, TokenTarget } from "../auth/TokenTarget.js"
import { tokenRejected } from "./internal/tokenRejected.js"

/**
 * Where a token may be sent besides its natural origins (Google API hosts for access
 * tokens, the audience's origin for ID tokens): for example a custom audience's
 * service URL, a Private Service Connect endpoint, or a local emulator.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** Extra origins (`scheme://host[:port]`) the token may be sent to. */
  readonly origins?: ReadonlyArray<string> | undefined
}

const originOf = (url: string): string | undefined => {
  try {
    return new URL(url).origin
  } catch {
    return undefined
  }
}

/**
 * May a token for `target` be sent to `url`? Access tokens go to `https://*.googleapis.com`,
 * ID tokens to the origin of a URL audience, both also to the extra origins.
 *
 * @since 0.1.0
 * @category Predicates
 */
export const mayReceive = (target: TokenTarget, url: string, options: Options = {}): boolean => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return false
  }
  if (options.origins?.some((origin) => originOf(origin) === parsed.origin) === true) return true
  if (target.kind === "access") {
    return parsed.protocol === "https:" && (parsed.hostname === "googleapis.com" || parsed.hostname.endsWith(".googleapis.com"))
  }
  const audienceOrigin = originOf(target.audience)
  return audienceOrigin !== undefined && audienceOrigin === parsed.origin
}

/** The header a target's token goes in (lower case). */
const headerName = (target: TokenTarget): string =>
  target.kind === "id" && target.header === "X-Serverless-Authorization" ? "x-serverless-authorization" : "authorization"

/** A body that can be sent a second time. */
const replayable = (request: HttpClientRequest.HttpClientRequest): boolean => {
  const body = request.body
  return body._tag === "Empty" || body._tag === "Uint8Array" ||
    (body._tag === "Raw" && (typeof body.body === "string" || body.body instanceof Uint8Array))
}


/** The token a signed request carried, as the cache knows it (value only). */
const sentToken = (target: TokenTarget, request: HttpClientRequest.HttpClientRequest) => {
  const value = request.headers[headerName(target)]
  return value === undefined ? undefined : AuthToken.make(target.kind, value.replace(/^Bearer\s+/i, ""), 0)
}

/**
 * HttpClient errors carry the request, headers included. Effect redacts `authorization`
 * when printing them, but not `x-serverless-authorization`: blank our header in the
 * request an error carries, so no token reaches a log.
 */
const withoutTokenInErrors = <A, E, R>(effect: Effect.Effect<A, E, R>, header: string): Effect.Effect<A, E, R> =>
  Effect.mapError(effect, (error) => {
    if (error instanceof HttpClientError.RequestError) {
      return new HttpClientError.RequestError({ ...error, request: HttpClientRequest.setHeader(error.request, header, "<redacted>") }) as E
    }
    if (error instanceof HttpClientError.ResponseError) {
      return new HttpClientError.ResponseError({
        ...error,
        request: HttpClientRequest.setHeader(error.request, header, "<redacted>")
      }) as E
    }
    return error
  })

/**
 * Signs every request of a client for `target` (only requests to origins that may
 * receive the token; others pass unsigned). On a 401 that rejects the token, the token
 * is invalidated and the request replayed once with a fresh one, when its body is
 * replayable.
 *
 * @since 0.1.0
 * @category Middleware
 */
export const withAuth: {
  (target: AccessTarget, options?: Options): <E, R>(
    client: HttpClient.HttpClient.With<E, R>
  ) => HttpClient.HttpClient.With<E | AccessTokenError, R | AuthService>
  (target: TokenTarget, options?: Options): <E, R>(
    client: HttpClient.HttpClient.With<E, R>
  ) => HttpClient.HttpClient.With<E | IdTokenError, R | AuthService>
} = ((target: TokenTarget, options: Options = {}) => <E, R>(client: HttpClient.HttpClient.With<E, R>) => {
  const sign = (request: HttpClientRequest.HttpClientRequest) =>
    mayReceive(target, request.url, options)
      ? Effect.map(
        Effect.flatMap(AuthService, (auth) => auth.headers(target)),
        (headers) => HttpClientRequest.setHeaders(request, headers)
      )
      : Effect.succeed(request)
  const signed = HttpClient.mapRequestEffect(client, sign)
  const name = headerName(target)
  return HttpClient.transformResponse(signed, (execute) =>
    Effect.flatMap(withoutTokenInErrors(execute, name), (response) => {
      const rejected = tokenRejected(response.status, response.headers["www-authenticate"]) ? sentToken(target, response.request) : undefined
      if (rejected === undefined || !replayable(response.request)) return Effect.succeed(response)
      // `execute` runs the whole pipeline again, so the request is signed again with
      // the fresh token the cache fetches after the invalidation. Once only.
      return Effect.flatMap(AuthService, (auth) => auth.invalidate(target, rejected)).pipe(
        Effect.zipRight(response.text.pipe(Effect.ignore)),
        Effect.zipRight(withoutTokenInErrors(execute, name))
      )
    }))
}) as typeof withAuth

/**
 * `withAuth` over an AuthService captured once (nothing added to `R`): the signing
 * middleware for clients built at layer construction. Token errors stay typed in `E`.
 *
 * @since 0.2.0
 * @category Middleware
 */
export const sign: {
  (auth: AuthService["Type"], target: AccessTarget, options?: Options): <E, R>(
    client: HttpClient.HttpClient.With<E, R>
  ) => HttpClient.HttpClient.With<E | AccessTokenError, R>
  (auth: AuthService["Type"], target: TokenTarget, options?: Options): <E, R>(
    client: HttpClient.HttpClient.With<E, R>
  ) => HttpClient.HttpClient.With<E | IdTokenError, R>
} = ((auth: AuthService["Type"], target: TokenTarget, options: Options = {}) =>
<E, R>(client: HttpClient.HttpClient.With<E, R>) =>
  HttpClient.transform(
    withAuth(target, options)(client),
    (effect) => Effect.provideService(effect, AuthService, auth)
  )) as typeof sign

