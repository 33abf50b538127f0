/**
 * Embeddings on Vertex AI (`{location}-aiplatform.googleapis.com` or the `global`
 * endpoint) with an access token. Two wire methods, chosen by model the way Google's
 * own SDK chooses them:
 *
 * - `predict` for `text-embedding-*`, `text-multilingual-embedding-*` and
 *   `gemini-embedding-001`: at most 250 texts and about 20,000 input tokens per call
 *   (`gemini-embedding-001`: one text per call), task type and title per text;
 * - `embedContent` for the other Gemini embedding models (and Model-as-a-Service
 *   `maas` models): one text per call.
 *
 * Output dimensionality and `autoTruncate` go in each method's settings.
 *
 * @since 0.3.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type { AuthService } from "../../auth/AuthService.js"
import * as GeminiVertex from "../gemini/GeminiVertex.js"
import type * as ModelConfigError from "../ModelConfigError.js"
import type * as ModelError from "../ModelError.js"
import type * as EmbeddingRequest from "./EmbeddingRequest.js"
import type { BatchOptions, EmbeddingService } from "./EmbeddingService.js"
import * as GeminiEmbeddingClient from "./GeminiEmbeddingClient.js"
import { check, embedInParts, type Limits, type PartResult } from "./internal/batch.js"
import { embeddingLayers } from "./internal/layers.js"

/**
 * The options of `GeminiVertex` (project, location, API version, base URL, token
 * target and the shared backend options), and how batches are split.
 *
 * @since 0.3.0
 * @category Models
 */
export interface Options extends GeminiVertex.Options, BatchOptions {}

/**
 * Does this model take `embedContent` (one text per call) rather than `predict`?
 * Gemini embedding models other than `gemini-embedding-001`, and `maas` models.
 *
 * @since 0.3.0
 * @category Utils
 */
export const usesEmbedContent = (model: string): boolean =>
  (model.includes("gemini") && model !== "gemini-embedding-001") || model.includes("maas")

/**
 * The per-call limits of a model: `embedContent` 1 text; `predict` 250 texts and
 * 20,000 input tokens (`gemini-embedding-001`: 1 text).
 *
 * @since 0.3.0
 * @category Utils
 */
export const limitsFor = (model: string): Limits =>
  usesEmbedContent(model) || model === "gemini-embedding-001"
    ? { maxInputs: 1 }
    : { maxInputs: 250, maxTokens: 20_000 }

const predict = (
  client: GeminiEmbeddingClient.GeminiEmbeddingClient.Service,
  request: EmbeddingRequest.EmbeddingRequest,
  inputs: ReadonlyArray<string>
): Effect.Effect<PartResult, ModelError.ModelError> => {
  const parameters = request.dimensions === undefined && request.autoTruncate === undefined
    ? undefined
    : { outputDimensionality: request.dimensions, autoTruncate: request.autoTruncate }
  return Effect.map(
    client.predict(request.model, {
      instances: inputs.map((content) => ({ content, task_type: request.taskType, title: request.title })),
      parameters
    }, { headers: request.headers, timeout: request.timeout }),
    (response) => {
      const counts = response.predictions.map((p) => p.embeddings.statistics?.token_count)
      return {
        embeddings: response.predictions.map((p) => p.embeddings.values),
        inputTokens: counts.every((n) => n !== undefined) ? counts.reduce((a, n) => a + n, 0) : undefined,
        billableCharacters: response.metadata?.billableCharacterCount
      }
    }
  )
}

const embedContent = (
  client: GeminiEmbeddingClient.GeminiEmbeddingClient.Service,
  request: EmbeddingRequest.EmbeddingRequest,
  inputs: ReadonlyArray<string>
): Effect.Effect<PartResult, ModelError.ModelError> => {
  const config = {
    taskType: request.taskType,
    title: request.title,
    outputDimensionality: request.dimensions,
    autoTruncate: request.autoTruncate
  }
  const anySetting = Object.values(config).some((value) => value !== undefined)
  return Effect.map(
    client.embedContent(request.model, {
      content: { parts: inputs.map((text) => ({ text })) },
      embedContentConfig: anySetting ? config : undefined
    }, { headers: request.headers, timeout: request.timeout }),
    (response) => ({
      embeddings: [response.embedding.values],
      inputTokens: response.usageMetadata?.promptTokenCount
    })
  )
}

const embeddings = (client: GeminiEmbeddingClient.GeminiEmbeddingClient.Service, batch: BatchOptions) =>
  ({
    embed: (request) => {
      const context: ModelError.Context = { backend: client.backend, model: request.model }
      const call = usesEmbedContent(request.model) ? embedContent : predict
      return Effect.zipRight(
        check(context, request, {}),
        embedInParts(context, request, limitsFor(request.model), batch, (inputs) => call(client, request, inputs))
      )
    }
  }) satisfies EmbeddingService.Service

const layers = embeddingLayers(
  GeminiEmbeddingClient.GeminiEmbeddingClient,
  (options: Options) => GeminiEmbeddingClient.make(GeminiVertex.clientOptions(options)),
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
) => Effect.Effect<EmbeddingService.Service, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> = (
  options
) => layers.make(options)

/**
 * EmbeddingService and its wire client in one layer.
 *
 * @example
 * ```ts
 * import { GeminiVertexEmbeddings } from "effect-adc/embedding"
 *
 * const Embeddings = GeminiVertexEmbeddings.layer({ project: "my-project", location: "us-central1" })
 * ```
 *
 * @since 0.3.0
 * @category Layers
 */
export const layer: (
  options: Options
) => Layer.Layer<EmbeddingService, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> = (
  options
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
