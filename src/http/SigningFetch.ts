/**
 * A `fetch` that signs requests with Google tokens, for clients that are not written
 * with Effect (the MCP SDK, openai, ollama, A2A, …). Each request's origin is looked up
 * in a table of targets: a listed origin gets its target's token, read from the shared
 * cache per request (a warm read starts no fiber); any other origin goes out unsigned,
 * untouched. A 401 that rejects the token invalidates it and replays the request once
 * when its body can be sent again; a 403 is never replayed. Redirects of a signed
 * request are followed by hand, so that every hop is signed only for its own origin:
 * a token never follows a redirect to an origin it was not minted for.
 *
 * @example
 * ```ts
 * import { AuthClient } from "effect-adc/auth"
 * import { SigningFetch } from "effect-adc/http"
 *
 * const auth = AuthClient.make()
 * const fetch = SigningFetch.make(auth, {
 *   targets: { "https://mcp-abc-uc.a.run.app": "id" }
 * })
 * const response = await fetch("https://mcp-abc-uc.a.run.app/mcp")
 * ```
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import { type AuthHeaders, AuthService } from "../auth/AuthService.js"
import * as AuthToken from "../auth/AuthToken.js"
import type { TokenTarget } from "../auth/TokenTarget.js"
import { mayReceive } from "./AuthHttpClient.js"
import { tokenRejected } from "./internal/tokenRejected.js"

/**
 * What an origin gets: a target, or a shorthand: `"id"` is an ID token whose audience
 * is the origin itself (a Cloud Run service URL), `"access"` an access token with the
 * default scopes.
 *
 * @since 0.1.0
 * @category Models
 */
export type Route = TokenTarget | "id" | "access"

/**
 * Options of {@link make} and {@link makeEffect}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /**
   * Which token each origin gets. Keys are origins (or URLs: only their origin counts).
   * A request whose origin is not a key is signed by the first entry whose token may
   * go there anyway (an access token to `https://*.googleapis.com`); else it is sent
   * unsigned.
   */
  readonly targets: Readonly<Record<string, Route>>
  /** The `fetch` underneath. Default `globalThis.fetch`, read per request. */
  readonly fetch?: typeof globalThis.fetch | undefined
  /** Redirects followed for a signed request. Default 20, as `fetch`. */
  readonly maxRedirects?: number | undefined
}

/**
 * Where the tokens come from: an {@link AuthClient} (`effect-adc/auth`) fits, and so
 * does anything else with these two methods.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Signer {
  readonly headers: (target: TokenTarget) => Promise<AuthHeaders>
  readonly invalidate: (target: TokenTarget, rejected?: AuthToken.AuthToken) => Promise<void>
}

interface Entry {
  readonly origin: string
  readonly target: TokenTarget
}

const entriesOf = (targets: Options["targets"]): ReadonlyArray<Entry> =>
  Object.entries(targets).map(([key, route]) => {
    let origin: string
    try {
      origin = new URL(key).origin
    } catch {
      throw new TypeError(`effect-adc SigningFetch: the target key "${key}" is not a URL; use an origin such as https://svc-abc-uc.a.run.app`)
    }
    const target: TokenTarget = route === "id"
      ? { kind: "id", audience: origin }
      : route === "access"
      ? { kind: "access" }
      : route
    return { origin, target }
  })

const resolver = (targets: Options["targets"]): (url: URL) => TokenTarget | undefined => {
  const entries = entriesOf(targets)
  const byOrigin = new Map(entries.map((entry) => [entry.origin, entry.target]))
  return (url) => byOrigin.get(url.origin) ?? entries.find((entry) => mayReceive(entry.target, url.href))?.target
}

/**
 * The target a request to `url` is signed for, or `undefined` when it goes unsigned.
 *
 * @since 0.1.0
 * @category Getters
 */
export const targetFor = (targets: Options["targets"], url: string | URL): TokenTarget | undefined => {
  const parsed = parseUrl(url)
  return parsed === undefined ? undefined : resolver(targets)(parsed)
}

const parseUrl = (url: string | URL, base?: URL): URL | undefined => {
  try {
    return new URL(url, base)
  } catch {
    return undefined
  }
}

/** Bodies that can be sent a second time (a stream can be read once). */
const replayable = (body: RequestInit["body"]): boolean =>
  body === undefined || body === null || typeof body === "string" || body instanceof ArrayBuffer ||
  ArrayBuffer.isView(body) || body instanceof Blob || body instanceof URLSearchParams || body instanceof FormData

/** The parts of a `Request` that a `fetch(url, init)` call carries on. */
const initOf = async (request: Request, init: RequestInit | undefined): Promise<RequestInit> => {
  const fromRequest: RequestInit = {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    redirect: request.redirect,
    keepalive: request.keepalive,
    credentials: request.credentials,
    integrity: request.integrity,
    referrerPolicy: request.referrerPolicy
  }
  const merged: RequestInit = { ...fromRequest, ...init }
  // A Request's body is a stream: read it into memory so a 401 can be replayed.
  if (init?.body === undefined && request.body !== null) merged.body = await request.arrayBuffer()
  return merged
}

