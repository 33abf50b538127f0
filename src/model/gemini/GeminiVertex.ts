/**
 * Gemini on Vertex AI: `{location}-aiplatform.googleapis.com`, the `global` endpoint
 * `aiplatform.googleapis.com` or the multi-region `aiplatform.{us,eu}.rep.googleapis.com`,
 * publisher models, with an access token.
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
import { vertexEndpoint } from "../internal/vertex.js"
import type * as ModelConfigError from "../ModelConfigError.js"
import type { BackendOptions, ModelService } from "../ModelService.js"
import * as GeminiClient from "./GeminiClient.js"
import { gemini, geminiTelemetry } from "./internal/model.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options extends BackendOptions {
  readonly project: string
  /** A region (`us-central1`), a multi-region (`us`, `eu`) or `global`. */
  readonly location: string
  /** Default `v1`. */
  readonly apiVersion?: string | undefined
  /** Default: the regional or global aiplatform host. */
  readonly baseUrl?: string | undefined
  /** The name an error uses for `baseUrl` (ModelConfig passes its environment variable). */
  readonly urlSetting?: string | undefined
  /** Default: an access token (cloud-platform scope). */
  readonly target?: TokenTarget | undefined
}

/**
 * The endpoint for a location: `global` → `https://aiplatform.googleapis.com`, the
 * multi-region locations `us` and `eu` → `https://aiplatform.us.rep.googleapis.com` and
 * `https://aiplatform.eu.rep.googleapis.com`, a region →
 * `https://{location}-aiplatform.googleapis.com`.
 *
 * @example
 * ```ts
 * import { GeminiVertex } from "effect-adc/model"
 *
 * GeminiVertex.endpoint("eu") // "https://aiplatform.eu.rep.googleapis.com"
 * ```
 *
 * @since 0.1.0
 * @category Utils
 */
export const endpoint = (location: string): string => vertexEndpoint(location)

/**
 * The GeminiClient options for Vertex AI.
 *
 * @since 0.1.0
 * @category Utils
 */
export const clientOptions = (options: Options): GeminiClient.Options => ({
  ...options,
  backend: "gemini-vertex",
  modelsUrl: `${trimSlash(options.baseUrl ?? endpoint(options.location))}/${options.apiVersion ?? "v1"}` +
    `/projects/${encodeURIComponent(options.project)}/locations/${encodeURIComponent(options.location)}` +
    `/publishers/google/models`,
  urlSetting: options.urlSetting ?? "baseUrl",
  target: options.target ?? { kind: "access" }
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
  options: Options
) => Effect.Effect<ModelService.Service, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> = (
  options
) => layers.make(options)

/**
 * ModelService and its GeminiClient in one layer.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: (
  options: Options
) => Layer.Layer<ModelService, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> = (options) =>
  layers.layer(options)

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
 * import { GeminiVertex } from "effect-adc/model"
 *
 * const Live = GeminiVertex.layerConfig({
 *   project: Config.string("GOOGLE_CLOUD_PROJECT"),
 *   location: Config.withDefault(Config.string("GOOGLE_CLOUD_LOCATION"), "global")
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
