/**
 * Ollama (Gemma on Cloud Run): `/api/chat` with NDJSON streaming, tools and `format`,
 * signed with a Google ID token for the service.
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
import { ollama, ollamaTelemetry } from "./internal/model.js"
import * as OllamaClient from "./OllamaClient.js"

/**
 * The options of the low-level client (`OllamaClient.Options`).
 *
 * @since 0.1.0
 * @category Models
 */
export type Options = OllamaClient.Options

const layers = backendLayers(
  OllamaClient.OllamaClient,
  (options: Options) => OllamaClient.make(options),
  ollama,
  ollamaTelemetry
)

/**
 * ModelService with its OllamaClient built from these options.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: (
  options: Options
) => Effect.Effect<ModelService.Service, never, HttpClient.HttpClient | AuthService> = (options) => layers.make(options)

/**
 * ModelService and its OllamaClient in one layer.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: (options: Options) => Layer.Layer<ModelService, never, HttpClient.HttpClient | AuthService> = (
  options
) => layers.layer(options)

/**
 * ModelService over the OllamaClient in context (provide `OllamaClient.layer` or your own).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerModel: Layer.Layer<ModelService, never, OllamaClient.OllamaClient> = layers.layerModel

/**
 * `layer` with options read through `Config`; a missing or invalid value fails with
 * ModelConfigError naming it.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { Ollama } from "effect-adc/model"
 *
 * const Live = Ollama.layerConfig({ url: Config.string("EFFECT_ADC_MODEL_URL") })
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig: (
  options: Config.Config.Wrap<Options>
) => Layer.Layer<ModelService, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> =
  layers.layerConfig
