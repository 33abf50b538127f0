/**
 * Embeddings through the Generative Language API (`generativelanguage.googleapis.com`)
 * with an OAuth access token and `x-goog-user-project`, no API key:
 * `batchEmbedContents`, at most 100 texts per call (the API's limit). Task type,
 * title and output dimensionality are sent per text; `autoTruncate` is not an option of
 * this API and fails before sending.
 *
 * @since 0.3.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type { AuthService } from "../../auth/AuthService.js"
import * as GeminiApi from "../gemini/GeminiApi.js"
import type * as ModelConfigError from "../ModelConfigError.js"
import type * as ModelError from "../ModelError.js"
import type { BatchOptions, EmbeddingService } from "./EmbeddingService.js"
import * as GeminiEmbeddingClient from "./GeminiEmbeddingClient.js"
import { check, embedInParts } from "./internal/batch.js"
import { embeddingLayers } from "./internal/layers.js"

/**
 * The options of `GeminiApi` (quota project, API version, base URL, token target and
 * the shared backend options), and how batches are split.
 *
 * @since 0.3.0
 * @category Models
 */
export interface Options extends GeminiApi.Options, BatchOptions {}

/**
 * `batchEmbedContents` takes at most 100 requests per call.
 *
 * @since 0.3.0
 * @category Utils
 */
export const maxBatchSize = 100

const embeddings = (client: GeminiEmbeddingClient.GeminiEmbeddingClient.Service, batch: BatchOptions) =>
  ({
    embed: (request) => {
      const context: ModelError.Context = { backend: client.backend, model: request.model }
      const name = `models/${request.model}`
      return Effect.zipRight(
        check(context, request, { autoTruncate: "the Gemini API has no autoTruncate; it truncates long texts itself" }),
        embedInParts(context, request, { maxInputs: maxBatchSize }, batch, (inputs) =>
          Effect.map(
            client.batchEmbedContents(request.model, {
              requests: inputs.map((text) => ({
                model: name,
                content: { parts: [{ text }] },
                taskType: request.taskType,
                title: request.title,
                outputDimensionality: request.dimensions
              }))
            }, { headers: request.headers, timeout: request.timeout }),
            (response) => ({
              embeddings: response.embeddings.map((e) => e.values),
              inputTokens: response.usageMetadata?.promptTokenCount
            })
          ))
      )
    }
  }) satisfies EmbeddingService.Service

const layers = embeddingLayers(
  GeminiEmbeddingClient.GeminiEmbeddingClient,
  (options: Options) => GeminiEmbeddingClient.make(GeminiApi.clientOptions(options)),
  embeddings
)

/**
 * EmbeddingService with its wire client built from these options.
 *
 * @since 0.3.0
 * @category Constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<EmbeddingService.Service, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> = (
  options = {}
) => layers.make(options)

/**
 * EmbeddingService and its wire client in one layer.
 *
 * @since 0.3.0
 * @category Layers
 */
export const layer: (
  options?: Options
) => Layer.Layer<EmbeddingService, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> = (
  options = {}
) => layers.layer(options)

/**
 * EmbeddingService over the GeminiEmbeddingClient in context.
 *
 * @since 0.3.0
 * @category Layers
 */
export const layerModel: (
  options?: BatchOptions
) => Layer.Layer<EmbeddingService, never, GeminiEmbeddingClient.GeminiEmbeddingClient> = layers.layerModel

/**
 * `layer` with options read through `Config`.
 *
 * @since 0.3.0
 * @category Layers
 */
export const layerConfig: (
  options: Config.Config.Wrap<Options>
) => Layer.Layer<EmbeddingService, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> =
  layers.layerConfig
