/**
 * The low-level Gemini embedding wire client: `batchEmbedContents` (Gemini API),
 * `embedContent` (Gemini API and Vertex AI's Gemini embedding models) and `predict`
 * (Vertex AI `text-embedding-*`, `text-multilingual-embedding-*` and
 * `gemini-embedding-001`) under one models URL, through the same call engine as
 * `GeminiClient` (signed through AuthService, per-attempt timeout, retry policy,
 * failures translated into ModelError once). Bodies are the wire JSON, typed by the
 * exported Schemas; this file is the only one that reads the Gemini embedding wire.
 *
 * @since 0.3.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { AuthService } from "../../auth/AuthService.js"
import * as GeminiClient from "../gemini/GeminiClient.js"
import { decodeWire } from "../internal/common.js"
import { fromConfig } from "../internal/options.js"
import type * as ModelConfigError from "../ModelConfigError.js"
import * as ModelError from "../ModelError.js"
import type * as ModelService from "../ModelService.js"

const TextContent = Schema.Struct({
  parts: Schema.Array(Schema.Struct({ text: Schema.String })),
  role: Schema.optional(Schema.String)
})

/**
 * One `embedContent` request of the Gemini API (also an entry of
 * `batchEmbedContents.requests`, where `model` is `models/{model}`).
 *
 * @since 0.3.0
 * @category Schemas
 */
export const EmbedContentRequest = Schema.Struct({
  model: Schema.optional(Schema.String),
  content: TextContent,
  taskType: Schema.optional(Schema.String),
  title: Schema.optional(Schema.String),
  outputDimensionality: Schema.optional(Schema.Number)
})

/**
 * @since 0.3.0
 * @category Models
 */
export type EmbedContentRequest = typeof EmbedContentRequest.Encoded

/**
 * The `batchEmbedContents` body (at most 100 requests per call).
 *
 * @since 0.3.0
 * @category Schemas
 */
export const BatchEmbedContentsRequest = Schema.Struct({ requests: Schema.Array(EmbedContentRequest) })

/**
 * @since 0.3.0
 * @category Models
 */
export type BatchEmbedContentsRequest = typeof BatchEmbedContentsRequest.Encoded

/**
 * Vertex AI's `embedContent` body (Gemini embedding models other than
 * `gemini-embedding-001`: one content per call), settings in `embedContentConfig`.
 *
 * @since 0.3.0
 * @category Schemas
 */
export const VertexEmbedContentRequest = Schema.Struct({
  content: TextContent,
  embedContentConfig: Schema.optional(Schema.Struct({
    taskType: Schema.optional(Schema.String),
    title: Schema.optional(Schema.String),
    outputDimensionality: Schema.optional(Schema.Number),
    autoTruncate: Schema.optional(Schema.Boolean)
  }))
})

/**
 * @since 0.3.0
 * @category Models
 */
export type VertexEmbedContentRequest = typeof VertexEmbedContentRequest.Encoded

/**
 * Vertex AI's `predict` body for text embedding models: one instance per text
 * (`task_type` and `title` in snake case, as the API takes them), settings in
 * `parameters`. At most 250 instances (1 for `gemini-embedding-001`) and 20,000
 * input tokens per call.
 *
 * @since 0.3.0
 * @category Schemas
 */
export const PredictRequest = Schema.Struct({
  instances: Schema.Array(Schema.Struct({
    content: Schema.String,
    task_type: Schema.optional(Schema.String),
    title: Schema.optional(Schema.String)
  })),
  parameters: Schema.optional(Schema.Struct({
    outputDimensionality: Schema.optional(Schema.Number),
    autoTruncate: Schema.optional(Schema.Boolean)
  }))
})

/**
 * @since 0.3.0
 * @category Models
 */
export type PredictRequest = typeof PredictRequest.Encoded

const Values = Schema.Struct({ values: Schema.Array(Schema.Number) })

const UsageMetadata = Schema.Struct({
  promptTokenCount: Schema.optional(Schema.Number),
  totalTokenCount: Schema.optional(Schema.Number)
})

/**
 * The `batchEmbedContents` response: one embedding per request, in request order.
 *
 * @since 0.3.0
 * @category Schemas
 */
export const BatchEmbedContentsResponse = Schema.Struct({
  embeddings: Schema.Array(Values),
  usageMetadata: Schema.optional(UsageMetadata)
})

/**
 * @since 0.3.0
 * @category Models
 */
export type BatchEmbedContentsResponse = typeof BatchEmbedContentsResponse.Type

/**
 * The `embedContent` response (Gemini API and Vertex AI; Vertex adds usage and
 * `truncated`).
 *
 * @since 0.3.0
 * @category Schemas
 */
export const EmbedContentResponse = Schema.Struct({
  embedding: Values,
  usageMetadata: Schema.optional(UsageMetadata),
  truncated: Schema.optional(Schema.Boolean)
})

