/**
 * The low-level Ollama wire client: `/api/chat` (one JSON answer, or NDJSON lines)
 * on a Cloud Run service, signed with a Google ID token for the service, with the
 * per-attempt timeout, the retry policy around opening a response and every failure
 * translated into ModelError once. `Ollama.layerModel` turns it into ModelService.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Stream from "effect/Stream"
import type { AuthService } from "../../auth/AuthService.js"
import * as Call from "../internal/call.js"
import { fromConfig, trimSlash } from "../internal/options.js"
import * as StreamDecoder from "../internal/stream.js"
import type * as ModelConfigError from "../ModelConfigError.js"
import * as ModelError from "../ModelError.js"
import type * as ModelResponse from "../ModelResponse.js"
import type * as ModelService from "../ModelService.js"
import * as Ollama from "./internal/protocol.js"

/**
 * The `/api/chat` body: the fields we send (messages with images, tool calls and tool
 * results; tools with a JSON Schema; `format` for structured output; sampling
 * `options`, open to Ollama's other runtime options). `stream` is required: Ollama
 * streams when it is absent. A field left `undefined` is not sent.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const ChatRequest = Ollama.ChatRequest

/**
 * @since 0.2.0
 * @category Models
 */
export type ChatRequest = typeof Ollama.ChatRequest.Encoded

/**
 * The fields of an `/api/chat` response (or NDJSON line) we read; `/api/generate`
 * lines carry `response` instead of `message`.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const ChatResponse = Ollama.ChatResponse

/**
 * @since 0.2.0
 * @category Models
 */
export type ChatResponse = typeof Ollama.ChatResponse.Type

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
export class OllamaClient extends Context.Tag("effect-adc/OllamaClient")<OllamaClient, OllamaClient.Service>() {}

/**
 * @since 0.1.0
 * @category Models
 */
export declare namespace OllamaClient {
  /**
   * @since 0.1.0
   * @category Models
   */
  export interface Service {
    /** The service URL; telemetry reports its host and port (`server.address`, `server.port`). */
    readonly url?: string | undefined
    /** POST `/api/chat` with `stream: false`; the decoded response. */
    readonly chat: (
      body: ChatRequest,
      options?: CallOptions
    ) => Effect.Effect<ChatResponse, ModelError.ModelError>
    /** POST `/api/chat` with `stream: true`; the NDJSON lines as chunks, the last (`done: true`) with the finish. */
    readonly chatStream: (
      body: ChatRequest,
      options?: CallOptions
    ) => Stream.Stream<ModelResponse.ModelStreamChunk, ModelError.ModelError>
  }
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options extends ModelService.BackendOptions {
  /** The service URL (`https://gemma-abc-uc.a.run.app`). */
  readonly url: string
  /** ID token audience; default: the URL's origin. */
  readonly audience?: string | undefined
  /** Where the ID token goes; default `Authorization`. */
  readonly header?: "Authorization" | "X-Serverless-Authorization" | undefined
}

/**
 * The call engine for an Ollama service (its ID token; a GPU cold start takes tens of
 * seconds, hence the default timeout). Shared by the chat and embeddings clients.
 *
 * @internal
 */
export const engine = (options: Options) =>
  Call.make(Call.engineOptions(
    "ollama",
    Call.cloudRunTarget(options.url, options.audience, options.header),
    options,
    "5 minutes"
  ))

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  options: Options
): Effect.Effect<OllamaClient.Service, never, HttpClient.HttpClient | AuthService> =>
  Effect.map(
    engine(options),
    (engine) => {
      const url = `${trimSlash(options.url)}/api/chat`
      const errorUrl = ModelError.urlForErrors(url)
      const context = (model: string | undefined): ModelError.Context => ({ backend: "ollama", model, url: errorUrl })
      return OllamaClient.of({
        url: options.url,
        chat: (body, call = {}) =>
          Effect.flatMap(engine.json(url, body, call), (json) => Ollama.decodeResponse(context(call.model), json)),
        chatStream: (body, call = {}) =>
          engine.stream(
            url,
            body,
            call,
            StreamDecoder.decoder(StreamDecoder.ndjson, () => new Ollama.StreamState(context(call.model)))
          )
      })
    }
  )

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<OllamaClient, never, HttpClient.HttpClient | AuthService> =>
  Layer.effect(OllamaClient, make(options))

/**
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<OllamaClient, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> =>
  fromConfig(options, layer)
