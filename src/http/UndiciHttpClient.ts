/**
 * An `HttpClient` on undici that costs less per request than
 * `NodeHttpClient.layerUndici` when nothing is traced, and is that client when
 * something is.
 *
 * `@effect/platform`'s client does work on every request that only a trace reads, or
 * that a lean client does not need: an `http.client` span (made even under Effect's
 * built-in tracer, which exports nothing), the URL parsed into a `URL`, an
 * interruptible wrapper around the response, and each body read cached through
 * `Effect.cached` and run on a fiber of its own. On this project's 2-core bench machine
 * that is about 0.3 ms of CPU per model call, a quarter of a loopback call's time
 * (docs/performance.md, issue 14).
 *
 * This client sends the same request on the same undici `Dispatcher`:
 *
 * - **Traced** (a tracer other than Effect's built-in one is installed): the request
 *   goes through `NodeHttpClient.makeUndici` unchanged, with its span, its redaction of
 *   the headers in `Headers.currentRedactedNames` and its trace headers.
 * - **Not traced**: one `Dispatcher.request`, no span. The trace context the caller
 *   has (a span of its own, an incoming request's) still goes out as `traceparent` /
 *   `b3`, as the span's propagation would have sent it; with tracing off for the
 *   request (`HttpClient.withTracerDisabledWhen`, `Effect.withTracerEnabled(false)`)
 *   none goes out, as with `@effect/platform`.
 * - Either way: interrupting the request, or a body read, aborts it; a response
 *   dropped unread is aborted when it is garbage-collected; `UndiciRequestOptions` in
 *   the caller's context apply; request errors are `RequestError` (`Transport`) and
 *   body errors `ResponseError` (`Decode`), as `@effect/platform`'s client reports them.
 *
 * Requests with URL params, a hash, or a stream or form body go through
 * `NodeHttpClient.makeUndici` as well (model calls send JSON to a plain URL).
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Undici from "@effect/platform-node/Undici"
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as GlobalValue from "effect/GlobalValue"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as BoundedBody from "../internal/boundedBody.js"
import { bounded } from "../internal/memo.js"
import { untraced, withCallerContext } from "../internal/tracing.js"
import { printableResponse } from "./internal/printable.js"
import { readDecoded, type ReadOptions } from "./internal/readable.js"

/** Where a plain URL goes: undici takes the origin and the path separately. */
interface Target {
  readonly origin: string
  readonly path: string
}

/** A URL's target, or `undefined` for one `URL` cannot parse (the platform client reports it). */
const targetOf = (url: string): Target | undefined => {
  try {
    const parsed = new URL(url)
    return { origin: parsed.origin, path: parsed.pathname + parsed.search }
  } catch {
    return undefined
  }
}

/** A body undici takes as it is, or `undefined` for one the platform client converts. */
const bodyOf = (body: HttpClientRequest.HttpClientRequest["body"]): Uint8Array | string | null | undefined => {
  switch (body._tag) {
    case "Empty":
      return null
    case "Uint8Array":
      return body.body
    case "Raw":
      return typeof body.body === "string" || body.body instanceof Uint8Array ? body.body : undefined
    default:
      return undefined
  }
}

/**
 * A form body as undici's own `FormData`: the platform client hands the body to undici
 * as it is, and undici's brand check refuses any other `FormData` (Node's global one
 * comes from the undici bundled with Node), failing the request with a `Transport` error.
 * A raw body, because `HttpBody.formData` is typed for the DOM's `FormData`; undici sets
 * the multipart content type as it does for a form body.
 */
const undiciForm = (request: HttpClientRequest.HttpClientRequest): HttpClientRequest.HttpClientRequest => {
  if (request.body._tag !== "FormData" || request.body.formData instanceof Undici.FormData) return request
  const form = new Undici.FormData()
  request.body.formData.forEach((value, name) => form.append(name, value))
  const converted = HttpClientRequest.setBody(request, HttpBody.raw(form))
  // the scope `HttpClient.withScope` tied to the request still ends it
  const scoped = scopedRequests.get(request)
  if (scoped !== undefined) scopedRequests.set(converted, scoped)
  return converted
}

