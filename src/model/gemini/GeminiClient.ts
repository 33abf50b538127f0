/**
 * The low-level Gemini wire client: `generateContent`, `streamGenerateContent?alt=sse`
 * and `countTokens` under one models URL, signed through AuthService, with the
 * per-attempt timeout, the retry policy around opening a response and every failure
 * translated into ModelError once. Bodies are the wire JSON, typed by the exported
 * request and response Schemas; `GeminiVertex.layerModel`
 * and `GeminiApi.layerModel` turn this client into ModelService. It serves Vertex AI,
 * the Gemini API, and a Cloud Run service speaking the Gemini protocol (Google's
 * prebuilt Gemma images) with an ID token.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type { AuthService } from "../../auth/AuthService.js"
import type { TokenTarget } from "../../auth/TokenTarget.js"
import * as Call from "../internal/call.js"
import { fromConfig, requireHttps, trimSlash, warnAboutApiKeys } from "../internal/options.js"
import * as StreamDecoder from "../internal/stream.js"
import type * as ModelConfigError from "../ModelConfigError.js"
import * as ModelError from "../ModelError.js"
import type * as ModelResponse from "../ModelResponse.js"
import type * as ModelService from "../ModelService.js"
import * as Gemini from "./internal/protocol.js"

/**
 * The `generateContent` / `streamGenerateContent` body (`model` goes in the URL): the
 * fields we send (contents of text, thought, inline data, function call and function
 * response parts; system instruction; function declarations with a JSON Schema; tool
 * config; generation config with `responseJsonSchema` for structured output). A field
 * left `undefined` is not sent.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const GenerateContentRequest = Gemini.GenerateContentRequest

/**
 * @since 0.2.0
 * @category Models
 */
export type GenerateContentRequest = typeof Gemini.GenerateContentRequest.Encoded

/**
 * The `countTokens` body: `contents`, and on Vertex AI `systemInstruction` too.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const CountTokensRequest = Gemini.CountTokensRequest

/**
 * @since 0.2.0
 * @category Models
 */
export type CountTokensRequest = typeof Gemini.CountTokensRequest.Encoded

/**
 * The fields of a `generateContent` response we read (candidates with their content
 * parts, finish reason and message, safety ratings, grounding metadata; prompt
 * feedback; usage; model version; response id). Other fields are kept as received.
 *
 * @since 0.2.0
 * @category Schemas
 */
export const GenerateContentResponse = Gemini.GenerateContentResponse

/**
 * @since 0.2.0
 * @category Models
 */
export type GenerateContentResponse = typeof Gemini.GenerateContentResponse.Type

/**
 * @since 0.2.0
 * @category Schemas
 */
export const CountTokensResponse = Gemini.CountTokensResponse

/**
 * @since 0.2.0
 * @category Models
 */
export type CountTokensResponse = typeof Gemini.CountTokensResponse.Type

/**
 * Per-call settings: the request's own headers, per-attempt timeout, and for streams
 * the first-chunk deadline and the idle timeout between reads.
 *
 * @since 0.2.0
 * @category Models
 */
export type CallOptions = Omit<ModelService.CallOptions, "model">

/**
 * @since 0.1.0
 * @category Tags
 */
export class GeminiClient extends Context.Tag("effect-adc/GeminiClient")<GeminiClient, GeminiClient.Service>() {}

/**
 * @since 0.1.0
 * @category Models
 */
export declare namespace GeminiClient {
  /**
   * @since 0.1.0
   * @category Models
   */
  export interface Service {
    /** Which backend the errors name (`gemini-vertex` or `gemini-api`). */
    readonly backend: "gemini-vertex" | "gemini-api"
    /** The models URL the calls go under; telemetry reports its host and port (`server.address`, `server.port`). */
    readonly url?: string | undefined
    /** POST `{model}:generateContent`; the decoded response. */
    readonly generateContent: (
      model: string,
      body: GenerateContentRequest,
      options?: CallOptions
    ) => Effect.Effect<GenerateContentResponse, ModelError.ModelError>
    /**
     * POST `{model}:streamGenerateContent?alt=sse`; the events as chunks, the last
     * carrying the finish (or StreamTruncated when the body ends before it).
     */
    readonly streamGenerateContent: (
      model: string,
      body: GenerateContentRequest,
      options?: CallOptions
    ) => Stream.Stream<ModelResponse.ModelStreamChunk, ModelError.ModelError>
    /** POST `{model}:countTokens`; the decoded response. */
    readonly countTokens: (
      model: string,
      body: CountTokensRequest,
      options?: CallOptions
    ) => Effect.Effect<CountTokensResponse, ModelError.ModelError>
  }
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options extends ModelService.BackendOptions {
  /** The backend the errors name. */
  readonly backend: "gemini-vertex" | "gemini-api"
  /** The URL the model names are appended to, e.g. `https://generativelanguage.googleapis.com/v1beta/models`. */
  readonly modelsUrl: string
  /** The token: an access token for Google hosts, an ID token for a Cloud Run service. */
  readonly target: TokenTarget
  /** The setting `modelsUrl` came from, named by the error when it is plain http to a non-loopback host. */
  readonly urlSetting?: string | undefined
}

/**
 * The checked base URL (a plain `http://` URL off loopback is refused), the call engine,
 * and each method's URL with the context its errors carry (built once per call). Shared
 * by the generation and embeddings clients.
 *
 * @internal
 */
export const connect = (options: Options) =>
  Effect.gen(function*() {
    yield* requireHttps(options.modelsUrl, options.urlSetting ?? "modelsUrl")
    yield* warnAboutApiKeys
    const engine = yield* Call.make(Call.engineOptions(options.backend, options.target, options, "2 minutes"))
    const backend = options.backend
    const base = trimSlash(options.modelsUrl)
    // the URL of a (model, method) and the context its errors carry (the engine's)
    const endpoint = (model: string, method: string) => {
      const url = `${base}/${encodeURIComponent(model)}:${method}`
      return { url, context: engine.context(url, model) }
    }
    return { backend, base, endpoint, engine }
  })

/**
 * The client. A plain `http://` URL to a host other than loopback is refused (the
 * token would cross the network in clear) with ModelConfigError naming the setting.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  options: Options
): Effect.Effect<GeminiClient.Service, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> =>
  Effect.gen(function*() {
    const { backend, base, endpoint, engine } = yield* connect(options)
    return GeminiClient.of({
      backend,
      url: base,
      generateContent: (model, body, call = {}) => {
        const { context, url } = endpoint(model, "generateContent")
        return Effect.flatMap(
          engine.json(url, body, { ...call, model }),
          (json) => Gemini.decodeResponse(context, json)
        )
      },
      countTokens: (model, body, call = {}) => {
        const { context, url } = endpoint(model, "countTokens")
        return Effect.flatMap(
          engine.json(url, body, { ...call, model }),
          (json) => Gemini.decodeCountTokens(context, json)
        )
      },
      streamGenerateContent: (model, body, call = {}) => {
        const { context, url } = endpoint(model, "streamGenerateContent")
        return engine.stream(
          `${url}?alt=sse`,
          body,
          { ...call, model },
          StreamDecoder.decoder(StreamDecoder.sse, () => new Gemini.StreamState(context))
        )
      }
    })
  })

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  options: Options
): Layer.Layer<GeminiClient, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> =>
  Layer.effect(GeminiClient, make(options))

/**
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<GeminiClient, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> =>
  fromConfig(options, layer)
