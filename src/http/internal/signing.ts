/**
 * The signing engine under `AuthHttpClient.withAuth`, `sign` and `transformClient`:
 * one implementation, parametrised by where the headers come from.
 *
 * Per call it runs a loop of hops. Each hop starts from the unsigned request, drops any
 * header a token travels in, and is signed only when `mayReceive` says its URL may get
 * the token. The client underneath never follows a redirect itself (fetch is told
 * `redirect: "manual"`; undici and node:http do not follow): the loop follows 301/302/
 * 303/307/308 hop by hop, as fetch would, so a later `HttpClient.followRedirects()` only
 * ever sees a final response, and re-enters this loop for any hop it makes. Every
 * response and error that leaves carries the unsigned request (`scrub.ts`), and the
 * token headers are in `Headers.currentRedactedNames` while the wire call runs, so
 * spans show them redacted.
 *
 * A 401 that rejects our token (`tokenRejected.ts`) invalidates it; the request is sent
 * once more with a fresh token when its body can be: any body but a stream, and a
 * stream whose bytes (at most `replayBufferBytes`) were all kept while it was sent.
 *
 * @internal
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Headers from "@effect/platform/Headers"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { AuthHeaders } from "../../auth/AuthService.js"
import * as AuthToken from "../../auth/AuthToken.js"
import type { TokenTarget } from "../../auth/TokenTarget.js"
import { bounded } from "../../internal/memo.js"
import {
  bodyHeaders,
  crossOriginHeaders,
  nextHop,
  receiver,
  redirectStatuses,
  sentToken,
  tokenHeader,
  tokenHeaderNames
} from "./origin.js"
import { rebuild, scrubbed, scrubError, withoutHeaders } from "./scrub.js"
import { tokenRejected } from "./tokenRejected.js"

/** Where the engine gets headers and how it drops a rejected token. @internal */
export interface Signer<ET, RT> {
  readonly headers: (
    target: TokenTarget,
    request: HttpClientRequest.HttpClientRequest
  ) => Effect.Effect<AuthHeaders, ET, RT>
  readonly invalidate: (
    target: TokenTarget,
    rejected: AuthToken.AuthToken | undefined
  ) => Effect.Effect<void, never, RT>
}

/** @internal */
export interface Settings {
  readonly origins?: ReadonlyArray<string> | undefined
  readonly maxRedirects?: number | undefined
  readonly replayBufferBytes?: number | undefined
}

/** @internal */
export const defaultMaxRedirects = 10
/** @internal */
export const defaultReplayBufferBytes = 1024 * 1024

/** A request ready to send, and how to send it again (if its body allows). */
interface Prepared {
  readonly request: HttpClientRequest.HttpClientRequest
  /** The same request with a body that can be sent again, or `undefined`. */
  readonly again: () => HttpClientRequest.HttpClientRequest | undefined
}

const concat = (chunks: ReadonlyArray<Uint8Array>, size: number): Uint8Array => {
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.length
  }
  return bytes
}

/** Keeps a stream body's bytes (up to `limit`) while it is sent, so it can be replayed. */
const prepare = (request: HttpClientRequest.HttpClientRequest, limit: number): Prepared => {
  const body = request.body
  if (body._tag !== "Stream") {
    const replayable = body._tag !== "Raw" || typeof body.body === "string" || body.body instanceof Uint8Array
    return { request, again: () => (replayable ? request : undefined) }
  }
  const kept: Array<Uint8Array> = []
  let size = 0
  let overflow = false
  let complete = false
  const recorded = body.stream.pipe(
    Stream.tap((chunk) =>
      Effect.sync(() => {
        if (overflow) return
        size += chunk.length
        if (size > limit) {
          overflow = true
          kept.length = 0
        } else kept.push(chunk)
      })
    ),
    Stream.onEnd(Effect.sync(() => {
      complete = true
    }))
  )
  return {
    request: HttpClientRequest.setBody(request, HttpBody.stream(recorded, body.contentType, body.contentLength)),
    again: () =>
      complete && !overflow
        ? HttpClientRequest.setBody(request, HttpBody.uint8Array(concat(kept, size), body.contentType))
        : undefined
  }
}

/** Reads and drops a response body we do not hand out (a 3xx or a rejected 401). */
const discard = (response: HttpClientResponse.HttpClientResponse) => Effect.ignore(response.arrayBuffer)

/** The next hop's request: its URL and method, the body dropped or kept, the caller's credentials dropped off-origin. */
const hopRequest = (
  from: HttpClientRequest.HttpClientRequest,
  to: NonNullable<ReturnType<typeof nextHop<HttpClientRequest.HttpClientRequest["method"]>>>
): HttpClientRequest.HttpClientRequest => {
  const current = HttpClientRequest.toUrl(from)
  const sameOrigin = Option.isSome(current) && current.value.origin === to.url.origin
  let headers = from.headers
  if (to.dropBody) headers = Headers.remove(headers, bodyHeaders)
  if (!sameOrigin) headers = Headers.remove(headers, crossOriginHeaders)
  const request = rebuild(from, to.url, headers, to.dropBody ? HttpBody.empty : from.body)
  return HttpClientRequest.setMethod(request, to.method)
}

