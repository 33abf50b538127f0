/**
 * Embeddings from an OpenAI-compatible server (vLLM serving an embedding model on
 * Cloud Run): `/v1/embeddings`, signed with a Google ID token — in
 * `X-Serverless-Authorization` when the server's own API key takes `Authorization`.
 * Batches are split at {@link defaultMaxBatchSize} texts (OpenAI's documented limit;
 * set `maxBatchSize` to your server's). Vectors are put in input order by their
 * `index`. Output dimensionality is `dimensions`; the API has no task type, title or
 * truncation switch, so those fail before sending.
 *
 * @since 0.3.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type { AuthService } from "../../auth/AuthService.js"
import type * as ModelConfigError from "../ModelConfigError.js"
import * as ModelError from "../ModelError.js"
import type { BatchOptions, EmbeddingService } from "./EmbeddingService.js"
import { check, embedInParts } from "./internal/batch.js"
import { embeddingLayers } from "./internal/layers.js"
import * as OpenAICompatibleEmbeddingClient from "./OpenAICompatibleEmbeddingClient.js"

/**
 * The options of `OpenAICompatible` (service URL, audience, header, API key, shared
 * backend options) and how batches are split.
 *
 * @since 0.3.0
 * @category Models
 */
export interface Options extends OpenAICompatibleEmbeddingClient.Options, BatchOptions {}

/**
 * Texts per `/v1/embeddings` call unless `maxBatchSize` says otherwise.
 *
 * @since 0.3.0
 * @category Utils
 */
export const defaultMaxBatchSize = 2048

const embeddings = (
  client: OpenAICompatibleEmbeddingClient.OpenAICompatibleEmbeddingClient.Service,
  batch: BatchOptions
) =>
  ({
    embed: (request) => {
      const context: ModelError.Context = { backend: "openai-compatible", model: request.model }
      return Effect.zipRight(
        check(context, request, {
          taskType: "/v1/embeddings has no task type",
          title: "/v1/embeddings has no title",
          autoTruncate: "/v1/embeddings has no truncation switch"
        }),
        embedInParts(
          context,
          request,
          { maxInputs: batch.maxBatchSize ?? defaultMaxBatchSize },
          batch,
          (inputs) =>
            Effect.flatMap(
              client.embeddings({
                model: request.model,
                input: inputs,
                dimensions: request.dimensions,
                encoding_format: "float"
              }, { headers: request.headers, timeout: request.timeout }),
              (response) => {
                const vectors: Array<ReadonlyArray<number>> = []
                for (const item of response.data) {
                  if (item.index < 0 || item.index >= inputs.length || vectors[item.index] !== undefined) {
                    return Effect.fail(
                      new ModelError.Decode({
                        ...context,
                        detail: `the server returned index ${item.index} for ${inputs.length} inputs`
                      })
                    )
                  }
                  vectors[item.index] = item.embedding
                }
                return Effect.succeed({
                  embeddings: vectors.length === response.data.length ? vectors : response.data.map((d) => d.embedding),
                  inputTokens: response.usage?.prompt_tokens
                })
              }
            )
        )
      )
    }
  }) satisfies EmbeddingService.Service

const layers = embeddingLayers(
  OpenAICompatibleEmbeddingClient.OpenAICompatibleEmbeddingClient,
  (options: Options) => OpenAICompatibleEmbeddingClient.make(options),
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
 * EmbeddingService over the OpenAICompatibleEmbeddingClient in context.
 *
 * @since 0.3.0
 * @category Layers
 */
export const layerModel: (
  options?: BatchOptions
) => Layer.Layer<EmbeddingService, never, OpenAICompatibleEmbeddingClient.OpenAICompatibleEmbeddingClient> =
  layers.layerModel

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