/** Waits for `start()` unless the signal aborts first (then `start` is not even called). */
const abortable = <A>(start: () => Promise<A>, signal: AbortSignal | null | undefined): Promise<A> => {
  if (signal === null || signal === undefined) return start()
  if (signal.aborted) return Promise.reject(signal.reason)
  const promise = start()
  return new Promise<A>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener("abort", onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort)
        reject(error)
      }
    )
  })
}

const redirectStatuses = new Set([301, 302, 303, 307, 308])
/** Headers `fetch` drops when a redirect leaves the origin (plus Cloud Run's token header). */
const credentialHeaders = ["authorization", "x-serverless-authorization", "proxy-authorization", "cookie"]
/** Headers that describe a body, dropped when a redirect turns the request into a GET. */
const bodyHeaders = ["content-type", "content-length", "content-encoding", "content-language", "content-location"]

/** The token a signed request carried, as the cache knows it (value only). */
const sentToken = (target: TokenTarget, headers: AuthHeaders): AuthToken.AuthToken | undefined => {
  const value = headers["authorization"] ?? headers["x-serverless-authorization"]
  return value === undefined ? undefined : AuthToken.make(target.kind, value.replace(/^Bearer\s+/i, ""), 0)
}

const discard = (response: Response): Promise<void> =>
  response.body === null ? Promise.resolve() : response.body.cancel().catch(() => undefined)

/**
 * A signing `fetch` over a {@link Signer} (an `AuthClient`). Nothing is fetched at
 * construction; each request reads its token from the cache.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (auth: Signer, options: Options): typeof globalThis.fetch => {
  const resolve = resolver(options.targets)
  const maxRedirects = options.maxRedirects ?? 20

  const send = async (
    base: typeof globalThis.fetch,
    first: URL,
    firstTarget: TokenTarget,
    init: RequestInit
  ): Promise<Response> => {
    const signal = init.signal
    const follow = (init.redirect ?? "follow") === "follow"
    let url = first
    let target: TokenTarget | undefined = firstTarget
    let method = (init.method ?? "GET").toUpperCase()
    let body = init.body
    const callerHeaders = new Headers(init.headers)
    let replayed = false
    let hops = 0
    for (;;) {
      const headers = new Headers(callerHeaders)
      let sent: AuthHeaders | undefined
      const hopTarget = target
      if (hopTarget !== undefined) {
        sent = await abortable(() => auth.headers(hopTarget), signal)
        for (const [name, value] of Object.entries(sent)) headers.set(name, value)
      }
      const response = await base(url, {
        ...init,
        method,
        headers,
        body: body ?? null,
        redirect: follow ? "manual" : (init.redirect ?? "follow")
      })
      if (
        target !== undefined && sent !== undefined && !replayed && replayable(body) &&
        tokenRejected(response.status, response.headers.get("www-authenticate"), "authorization")
      ) {
        // Once only: the cache fetches a fresh token after the invalidation.
        replayed = true
        await discard(response)
        await auth.invalidate(target, sentToken(target, sent))
        continue
      }
      if (!follow || !redirectStatuses.has(response.status)) return response
      const location = response.headers.get("location")
      if (location === null) return response
      const next = parseUrl(location, url)
      if (next === undefined) return response
      hops += 1
      if (hops > maxRedirects) {
        await discard(response)
        throw new TypeError(`effect-adc SigningFetch: more than ${maxRedirects} redirects`)
      }
      if ((response.status === 303 && method !== "HEAD") || ((response.status === 301 || response.status === 302) && method === "POST")) {
        method = "GET"
        body = undefined
        for (const name of bodyHeaders) callerHeaders.delete(name)
      } else if (!replayable(body)) {
        await discard(response)
        throw new TypeError("effect-adc SigningFetch: cannot follow a redirect with a streamed request body")
      }
      if (next.origin !== url.origin) for (const name of credentialHeaders) callerHeaders.delete(name)
      await discard(response)
      url = next
      // Each hop is signed for its own origin only, or not at all.
      target = resolve(next)
    }
  }

  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const base = options.fetch ?? globalThis.fetch
    const url = parseUrl(input instanceof Request ? input.url : input)
    const target = url === undefined ? undefined : resolve(url)
    // Unsigned: exactly what the caller asked for.
    if (url === undefined || target === undefined) return base(input, init)
    return send(base, url, target, input instanceof Request ? await initOf(input, init) : { ...init })
  }
}

const runWith = <R>(runtime: Runtime.Runtime<R>) => <A, E>(effect: Effect.Effect<A, E, R>): Promise<A> =>
  Runtime.runPromiseExit(runtime)(effect).then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value
    const failure = Cause.failureOption(exit.cause)
    // The tagged error itself, as AuthClient rejects.
    throw failure._tag === "Some" ? failure.value : Cause.squash(exit.cause)
  })

/**
 * A signing `fetch` over the AuthService of the current context, for Effect apps that
 * hand a `fetch` to a Promise-based client. A warm token is read without a fiber.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeEffect = (options: Options): Effect.Effect<typeof globalThis.fetch, never, AuthService> =>
  Effect.map(Effect.runtime<AuthService>(), (runtime) => {
    const service = Context.get(runtime.context, AuthService)
    const run = runWith(runtime)
    return make({
      headers: (target) => {
        const cached = service.unsafeCachedHeaders(target)
        return cached !== undefined ? Promise.resolve(cached) : run(service.headers(target))
      },
      invalidate: (target, rejected) => run(service.invalidate(target, rejected))
    }, options)
  })
