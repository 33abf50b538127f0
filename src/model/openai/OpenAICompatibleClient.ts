/**
 * The low-level OpenAI-compatible wire client (vLLM on Cloud Run):
 * `/v1/chat/completions` (one JSON answer, or SSE events up to `data: [DONE]`),
 * signed with a Google ID token — in `X-Serverless-Authorization` when the server's own
 * API key takes `Authorization` — with the per-attempt timeout, the retry policy
 * around opening a response and every failure translated into ModelError once.
 * `OpenAICompatible.layerModel` turns it into ModelService.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Stream from "effect/Stream"
import type { AuthService } from "../../auth/AuthService.js"
import type { TokenTarget } from "../../auth/TokenTarget.js"
import * as Call from "../internal/call.js"
import { fromConfig, trimSlash } from "../internal/options.js"
import * as StreamDecoder from "../internal/stream.js"
import type * as ModelConfigError from "../ModelConfigError.js"
import * as ModelError from "../ModelError.js"
import type * as ModelResponse from "../ModelResponse.js"
import type * as ModelService from "../ModelService.js"
import * as OpenAI from "./internal/protocol.js"

/**
 * The `/v1/chat/completions` body: the fields we send (system, user, assistant and
 * tool messages, images as `data:` URLs, tool calls with JSON-text arguments; tools
 * with a JSON Schema; `tool_choice`; `response_format` `json_schema` for structured
 * output; sampling settings, `top_k` being vLLM's extension). `stream` is required:
 * the response's shape depends on it. A field left `undefined` is not sent.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const ChatCompletionRequest = OpenAI.ChatCompletionRequest

/**
 * @since 0.2.0
 * @category Models
 */
export type ChatCompletionRequest = typeof OpenAI.ChatCompletionRequest.Encoded

/**
 * The fields of a chat completion we read (vLLM's extension fields tolerated).
 *
 * @since 0.2.0
 * @category Schemas
 */
export const ChatCompletion = OpenAI.ChatCompletion

/**
 * @since 0.2.0
 * @category Models
 */
export type ChatCompletion = typeof OpenAI.ChatCompletion.Type

/**
 * Per-call settings (headers, per-attempt timeout, stream deadlines).
 *
 * @since 0.2.0
 * @category Models
 */
export type CallOptions = ModelService.CallOptions

/**
 * @since 0.1.0
 * @category Tags
 */
export class OpenAICompatibleClient
  extends Context.Tag("effect-adc/OpenAICompatibleClient")<OpenAICompatibleClient, OpenAICompatibleClient.Service>()
{}

/**
 * @since 0.1.0
 * @category Models
 */
export declare namespace OpenAICompatibleClient {
  /**
   * @since 0.1.0
   * @category Models
   */
  export interface Service {
    /** The service URL; telemetry reports its host and port (`server.address`, `server.port`). */
    readonly url?: string | undefined
    /** The server telemetry names as `gen_ai.provider.name`; default `openai-compatible`. */
    readonly provider?: string | undefined
    /** POST `/v1/chat/completions` with `stream: false`; the decoded completion. */
    readonly chatCompletions: (
      body: ChatCompletionRequest,
      options?: CallOptions
    ) => Effect.Effect<ChatCompletion, ModelError.ModelError>
    /**
     * POST `/v1/chat/completions` with `stream: true`; the SSE events as chunks, the
     * last with the finish, usage and the assembled tool calls.
     */
    readonly chatCompletionsStream: (
      body: ChatCompletionRequest,
      options?: CallOptions
    ) => Stream.Stream<ModelResponse.ModelStreamChunk, ModelError.ModelError>
  }
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options extends ModelService.BackendOptions {
  /** The service URL, without `/v1`. */
  readonly url: string
  /**
   * The path under `url` the OpenAI routes hang from (`{basePath}/chat/completions`).
   * Default `/v1` (vLLM); Vertex AI's OpenAI-compatible endpoint is
   * `/v1beta1/projects/{p}/locations/{l}/endpoints/{id}` (see `VertexOpenAI`).
   */
  readonly basePath?: string | undefined
  /**
   * The token. Default: a Google ID token for `audience` in `header` (a private Cloud
   * Run service); `{ kind: "access" }` for Vertex AI (see `VertexOpenAI`).
   */
  readonly target?: TokenTarget | undefined
  /** ID token audience; default: the URL's origin. */
  readonly audience?: string | undefined
  /** Where the ID token goes; default `Authorization`, or `X-Serverless-Authorization` when `apiKey` is set. */
  readonly header?: "Authorization" | "X-Serverless-Authorization" | undefined
  /** `vllm serve --api-key`: sent as `Authorization: Bearer`. */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /**
   * The server, as telemetry names it in `gen_ai.provider.name` (`vllm`, `sglang`,
   * `llama.cpp`...); default `openai-compatible`.
   */
  readonly provider?: string | undefined
}

/**
 * The call engine for an OpenAI-compatible service: its ID token (moved to
 * `X-Serverless-Authorization` when an API key takes `Authorization`), or `target`.
 * Shared by the chat and embeddings clients.
 *
 * @internal
 */
export const engine = (options: Options) =>
  Call.make(Call.engineOptions(
    "openai-compatible",
    options.target ?? Call.cloudRunTarget(
      options.url,
      options.audience,
      options.header ?? (options.apiKey === undefined ? "Authorization" : "X-Serverless-Authorization")
    ),
    {
      ...options,
      headers: {
        ...options.headers,
        ...(options.apiKey === undefined ? {} : { authorization: `Bearer ${Redacted.value(options.apiKey)}` })
      }
    },
    "5 minutes"
  ))

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  options: Options
): Effect.Effect<OpenAICompatibleClient.Service, never, HttpClient.HttpClient | AuthService> =>
  Effect.map(
    engine(options),
    (engine) => {
      const url = `${trimSlash(options.url)}${trimSlash(options.basePath ?? "/v1")}/chat/completions`
      const errorUrl = ModelError.urlForErrors(url)
      const context = (model: string | undefined): ModelError.Context => ({
        backend: "openai-compatible",
        model,
        url: errorUrl
      })
      return OpenAICompatibleClient.of({
        url: options.url,
        provider: options.provider,
        chatCompletions: (body, call = {}) =>
          Effect.flatMap(engine.json(url, body, call), (json) => OpenAI.decodeResponse(context(call.model), json)),
        chatCompletionsStream: (body, call = {}) =>
          engine.stream(
            url,
            body,
            call,
            StreamDecoder.decoder(StreamDecoder.sse, () => new OpenAI.StreamState(context(call.model)))
          )
      })
    }
  )

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  options: Options
): Layer.Layer<OpenAICompatibleClient, never, HttpClient.HttpClient | AuthService> =>
  Layer.effect(OpenAICompatibleClient, make(options))

/**
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<OpenAICompatibleClient, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> =>
  fromConfig(options, layer)