/**
 * Signs `client` for `target` with `signer`.
 *
 * @internal
 */
export const signClient = <E, R, ET, RT>(
  client: HttpClient.HttpClient.With<E, R>,
  signer: Signer<ET, RT>,
  target: TokenTarget,
  settings: Settings
): HttpClient.HttpClient.With<E | ET, R | RT> => {
  const names = tokenHeaderNames(target)
  const header = tokenHeader(target)
  const mayReceive = receiver(target, settings)
  const maxRedirects = settings.maxRedirects ?? defaultMaxRedirects
  const limit = settings.replayBufferBytes ?? defaultReplayBufferBytes
  // The fetch underneath must hand every 3xx back to us. This runs as the client's
  // request preprocessing, inside the context a client layer merges in (e.g. a
  // `RequestInit` given only to the `FetchHttpClient` layer), so it adds
  // `redirect: "manual"` to the RequestInit the fetch will read instead of replacing
  // it; the context change ends with the request's execution.
  const manualRedirects = FiberRef.update(
    FiberRef.currentContext,
    (context) =>
      Context.add(context, FetchHttpClient.RequestInit, {
        ...Option.getOrElse(Context.getOption(context, FetchHttpClient.RequestInit), () => ({})),
        redirect: "manual"
      })
  )
  // The hop to send: the client's own preprocessing runs on each execute, then the hop
  // replaces its result, so a hop is sent exactly as built here (no URL prepended twice).
  // One client per hop (a closure, not a FiberRef set around every call).
  const hopClient = (hop: HttpClientRequest.HttpClientRequest) =>
    HttpClient.mapRequestEffect(client, () => Effect.as(manualRedirects, hop))

  // The redacted names with ours added, per list the fiber holds (usually the one default list).
  let redactedFrom: ReadonlyArray<string | RegExp> | undefined
  let redactedTo: ReadonlyArray<string | RegExp> = names
  const withOurs = (redacted: ReadonlyArray<string | RegExp>) => {
    if (redacted !== redactedFrom) {
      redactedFrom = redacted
      redactedTo = [...redacted, ...names]
    }
    return redactedTo
  }

  const send = (request: HttpClientRequest.HttpClientRequest) =>
    hopClient(request).execute(request).pipe(
      // Scopes the preprocessing's context change to this request.
      Effect.locallyWith(FiberRef.currentContext, (context) => context),
      Effect.locallyWith(Headers.currentRedactedNames, withOurs)
    )

  // The origin verdict of a URL, memoised per client (a client calls a few URLs over
  // and over): the rule is a function of the URL alone, parsed once per distinct URL.
  const verdicts = bounded<string, boolean>(256)
  const verdict = (request: HttpClientRequest.HttpClientRequest): boolean => {
    const judge = () => Option.match(HttpClientRequest.toUrl(request), { onNone: () => false, onSome: mayReceive })
    // a URL with no separate params or hash is its own key
    return request.urlParams.length === 0 && Option.isNone(request.hash) ? verdicts(request.url, judge) : judge()
  }

  const loop = (
    request: HttpClientRequest.HttpClientRequest,
    hops: number,
    replayed: boolean
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, E | ET, R | RT> => {
    const unsigned = withoutHeaders(request, names)
    const allowed = verdict(unsigned)
    const prepared = prepare(unsigned, limit)
    const signed = allowed
      ? Effect.map(
        signer.headers(target, unsigned),
        (headers) => HttpClientRequest.setHeaders(prepared.request, headers)
      )
      : Effect.succeed(prepared.request)
    return Effect.flatMap(signed, (outgoing) =>
      send(outgoing).pipe(
        Effect.mapError((error) => scrubError(error, unsigned)),
        Effect.flatMap((response): Effect.Effect<HttpClientResponse.HttpClientResponse, E | ET, R | RT> => {
          const again = prepared.again()
          // (a response's headers are built on each read: only a 401 needs them)
          if (
            allowed && response.status === 401 &&
            tokenRejected(response.status, response.headers["www-authenticate"], header)
          ) {
            // Ours was rejected: drop it whatever happens next; replay once if we can.
            const invalidate = signer.invalidate(target, sentToken(target, outgoing.headers))
            if (!replayed && again !== undefined) {
              return invalidate.pipe(Effect.zipRight(discard(response)), Effect.zipRight(loop(again, hops, true)))
            }
            return Effect.as(invalidate, scrubbed(response, unsigned))
          }
          // only a redirect needs the URL parsed again
          if (!redirectStatuses.has(response.status)) return Effect.succeed(scrubbed(response, unsigned))
          const from = HttpClientRequest.toUrl(unsigned)
          const next = hops < maxRedirects && Option.isSome(from)
            ? nextHop(response.status, response.headers["location"], from.value, unsigned.method, again !== undefined)
            : undefined
          if (next === undefined) return Effect.succeed(scrubbed(response, unsigned))
          const following = hopRequest(again ?? unsigned, next)
          return Effect.zipRight(discard(response), loop(following, hops + 1, replayed))
        })
      ))
  }

  return HttpClient.transform(client, (_unsent, request) => loop(request, 0, false))
}
