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
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type AuthHeaders, AuthService } from "../auth/AuthService.js"
import * as AuthToken from "../auth/AuthToken.js"
import type { TokenTarget } from "../auth/TokenTarget.js"
import * as PromiseBridge from "../internal/promiseBridge.js"
import {
  bodyHeaders,
  crossOriginHeaders,
  nextHop,
  parseUrl,
  receiver,
  sentToken,
  tokenHeader
} from "./internal/origin.js"
import { defaultReplayBufferBytes } from "./internal/signing.js"
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
   * go there anyway (an access token to `https://*.googleapis.com` or a dedicated endpoint
   * `https://{id}.{region}-{n}.prediction.vertexai.goog`); else it is sent
   * unsigned.
   */
  readonly targets: Readonly<Record<string, Route>>
  /** The `fetch` underneath. Default `globalThis.fetch`, read per request. */
  readonly fetch?: typeof globalThis.fetch | undefined
  /** Redirects followed for a signed request. Default 20, as `fetch`. */
  readonly maxRedirects?: number | undefined
  /**
   * Bytes of a `ReadableStream` request body kept while it is sent, so a rejected token
   * or a 307/308 can send it again. Default 1 MiB; a longer stream is not replayed (a
   * rejected token is still invalidated).
   */
  readonly replayBufferBytes?: number | undefined
}

/**
 * Where the tokens come from: an {@link AuthClient} (`effect-adc/auth`) fits, and so
 * does anything else with these two methods.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Signer {
  /** The headers for a target; a signer may stop waiting when `signal` aborts (the fetch also stops waiting). */
  readonly headers: (
    target: TokenTarget,
    options?: { readonly signal?: AbortSignal | undefined }
  ) => Promise<AuthHeaders>
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
      throw new TypeError(
        `effect-adc SigningFetch: the target key "${key}" is not a URL; use an origin such as https://svc-abc-uc.a.run.app`
      )
    }
    const target: TokenTarget = route === "id"
      ? { kind: "id", audience: origin }
      : route === "access"
      ? { kind: "access" }
      : route
    return { origin, target }
  })

/**
 * The target of a URL: its listed origin's, else the first whose token may go there
 * anyway. Either way `mayReceive` has the last word (no userinfo, no plain http off
 * loopback), the same rule the HttpClient middleware applies.
 */
const resolver = (targets: Options["targets"]): (url: URL) => TokenTarget | undefined => {
  // Each entry's rule is compiled once; a listed origin is an extra origin of its own target.
  const entries = entriesOf(targets).map((entry) => ({
    ...entry,
    listed: receiver(entry.target, { origins: [entry.origin] }),
    anywhere: receiver(entry.target)
  }))
  const byOrigin = new Map(entries.map((entry) => [entry.origin, entry]))
  return (url) => {
    const listed = byOrigin.get(url.origin)
    if (listed !== undefined) return listed.listed(url) ? listed.target : undefined
    return entries.find((entry) => entry.anywhere(url))?.target
  }
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

/** Bodies that can be sent a second time (a stream can be read once). */
const replayable = (body: RequestInit["body"]): boolean =>
  body === undefined || body === null || typeof body === "string" || body instanceof ArrayBuffer ||
  ArrayBuffer.isView(body) || body instanceof Blob || body instanceof URLSearchParams || body instanceof FormData

/** A body to send once, and the same body to send again if it can be. */
interface Prepared {
  readonly body: RequestInit["body"]
  readonly again: () => { readonly body: RequestInit["body"] } | undefined
}

/** Keeps a stream body's bytes (up to `limit`) while it is sent, so it can be replayed. */
const prepare = (body: RequestInit["body"], limit: number): Prepared => {
  if (!(body instanceof ReadableStream)) return { body, again: () => (replayable(body) ? { body } : undefined) }
  const reader = body.getReader()
  const kept: Array<Uint8Array> = []
  let size = 0
  let overflow = false
  let complete = false
  const recorded = new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      const { done, value } = await reader.read()
      if (done) {
        complete = true
        return controller.close()
      }
      const chunk = value instanceof Uint8Array ? value : new TextEncoder().encode(String(value))
      if (!overflow) {
        size += chunk.length
        if (size > limit) {
          overflow = true
          kept.length = 0
        } else kept.push(chunk)
      }
      controller.enqueue(chunk)
    },
    cancel: (reason) => reader.cancel(reason)
  })
  return {
    body: recorded,
    again: () => {
      if (!complete || overflow) return undefined
      const bytes = new Uint8Array(size)
      let offset = 0
      for (const chunk of kept) {
        bytes.set(chunk, offset)
        offset += chunk.length
      }
      return { body: bytes }
    }
  }
}

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
  const limit = options.replayBufferBytes ?? defaultReplayBufferBytes

  const send = async (
    base: typeof globalThis.fetch,
    first: URL,
    firstTarget: TokenTarget,
    init: RequestInit
  ): Promise<Response> => {
    const signal = init.signal ?? undefined
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
        sent = await abortable(() => auth.headers(hopTarget, { signal }), signal)
        for (const [name, value] of Object.entries(sent)) headers.set(name, value)
      }
      const prepared = prepare(body, limit)
      const response = await base(url, {
        ...init,
        method,
        headers,
        body: prepared.body ?? null,
        ...(prepared.body instanceof ReadableStream ? { duplex: "half" } : {}),
        redirect: follow ? "manual" : (init.redirect ?? "follow")
      })
      const again = prepared.again()
      if (
        hopTarget !== undefined && sent !== undefined &&
        tokenRejected(response.status, response.headers.get("www-authenticate"), tokenHeader(hopTarget))
      ) {
        // Ours was rejected: drop it whatever happens next; replay once if we can.
        await auth.invalidate(hopTarget, sentToken(hopTarget, sent))
        if (!replayed && again !== undefined) {
          replayed = true
          body = again.body
          await discard(response)
          continue
        }
        return response
      }
      if (!follow) return response
      const next = nextHop(response.status, response.headers.get("location"), url, method, again !== undefined)
      if (next === undefined) return response
      hops += 1
      if (hops > maxRedirects) {
        await discard(response)
        throw new TypeError(`effect-adc SigningFetch: more than ${maxRedirects} redirects`)
      }
      if (next.dropBody) {
        body = undefined
        for (const name of bodyHeaders) callerHeaders.delete(name)
      } else body = again?.body
      method = next.method
      if (next.url.origin !== url.origin) { for (const name of crossOriginHeaders) callerHeaders.delete(name) }
      await discard(response)
      url = next.url
      // Each hop is signed for its own origin only, or not at all.
      target = resolve(next.url)
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

/**
 * A signing `fetch` over the AuthService of the current context, for Effect apps that
 * hand a `fetch` to a Promise-based client. A warm token is read without a fiber; a
 * token fetch runs on the shared Promise bridge, so the caller's `AbortSignal`
 * interrupts it.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeEffect = (options: Options): Effect.Effect<typeof globalThis.fetch, never, AuthService> =>
  Effect.map(Effect.context<AuthService>(), (context) => {
    const service = Context.get(context, AuthService)
    const bridge = PromiseBridge.make(Layer.succeedContext(context))
    return make({
      headers: (target, call) => {
        const cached = service.unsafeCachedHeaders(target)
        return cached !== undefined
          ? Promise.resolve(cached)
          : bridge.run("SigningFetch.headers", service.headers(target), { signal: call?.signal })
      },
      invalidate: (target, rejected) => bridge.run("SigningFetch.invalidate", service.invalidate(target, rejected))
    }, options)
  })