/** Aborts a response's request when the response is garbage-collected unread (as `@effect/platform` does). */
const unread = new FinalizationRegistry<AbortController>((controller) => controller.abort())

const noop = () => {}

/**
 * The controllers `HttpClient.withScope` registers per request, aborted when the
 * caller's scope closes: `@effect/platform`'s own map (a `globalValue` of its
 * HttpClient), which its clients read and a lean request must read too.
 */
const scopedRequests = GlobalValue.globalValue(
  "@effect/platform/HttpClient/scopedRequests",
  () => new WeakMap<HttpClientRequest.HttpClientRequest, AbortController>()
)

/** A response on the lean path: the undici response data, and the controller that aborts its request. */
class UndiciResponse extends Inspectable.Class
  implements HttpClientResponse.HttpClientResponse, BoundedBody.BoundedBody
{
  readonly [IncomingMessage.TypeId]: IncomingMessage.TypeId = IncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  private cachedHeaders: Headers.Headers | undefined
  private cachedCookies: Cookies.Cookies | undefined
  private textRead: Promise<string> | undefined
  private bytesRead: Promise<ArrayBuffer> | undefined

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly source: Undici.Dispatcher.ResponseData,
    private readonly controller: AbortController
  ) {
    super()
    // a body error is reported to its reader; unheard, it would crash the process
    source.body.on("error", noop)
    unread.register(this, controller, this)
  }

  get status(): number {
    return this.source.statusCode
  }

  get headers(): Headers.Headers {
    return this.cachedHeaders ??= Headers.fromInput(this.source.headers)
  }

  get cookies(): Cookies.Cookies {
    if (this.cachedCookies !== undefined) return this.cachedCookies
    const header = this.source.headers["set-cookie"]
    return this.cachedCookies = header === undefined
      ? Cookies.empty
      : Cookies.fromSetCookie(Array.isArray(header) ? header : [header])
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  private decodeError(cause: unknown): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }

  /** A body read: interrupting it aborts the request. */
  private read<A>(body: () => Promise<A>): Effect.Effect<A, HttpClientError.ResponseError> {
    return Effect.async<A, HttpClientError.ResponseError>((resume) => {
      unread.unregister(this)
      body().then(
        (value) => resume(Effect.succeed(value)),
        (cause) => resume(Effect.fail(this.decodeError(cause)))
      )
      return Effect.sync(() => this.controller.abort())
    })
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return this.read(() => this.textRead ??= this.source.body.text())
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: (): unknown => text === "" ? null : JSON.parse(text),
        catch: (cause) => this.decodeError(cause)
      }))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return this.read(() => this.bytesRead ??= this.source.body.arrayBuffer())
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => UrlParams.fromInput(new URLSearchParams(text)),
        catch: (cause) => this.decodeError(cause)
      }))
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    // the WHATWG parser, on the bytes and this response's content type
    return Effect.flatMap(this.arrayBuffer, (bytes) =>
      Effect.tryPromise({
        try: () => new Response(bytes, { headers: { "content-type": this.headers["content-type"] ?? "" } }).formData(),
        catch: (cause) => this.decodeError(cause)
      }))
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return this.readBody({ onError: (cause) => this.decodeError(cause) }, BoundedBody.bytes)
  }

  /** The body with its waits bounded inside the read (the model engine's stream deadlines), decoded in it. */
  [BoundedBody.TypeId]<A, E>(
    bounds: BoundedBody.Bounds<E>,
    decoder: () => BoundedBody.Decoder<A, E>
  ): Stream.Stream<A, E> {
    return this.readBody({
      onError: (cause) => bounds.onError(this.decodeError(cause)),
      firstMillis: bounds.firstMillis,
      idleMillis: bounds.idleMillis,
      onTimeout: bounds.onTimeout
    }, decoder)
  }

  /** The body, decoded; the request is aborted when the stream ends before the body did. */
  private readBody<A, E>(
    options: Omit<ReadOptions<E>, "onAbandon">,
    decoder: () => BoundedBody.Decoder<A, E>
  ): Stream.Stream<A, E> {
    return Stream.suspend(() => {
      unread.unregister(this)
      return readDecoded(this.source.body, { ...options, onAbandon: () => this.controller.abort() }, decoder())
    })
  }

  toJSON(): unknown {
    return printableResponse(this)
  }
}

