/**
 * The low-level Gemini wire client: `generateContent`, `streamGenerateContent?alt=sse`
 * and `countTokens` under one models URL, signed through AuthService, with the
 * per-attempt timeout, the retry policy around opening a response and every failure
 * translated into ModelError once. Bodies are the wire JSON; `GeminiVertex.layerModel`
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
import type { AuthService } from "../auth/AuthService.js"
import type { TokenTarget } from "../auth/TokenTarget.js"
import * as Client from "./internal/client.js"
import { parseJson } from "./internal/common.js"
import { type CommonOptions, fromConfig, trimSlash, warnAboutApiKeys } from "./internal/options.js"
import type * as ModelConfigError from "./ModelConfigError.js"
import type * as ModelError from "./ModelError.js"
import * as RetryPolicy from "./RetryPolicy.js"

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
    readonly backend: ModelError.Backend
    /** POST `{model}:generateContent`; the response's JSON body. */
    readonly generateContent: (
      model: string,
      body: unknown,
      options?: Client.CallOptions
    ) => Effect.Effect<unknown, ModelError.ModelError>
    /** POST `{model}:streamGenerateContent?alt=sse`; each SSE event's JSON payload. */
    readonly streamGenerateContent: (
      model: string,
      body: unknown,
      options?: Client.CallOptions
    ) => Stream.Stream<unknown, ModelError.ModelError>
    /** POST `{model}:countTokens`; the response's JSON body. */
    readonly countTokens: (
      model: string,
      body: unknown,
      options?: Client.CallOptions
    ) => Effect.Effect<unknown, ModelError.ModelError>
  }
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options extends CommonOptions {
  /** The backend the errors name. */
  readonly backend: "gemini-vertex" | "gemini-api"
  /** The URL the model names are appended to, e.g. `https://generativelanguage.googleapis.com/v1beta/models`. */
  readonly modelsUrl: string
  /** The token: an access token for Google hosts, an ID token for a Cloud Run service. */
  readonly target: TokenTarget
}

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options): Effect.Effect<GeminiClient.Service, never, HttpClient.HttpClient | AuthService> =>
  Effect.gen(function*() {
    yield* warnAboutApiKeys
    const client = yield* Client.make({
      backend: options.backend,
      target: options.target,
      origins: options.origins,
      headers: options.headers,
      timeout: options.timeout ?? "2 minutes",
      retry: options.retry ?? RetryPolicy.defaultPolicy
    })
    const base = trimSlash(options.modelsUrl)
    const url = (model: string, method: string) => `${base}/${encodeURIComponent(model)}:${method}`
    return GeminiClient.of({
      backend: options.backend,
      generateContent: (model, body, call = {}) => client.postJson(url(model, "generateContent"), body, call),
      countTokens: (model, body, call = {}) => client.postJson(url(model, "countTokens"), body, call),
      streamGenerateContent: (model, body, call = {}) =>
        Stream.unwrap(Effect.map(
          client.post(`${url(model, "streamGenerateContent")}?alt=sse`, body, call),
          (response) =>
            Client.sseData(options.backend, response).pipe(
              Stream.mapEffect((data) => parseJson(options.backend, data, "an SSE event"))
            )
        ))
    })
  })

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<GeminiClient, never, HttpClient.HttpClient | AuthService> =>
  Layer.effect(GeminiClient, make(options))

/**
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<GeminiClient, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> =>
  fromConfig(options, layer)
