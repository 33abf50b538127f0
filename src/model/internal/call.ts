/**
 * The call engine every wire client uses: requests signed with the AuthService
 * captured at construction (`AuthHttpClient.sign`: 401 → invalidate + replay once),
 * a per-attempt timeout, the retry policy around opening a response (a server delay
 * above `maxRetryAfter` fails at once), streamed bodies bounded by a first-chunk
 * deadline and an idle timeout, and every failure translated into a ModelError once,
 * with the call's context (backend, model, origin + path) and its cause as scrubbed
 * text (never the request: it holds the token).
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { AuthError } from "../../auth/AuthError.js"
import { AuthService } from "../../auth/AuthService.js"
import type { TokenTarget } from "../../auth/TokenTarget.js"
import * as AuthHttpClient from "../../http/AuthHttpClient.js"
import * as BoundedBody from "../../internal/boundedBody.js"
import { bounded } from "../../internal/memo.js"
import { scrub } from "../../internal/scrub.js"
import { unwrap } from "../../internal/streams.js"
import { tracingOff, untraced, withCallerContext } from "../../internal/tracing.js"
import * as ModelError from "../ModelError.js"
import { ModelLimits } from "../ModelLimits.js"
import type * as ModelService from "../ModelService.js"
import * as RetryPolicy from "../RetryPolicy.js"
import { parseWireJson } from "./common.js"
import { fromResponse, unlessPolluted } from "./errors.js"
import * as internalRetry from "./retry.js"
import { deadlines, through } from "./stream.js"
import { isLiveClock, timeoutFail, timerMillis } from "./timeout.js"

/** @internal */
export interface EngineOptions {
  readonly backend: ModelError.Backend
  readonly target: TokenTarget
  /** Extra origins the token may go to (a loopback emulator, a PSC endpoint). */
  readonly origins?: ReadonlyArray<string> | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly timeout: Duration.DurationInput
  readonly retry: RetryPolicy.RetryPolicy
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  readonly firstChunkTimeout?: Duration.DurationInput | undefined
  readonly idleTimeout?: Duration.DurationInput | undefined
  /** The HttpClient's span per request; default true. */
  readonly httpSpans?: boolean | undefined
  /** Shared limits consulted before each attempt; default the `ModelLimits` in context, if any. */
  readonly limits?: ModelLimits.Service | undefined
}

/** @internal */
export type CallOptions = ModelService.CallOptions

/** @internal */
export interface Engine {
  readonly backend: ModelError.Backend
  /** The context errors of a call to `url` carry (backend, model, the URL without its query). */
  readonly context: (url: string, model: string | undefined) => ModelError.Context
  /** POST JSON and read the JSON body, all inside one attempt's timeout, retried per policy. */
  readonly json: (url: string, body: unknown, options: CallOptions) => Effect.Effect<unknown, ModelError.ModelError>
  /**
   * POST JSON and stream the body as `decoder` decodes it (opening retried per policy;
   * the body's waits bounded by the deadlines).
   */
  readonly stream: <A>(
    url: string,
    body: unknown,
    options: CallOptions,
    decoder: () => BoundedBody.Decoder<A, ModelError.ModelError>
  ) => Stream.Stream<A, ModelError.ModelError>
}

/** A cause as text, scrubbed: what an error may keep. */
const causeText = (cause: unknown): string => {
  const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
  const inner = cause instanceof Error && cause.cause !== undefined ? ` (${causeText(cause.cause)})` : ""
  return scrub(`${text}${inner}`).slice(0, 500)
}

// A failure below the decode is `PrototypePolluted` when the prototype is polluted: a
// library on the way (undici reads an `error` field) may have failed on an inherited
// value, which its message would then carry.

/** @internal */
export const fromAuthError = (context: ModelError.Context, error: AuthError): ModelError.ModelError =>
  unlessPolluted(context, () =>
    new ModelError.CredentialsUnavailable({
      ...context,
      authError: error._tag,
      detail: scrub(error.message),
      cause: error
    }))

/** @internal */
export const fromRequestError = (context: ModelError.Context, error: HttpClientError.RequestError) =>
  unlessPolluted(context, () =>
    new ModelError.Transport({
      ...context,
      detail: scrub(error.description ?? error.reason),
      cause: causeText(error.cause ?? error.description ?? error.reason)
    }))

