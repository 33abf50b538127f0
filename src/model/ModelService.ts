/**
 * The one service user code requires: `generate`, `stream` and `countTokens` with one
 * request type for every backend. Which backend answers is Layer configuration
 * (`GeminiVertex`, `GeminiApi`, `Ollama`, `OpenAICompatible`, a `Router`, or
 * `ModelConfig.layerConfig` from the environment). Each backend module exports
 * `make`, `layer` (the service with its wire client), `layerConfig` (options through
 * `Config`) and `layerModel` (the service over a wire client you provide:
 * `GeminiClient`, `OllamaClient`, `OpenAICompatibleClient`). Which backend answered a
 * call is on its errors (`backend`, `model`, `url`), not on the service.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type * as ModelError from "./ModelError.js"
import type * as ModelRequest from "./ModelRequest.js"
import type * as ModelResponse from "./ModelResponse.js"
import type * as RetryPolicy from "./RetryPolicy.js"

/**
 * @since 0.1.0
 * @category Tags
 */
export class ModelService extends Context.Tag("effect-adc/ModelService")<ModelService, ModelService.Service>() {}

/**
 * @since 0.1.0
 * @category Models
 */
export declare namespace ModelService {
  /**
   * @since 0.1.0
   * @category Models
   */
  export interface Service {
    /** One answer. With `output`, `value` is the answer decoded with its schema. */
    readonly generate: <A = unknown>(
      request: ModelRequest.ModelRequest<A>
    ) => Effect.Effect<ModelResponse.ModelResponse<A>, ModelError.ModelError>
    /**
     * The answer as it is produced. The last chunk carries the finish (reason, usage);
     * a body that ends before it fails with StreamTruncated. Interrupting the stream
     * closes the connection.
     */
    readonly stream: <A = unknown>(
      request: ModelRequest.ModelRequest<A>
    ) => Stream.Stream<ModelResponse.ModelStreamChunk, ModelError.ModelError>
    /** Prompt tokens (Gemini backends; the others fail with InvalidRequest). */
    readonly countTokens: <A = unknown>(
      request: ModelRequest.ModelRequest<A>
    ) => Effect.Effect<number, ModelError.ModelError>
  }
}

/**
 * Options every backend and wire client takes.
 *
 * @since 0.2.0
 * @category Models
 */
export interface BackendOptions {
  /** Per-attempt timeout (a request's own `timeout` wins). */
  readonly timeout?: Duration.DurationInput | undefined
  /** Default: `RetryPolicy.defaultPolicy`. */
  readonly retry?: RetryPolicy.RetryPolicy | undefined
  /** Headers added to every request. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Extra origins the token may be sent to (a loopback emulator, a PSC endpoint). */
  readonly origins?: ReadonlyArray<string> | undefined
  /** A server delay (`Retry-After`) above this fails at once with the error; default 60 seconds. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /** Streams: the longest wait for the first data after the response opened; default the timeout. */
  readonly firstChunkTimeout?: Duration.DurationInput | undefined
  /** Streams: the longest silence between two reads; default 60 seconds. */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /**
   * Whether the HttpClient opens its span per request (`http.client POST`, with the
   * token headers redacted) when a tracer is installed. Default `true`; `false` drops
   * the span and the `traceparent` header. With no tracer installed (Effect's built-in
   * tracer, which exports nothing) no span is made either way, and the caller's trace
   * context, if any, still goes out as `traceparent` / `b3` (docs/observability.md).
   */
  readonly httpSpans?: boolean | undefined
}

/**
 * Per-call settings of a wire client: the model (named by errors), the request's own
 * headers, its per-attempt timeout and, for streams, the first-chunk deadline and the
 * idle timeout.
 *
 * @since 0.2.0
 * @category Models
 */
export interface CallOptions {
  readonly model?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly firstChunkTimeout?: Duration.DurationInput | undefined
  readonly idleTimeout?: Duration.DurationInput | undefined
}
