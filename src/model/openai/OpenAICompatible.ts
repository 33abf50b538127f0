/**
 * An OpenAI-compatible server (vLLM on Cloud Run): `/v1/chat/completions` with SSE
 * streaming, tool calls and `response_format` json_schema, signed with a Google ID
 * token — optionally in `X-Serverless-Authorization`, so that `Authorization` can
 * carry the server's own API key.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type { AuthService } from "../../auth/AuthService.js"
import { backendLayers } from "../internal/layers.js"
import type * as ModelConfigError from "../ModelConfigError.js"
import type { ModelService } from "../ModelService.js"
import { openai, openaiTelemetry } from "./internal/model.js"
import * as OpenAICompatibleClient from "./OpenAICompatibleClient.js"

/**
 * The options of the low-level client (`OpenAICompatibleClient.Options`).
 *
 * @since 0.1.0
 * @category Models
 */
export type Options = OpenAICompatibleClient.Options

const layers = backendLayers(
  OpenAICompatibleClient.OpenAICompatibleClient,
  (options: Options) => OpenAICompatibleClient.make(options),
  openai,
  openaiTelemetry
)

/**
 * ModelService with its OpenAICompatibleClient built from these options.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: (
  options: Options
) => Effect.Effect<ModelService.Service, never, HttpClient.HttpClient | AuthService> = (options) => layers.make(options)

/**
 * ModelService and its OpenAICompatibleClient in one layer.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: (options: Options) => Layer.Layer<ModelService, never, HttpClient.HttpClient | AuthService> = (
  options
) => layers.layer(options)

/**
 * ModelService over the OpenAICompatibleClient in context (provide `OpenAICompatibleClient.layer` or your own).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerModel: Layer.Layer<ModelService, never, OpenAICompatibleClient.OpenAICompatibleClient> =
  layers.layerModel

/**
 * `layer` with options read through `Config`; a missing or invalid value fails with
 * ModelConfigError naming it.
 *
 * @example
 * ```ts
 * import { Config, Option } from "effect"
 * import { OpenAICompatible } from "effect-adc/model"
 *
 * const Live = OpenAICompatible.layerConfig({
 *   url: Config.string("EFFECT_ADC_MODEL_URL"),
 *   apiKey: Config.option(Config.redacted("EFFECT_ADC_MODEL_API_KEY")).pipe(Config.map(Option.getOrUndefined))
 * })
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig: (
  options: Config.Config.Wrap<Options>
) => Layer.Layer<ModelService, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> =
  layers.layerConfig