/** A failure while reading a body: the connection broke (not a body we misread). @internal */
export const fromBodyError = (context: ModelError.Context, error: HttpClientError.ResponseError) =>
  unlessPolluted(context, () =>
    new ModelError.Transport({
      ...context,
      status: error.response.status,
      detail: "the connection broke while the body was read",
      cause: causeText(error.cause ?? error.description ?? error.reason)
    }))

/**
 * Engine options from a wire client's `BackendOptions`: the settings as given, the
 * retry policy defaulted, the timeout defaulted to the backend's own.
 *
 * @internal
 */
export const engineOptions = (
  backend: ModelError.Backend,
  target: TokenTarget,
  options: ModelService.BackendOptions,
  defaultTimeout: Duration.DurationInput
): EngineOptions => ({
  backend,
  target,
  origins: options.origins,
  headers: options.headers,
  timeout: options.timeout ?? defaultTimeout,
  retry: options.retry ?? RetryPolicy.defaultPolicy,
  maxRetryAfter: options.maxRetryAfter,
  firstChunkTimeout: options.firstChunkTimeout,
  idleTimeout: options.idleTimeout,
  httpSpans: options.httpSpans
})

/**
 * The ID token a private Cloud Run service takes: its audience (default the service
 * URL's origin) and the header it goes in.
 *
 * @internal
 */
export const cloudRunTarget = (
  url: string,
  audience: string | undefined,
  header: "Authorization" | "X-Serverless-Authorization" | undefined
): TokenTarget => ({ kind: "id", audience: audience ?? new URL(url).origin, header })

/** A duration given per call (most calls give none: the engine's own is decoded once). */
const decodeOr = (input: Duration.DurationInput | undefined, otherwise: Duration.Duration) =>
  input === undefined ? otherwise : Duration.decode(input)

const noHeaders: Readonly<Record<string, string>> = {}

