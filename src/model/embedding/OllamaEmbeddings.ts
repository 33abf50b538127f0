/**
 * Embeddings from Ollama (an embedding model such as `embeddinggemma` on Cloud Run):
 * `/api/embed` with many texts per call, signed with a Google ID token for the
 * service. Ollama documents no per-call limit; batches are split at
 * {@link defaultMaxBatchSize} texts (set `maxBatchSize` to your server's). Output
 * dimensionality is `dimensions`, `autoTruncate` is `truncate`; Ollama has no task
 * type or title, so those fail before sending.
 *
 * @since 0.3.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type { AuthService } from "../../auth/AuthService.js"
import type * as ModelConfigError from "../ModelConfigError.js"
import type * as ModelError from "../ModelError.js"
import type { BatchOptions, EmbeddingService } from "./EmbeddingService.js"
import { check, embedInParts } from "./internal/batch.js"
import { embeddingLayers } from "./internal/layers.js"
import * as OllamaEmbeddingClient from "./OllamaEmbeddingClient.js"

/**
 * The options of `Ollama` (service URL, audience, header, shared backend options) and
 * how batches are split.
 *
 * @since 0.3.0
 * @category Models
 */
export interface Options extends OllamaEmbeddingClient.Options, BatchOptions {}

/**
 * Texts per `/api/embed` call unless `maxBatchSize` says otherwise (keeps one call well
 * inside a Cloud Run request timeout).
 *
 * @since 0.3.0
 * @category Utils
 */
export const defaultMaxBatchSize = 512

const embeddings = (client: OllamaEmbeddingClient.OllamaEmbeddingClient.Service, batch: BatchOptions) =>
  ({
    embed: (request) => {
      const context: ModelError.Context = { backend: "ollama", model: request.model }
      return Effect.zipRight(
        check(context, request, {
          taskType: "Ollama's /api/embed has no task type; some models take a prefix in the text instead",
          title: "Ollama's /api/embed has no title"
        }),
        embedInParts(
          context,
          request,
          { maxInputs: batch.maxBatchSize ?? defaultMaxBatchSize },
          batch,
          (inputs) =>
            Effect.map(
              client.embed({
                model: request.model,
                input: inputs,
                dimensions: request.dimensions,
                truncate: request.autoTruncate
              }, { headers: request.headers, timeout: request.timeout }),
              (response) => ({ embeddings: response.embeddings, inputTokens: response.prompt_eval_count })
            )
        )
      )
    }
  }) satisfies EmbeddingService.Service

const layers = embeddingLayers(
  OllamaEmbeddingClient.OllamaEmbeddingClient,
  (options: Options) => OllamaEmbeddingClient.make(options),
  embeddings
)

/**
 * EmbeddingService with its wire client built from these options.
 *
 * @since 0.3.0
 * @category Constructors
 */
export const make: (
  options: Options
) => Effect.Effect<EmbeddingService.Service, never, HttpClient.HttpClient | AuthService> = (options) =>
  layers.make(options)

/**
 * EmbeddingService and its wire client in one layer.
 *
 * @since 0.3.0
 * @category Layers
 */
export const layer: (
  options: Options
) => Layer.Layer<EmbeddingService, never, HttpClient.HttpClient | AuthService> = (options) => layers.layer(options)

/**
 * EmbeddingService over the OllamaEmbeddingClient in context.
 *
 * @since 0.3.0
 * @category Layers
 */
export const layerModel: (
  options?: BatchOptions
) => Layer.Layer<EmbeddingService, never, OllamaEmbeddingClient.OllamaEmbeddingClient> = layers.layerModel

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