/** undici waits this long for response headers; the caller's own timeout is what bounds a call. */
const headersTimeout = 60 * 60 * 1000

/**
 * The client on `dispatcher`, with `layerContext` under the caller's context (as
 * `HttpClient.layerMergedContext` merges a layer's context): `UndiciRequestOptions`
 * given to the layer apply unless the caller gives its own.
 */
const makeIn = (dispatcher: Undici.Dispatcher, layerContext: Context.Context<never>): HttpClient.HttpClient => {
  const platform = NodeHttpClient.makeUndici(dispatcher)
  const merged = (input: Context.Context<never>) => Context.merge(layerContext, input)
  const traced = (request: HttpClientRequest.HttpClientRequest) =>
    Effect.mapInputContext(platform.execute(request), merged)
  const layerOptions = Context.getOption(layerContext, NodeHttpClient.UndiciRequestOptions)
  // a client calls a few URLs over and over: each parsed once
  const targets = bounded<string, Target | undefined>(256)
  const send = (
    request: HttpClientRequest.HttpClientRequest,
    target: Target,
    body: Uint8Array | string | null,
    options: Undici.Dispatcher.RequestOptions | undefined,
    controller: AbortController
  ) =>
    Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.RequestError>((resume) => {
      dispatcher.request({
        ...options,
        signal: controller.signal,
        method: request.method,
        headers: request.headers,
        origin: target.origin,
        path: target.path,
        body,
        // leave timeouts to the caller's Effect (as the platform client does)
        headersTimeout,
        bodyTimeout: 0
      }).then(
        (source) => resume(Effect.succeed(new UndiciResponse(request, source, controller))),
        (cause) => resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause })))
      )
      return Effect.sync(() => controller.abort())
    })
  return HttpClient.makeWith(
    (effect: Effect.Effect<HttpClientRequest.HttpClientRequest>) =>
      Effect.flatMap(
        effect,
        (request) =>
          Effect.withFiberRuntime<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((fiber) => {
            const body = bodyOf(request.body)
            const target = request.urlParams.length === 0 && Option.isNone(request.hash) && body !== undefined
              ? targets(request.url, () => targetOf(request.url))
              : undefined
            if (target === undefined || body === undefined || !untraced(fiber)) return traced(undiciForm(request))
            const options = Option.orElse(
              Context.getOption(fiber.currentContext, NodeHttpClient.UndiciRequestOptions),
              () => layerOptions
            )
            // no span of ours; the caller's trace context goes out when it has one
            return send(
              withCallerContext(fiber, request),
              target,
              body,
              Option.getOrUndefined(options),
              scopedRequests.get(request) ?? new AbortController()
            )
          })
      ),
    Effect.succeed
  )
}

/**
 * The client on `dispatcher`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (dispatcher: Undici.Dispatcher): HttpClient.HttpClient => makeIn(dispatcher, Context.empty())

/**
 * The client on the `NodeHttpClient.Dispatcher` in context (share one with
 * `NodeHttpClient.layerUndiciWithoutDispatcher`, or bring a configured one). What else
 * the layer is given (`UndiciRequestOptions`) applies under the caller's context, as
 * with `NodeHttpClient.layerUndiciWithoutDispatcher`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerWithoutDispatcher: Layer.Layer<HttpClient.HttpClient, never, NodeHttpClient.Dispatcher> = Layer
  .effect(
    HttpClient.HttpClient,
    Effect.flatMap(
      NodeHttpClient.Dispatcher,
      (dispatcher) => Effect.map(Effect.context<never>(), (context) => makeIn(dispatcher, context))
    )
  )

/**
 * The client on an undici `Agent` of its own, closed with the layer: the layer to
 * give a `ModelService` on Node.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: Layer.Layer<HttpClient.HttpClient> = Layer.provide(
  layerWithoutDispatcher,
  NodeHttpClient.dispatcherLayer
)