/**
 * @since 0.3.0
 * @category Models
 */
export type EmbedContentResponse = typeof EmbedContentResponse.Type

/**
 * Vertex AI's `predict` response for text embedding models: a prediction per
 * instance, with token count and truncation per text, billable characters per call.
 *
 * @since 0.3.0
 * @category Schemas
 */
export const PredictResponse = Schema.Struct({
  predictions: Schema.Array(Schema.Struct({
    embeddings: Schema.Struct({
      values: Schema.Array(Schema.Number),
      statistics: Schema.optional(Schema.Struct({
        token_count: Schema.optional(Schema.Number),
        truncated: Schema.optional(Schema.Boolean)
      }))
    })
  })),
  metadata: Schema.optional(Schema.Struct({ billableCharacterCount: Schema.optional(Schema.Number) }))
})

/**
 * @since 0.3.0
 * @category Models
 */
export type PredictResponse = typeof PredictResponse.Type

/**
 * Per-call settings: the request's own headers and per-attempt timeout.
 *
 * @since 0.3.0
 * @category Models
 */
export type CallOptions = Pick<ModelService.CallOptions, "headers" | "timeout">

/**
 * @since 0.3.0
 * @category Tags
 */
export class GeminiEmbeddingClient
  extends Context.Tag("effect-adc/GeminiEmbeddingClient")<GeminiEmbeddingClient, GeminiEmbeddingClient.Service>()
{}

/**
 * @since 0.3.0
 * @category Models
 */
export declare namespace GeminiEmbeddingClient {
  /**
   * @since 0.3.0
   * @category Models
   */
  export interface Service {
    /** Which backend the errors name (`gemini-vertex` or `gemini-api`). */
    readonly backend: "gemini-vertex" | "gemini-api"
    /** POST `{model}:batchEmbedContents` (Gemini API). */
    readonly batchEmbedContents: (
      model: string,
      body: BatchEmbedContentsRequest,
      options?: CallOptions
    ) => Effect.Effect<BatchEmbedContentsResponse, ModelError.ModelError>
    /** POST `{model}:embedContent` (Vertex AI's Gemini embedding models; the Gemini API's single form). */
    readonly embedContent: (
      model: string,
      body: VertexEmbedContentRequest | EmbedContentRequest,
      options?: CallOptions
    ) => Effect.Effect<EmbedContentResponse, ModelError.ModelError>
    /** POST `{model}:predict` (Vertex AI text embedding models). */
    readonly predict: (
      model: string,
      body: PredictRequest,
      options?: CallOptions
    ) => Effect.Effect<PredictResponse, ModelError.ModelError>
  }
}

/**
 * The options of `GeminiClient` (backend, models URL, token target, and the shared
 * backend options): `GeminiVertex.clientOptions` and `GeminiApi.clientOptions` build
 * them.
 *
 * @since 0.3.0
 * @category Models
 */
export type Options = GeminiClient.Options

const decodeBatch = decodeWire(BatchEmbedContentsResponse, "The batchEmbedContents response")
const decodeEmbed = decodeWire(EmbedContentResponse, "The embedContent response")
const decodePredict = decodeWire(PredictResponse, "The predict response")

/**
 * The client. A plain `http://` URL to a host other than loopback is refused with
 * ModelConfigError naming the setting.
 *
 * @since 0.3.0
 * @category Constructors
 */
export const make = (
  options: Options
): Effect.Effect<
  GeminiEmbeddingClient.Service,
  ModelConfigError.ModelConfigError,
  HttpClient.HttpClient | AuthService
> =>
  Effect.gen(function*() {
    const { backend, endpoint, engine } = yield* GeminiClient.connect(options)
    const post = <A>(
      model: string,
      method: string,
      body: unknown,
      call: CallOptions,
      decode: (context: ModelError.Context, json: unknown) => Effect.Effect<A, ModelError.ModelError>
    ) => {
      const { context, url } = endpoint(model, method)
      return Effect.flatMap(engine.json(url, body, { ...call, model }), (json) => decode(context, json))
    }
    return GeminiEmbeddingClient.of({
      backend,
      batchEmbedContents: (model, body, call = {}) => post(model, "batchEmbedContents", body, call, decodeBatch),
      embedContent: (model, body, call = {}) => post(model, "embedContent", body, call, decodeEmbed),
      predict: (model, body, call = {}) => post(model, "predict", body, call, decodePredict)
    })
  })

/**
 * @since 0.3.0
 * @category Layers
 */
export const layer = (
  options: Options
): Layer.Layer<GeminiEmbeddingClient, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> =>
  Layer.effect(GeminiEmbeddingClient, make(options))

/**
 * @since 0.3.0
 * @category Layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<GeminiEmbeddingClient, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> =>
  fromConfig(options, layer)