/** @internal */
export const make = (options: EngineOptions) =>
  Effect.gen(function*() {
    const auth = yield* AuthService
    const base = yield* HttpClient.HttpClient
    const signing = AuthHttpClient.sign(auth, options.target, { origins: options.origins })
    // without the HttpClient's span (`httpSpans: false`, or an untraced fiber: see tracing.ts)
    const plain = signing(HttpClient.withTracerDisabledWhen(base, () => true))
    const spanned = options.httpSpans === false ? plain : signing(base)
    type Executed = ReturnType<typeof plain.execute>
    const execute = (request: HttpClientRequest.HttpClientRequest): Executed =>
      options.httpSpans === false ? plain.execute(request) : Effect.withFiberRuntime<
        Effect.Effect.Success<Executed>,
        Effect.Effect.Error<Executed>
      >((fiber) => {
        // traced, or tracing off (then the client makes no span and sends no context)
        if (!untraced(fiber) || tracingOff(fiber)) return spanned.execute(request)
        // Effect's built-in tracer: no span (nothing exports it); the caller's trace
        // context still goes out, as the span's propagation would send it
        return plain.execute(withCallerContext(fiber, request))
      })
    const backend = options.backend
    const retrying = internalRetry.retrying(options.retry, options.maxRetryAfter)
    const timeout = Duration.decode(options.timeout)
    const idleTimeout = Duration.decode(options.idleTimeout ?? "60 seconds")
    const firstChunkTimeout = options.firstChunkTimeout === undefined
      ? undefined
      : Duration.decode(options.firstChunkTimeout)
    const engineHeaders = options.headers ?? noHeaders
    const limits = options.limits ?? Option.getOrUndefined(yield* Effect.serviceOption(ModelLimits))
    const guarded = <A>(context: ModelError.Context, attempt: Effect.Effect<A, ModelError.ModelError>) =>
      limits === undefined ? retrying(attempt) : limits.guard(context, attempt, retrying)

    const open = (
      url: string,
      body: unknown,
      call: CallOptions,
      context: ModelError.Context
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, ModelError.ModelError> =>
      execute(
        HttpClientRequest.bodyUnsafeJson(
          HttpClientRequest.post(url, {
            headers: call.headers === undefined ? engineHeaders : { ...engineHeaders, ...call.headers }
          }),
          body
        )
      ).pipe(
        // one frame for both outcomes (a failure of the error path below is not caught here)
        Effect.matchEffect({
          onFailure: (error) => {
            switch (error._tag) {
              case "RequestError":
                return Effect.fail(fromRequestError(context, error))
              case "ResponseError":
                return Effect.fail(fromBodyError(context, error))
              default:
                return Effect.fail(fromAuthError(context, error))
            }
          },
          onSuccess: (response) =>
            response.status < 400 ? Effect.succeed(response) : response.text.pipe(
              Effect.orElseSucceed(() => ""),
              Effect.flatMap((text) =>
                Effect.fail(fromResponse({
                  ...context,
                  status: response.status,
                  headers: response.headers,
                  body: text
                }))
              )
            )
        })
      )

    const withTimeout = <A>(
      effect: Effect.Effect<A, ModelError.ModelError>,
      duration: Duration.Duration,
      context: ModelError.Context
    ) =>
      timeoutFail(
        effect,
        duration,
        () => new ModelError.Timeout({ ...context, detail: `no answer within ${Duration.format(duration)}` }),
        // the attempt sets no FiberRef its caller reads (the signing's context changes end
        // with the request): joining the child's FiberRefs back costs a diff and patch per call
        false
      )

    // the URL errors name, parsed once per URL (an engine calls a few URLs over and over)
    const errorUrls = bounded<string, string>(256)
    const errorUrl = (url: string) => errorUrls(url, () => ModelError.urlForErrors(url))
    const contextOf = (url: string, model: string | undefined): ModelError.Context => ({
      backend,
      model,
      url: errorUrl(url)
    })

    const readJson = (response: HttpClientResponse.HttpClientResponse, context: ModelError.Context) =>
      Effect.matchEffect(response.text, {
        onFailure: (error) => Effect.fail(fromBodyError(context, error)),
        // every caller decodes the body with `decodeWire`, which looks at the prototypes
        onSuccess: (text) => parseWireJson({ ...context, status: response.status }, text, "the body")
      })

    const engine: Engine = {
      backend,
      context: contextOf,
      json: (url, body, call) => {
        const context = contextOf(url, call.model)
        return guarded(
          context,
          withTimeout(
            Effect.flatMap(open(url, body, call, context), (response) => readJson(response, context)),
            decodeOr(call.timeout, timeout),
            context
          )
        )
      },
      stream: (url, body, call, decoder) => {
        const context = contextOf(url, call.model)
        const attempt = decodeOr(call.timeout, timeout)
        const first = call.firstChunkTimeout !== undefined
          ? Duration.decode(call.firstChunkTimeout)
          : firstChunkTimeout ?? attempt
        const idle = decodeOr(call.idleTimeout, idleTimeout)
        return unwrap(Effect.flatMap(
          guarded(context, withTimeout(open(url, body, call, context), attempt, context)),
          (response) =>
            Effect.clockWith((clock) => Effect.succeed(bodyOf(response, clock, context, first, idle, decoder)))
        ))
      }
    }
    return engine
  })

/** A stream that waited too long: for its first bytes (`firstChunkTimeout`) or between two reads (`idleTimeout`). */
const silent = (context: ModelError.Context, started: boolean, after: Duration.Duration) =>
  new ModelError.Timeout({
    ...context,
    detail: started
      ? `the stream went silent: no data for ${Duration.format(after)} (idleTimeout)`
      : `the stream sent no data within ${Duration.format(after)} of opening (firstChunkTimeout)`
  })

/**
 * A streamed body, decoded by `decoder`, its waits bounded by the deadlines and its
 * errors as `ModelError`: inside the client's own read when the response offers that and
 * plain timers measure the clock's time (`boundedBody.ts`: one loop reads, bounds and
 * decodes), else around each pull of `response.stream`, decoded after it.
 */
const bodyOf = <A>(
  response: HttpClientResponse.HttpClientResponse,
  clock: Clock.Clock,
  context: ModelError.Context,
  first: Duration.Duration,
  idle: Duration.Duration,
  decoder: () => BoundedBody.Decoder<A, ModelError.ModelError>
): Stream.Stream<A, ModelError.ModelError> =>
  BoundedBody.isBoundedBody(response) && isLiveClock(clock)
    ? response[BoundedBody.TypeId]<A, ModelError.ModelError>({
      firstMillis: timerMillis(first),
      idleMillis: timerMillis(idle),
      onTimeout: (started) => silent(context, started, started ? idle : first),
      onError: (error) => fromBodyError(context, error)
    }, decoder)
    : response.stream.pipe(
      Stream.catchTag("ResponseError", (error) => Stream.fail(fromBodyError(context, error))),
      deadlines(first, idle, (started, after) => silent(context, started, after)),
      through(decoder)
    )
