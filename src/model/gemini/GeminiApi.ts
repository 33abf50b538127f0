/**
 * Gemini through the Generative Language API (`generativelanguage.googleapis.com`)
 * with an OAuth access token and `x-goog-user-project` for the quota project: no API
 * key anywhere in the code path.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type { AuthService } from "../../auth/AuthService.js"
import type { TokenTarget } from "../../auth/TokenTarget.js"
import { backendLayers } from "../internal/layers.js"
import { trimSlash } from "../internal/options.js"
import type * as ModelConfigError from "../ModelConfigError.js"
import type { BackendOptions, ModelService } from "../ModelService.js"
import * as GeminiClient from "./GeminiClient.js"
import { gemini, geminiTelemetry } from "./internal/model.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options extends BackendOptions {
  /** Billed and quota-checked project (`x-goog-user-project`). */
  readonly quotaProject?: string | undefined
  /** Default `v1beta`. */
  readonly apiVersion?: string | undefined
  /** Default `https://generativelanguage.googleapis.com`; a Cloud Run Gemma URL works too (with `target`). */
  readonly baseUrl?: string | undefined
  /** The name an error uses for `baseUrl` (ModelConfig passes its environment variable). */
  readonly urlSetting?: string | undefined
  /** Default: an access token (cloud-platform scope) with the quota project. */
  readonly target?: TokenTarget | undefined
}

/**
 * The GeminiClient options for the Gemini API.
 *
 * @since 0.1.0
 * @category Utils
 */
export const clientOptions = (options: Options = {}): GeminiClient.Options => ({
  ...options,
  backend: "gemini-api",
  modelsUrl: `${trimSlash(options.baseUrl ?? "https://generativelanguage.googleapis.com")}/${
    options.apiVersion ?? "v1beta"
  }/models`,
  urlSetting: options.urlSetting ?? "baseUrl",
  target: options.target ?? { kind: "access", quotaProject: options.quotaProject }
})

const layers = backendLayers(
  GeminiClient.GeminiClient,
  (options: Options) => GeminiClient.make(clientOptions(options)),
  gemini,
  geminiTelemetry
)

/**
 * ModelService with its GeminiClient built from these options.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<ModelService.Service, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> = (
  options = {}
) => layers.make(options)

/**
 * ModelService and its GeminiClient in one layer.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: (
  options?: Options
) => Layer.Layer<ModelService, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> = (
  options = {}
) => layers.layer(options)

/**
 * ModelService over the GeminiClient in context (provide `GeminiClient.layer` or your own).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerModel: Layer.Layer<ModelService, never, GeminiClient.GeminiClient> = layers.layerModel

/**
 * `layer` with options read through `Config`; a missing or invalid value fails with
 * ModelConfigError naming it.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { GeminiApi } from "effect-adc/model"
 *
 * const Live = GeminiApi.layerConfig({ quotaProject: Config.string("EFFECT_ADC_QUOTA_PROJECT") })
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig: (
  options: Config.Config.Wrap<Options>
) => Layer.Layer<ModelService, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> =
  layers.layerConfig
