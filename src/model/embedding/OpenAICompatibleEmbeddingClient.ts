/**
 * The low-level OpenAI-compatible embedding wire client (vLLM on Cloud Run):
 * `/v1/embeddings`, signed with a Google ID token — in `X-Serverless-Authorization`
 * when the server's own API key takes `Authorization` — through the same call engine as
 * `OpenAICompatibleClient`. This file is the only one that reads the OpenAI embedding
 * wire.
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
import { decodeWire } from "../internal/common.js"
import { fromConfig, trimSlash } from "../internal/options.js"
import type * as ModelConfigError from "../ModelConfigError.js"
import * as ModelError from "../ModelError.js"
import * as OpenAICompatibleClient from "../openai/OpenAICompatibleClient.js"
import type { CallOptions } from "./GeminiEmbeddingClient.js"

/**
 * The `/v1/embeddings` body: `input` (one text or many), `dimensions`, and
 * `encoding_format` (we ask for `float`).
 *
 * @since 0.3.0
 * @category Schemas
 */
export const EmbeddingsRequest = Schema.Struct({
  model: Schema.String,
  input: Schema.Union(Schema.String, Schema.Array(Schema.String)),
  dimensions: Schema.optional(Schema.Number),
  encoding_format: Schema.optional(Schema.Literal("float", "base64")),
  user: Schema.optional(Schema.String)
})

/**
 * @since 0.3.0
 * @category Models
 */
export type EmbeddingsRequest = typeof EmbeddingsRequest.Encoded

/**
 * The `/v1/embeddings` response: `data[]` with each vector's `index` into the inputs
 * (the order is the index's, not the array's), and the usage.
 *
 * @since 0.3.0
 * @category Schemas
 */
export const EmbeddingsResponse = Schema.Struct({
  object: Schema.optional(Schema.String),
  data: Schema.Array(Schema.Struct({
    object: Schema.optional(Schema.String),
    index: Schema.Number,
    embedding: Schema.Array(Schema.Number)
  })),
  model: Schema.optional(Schema.String),
  usage: Schema.optional(Schema.Struct({
    prompt_tokens: Schema.optional(Schema.Number),
    total_tokens: Schema.optional(Schema.Number)
  }))
})

/**
 * @since 0.3.0
 * @category Models
 */
export type EmbeddingsResponse = typeof EmbeddingsResponse.Type

/**
 * @since 0.3.0
 * @category Tags
 */
export class OpenAICompatibleEmbeddingClient extends Context.Tag("effect-adc/OpenAICompatibleEmbeddingClient")<
  OpenAICompatibleEmbeddingClient,
  OpenAICompatibleEmbeddingClient.Service
>() {}

/**
 * @since 0.3.0
 * @category Models
 */
export declare namespace OpenAICompatibleEmbeddingClient {
  /**
   * @since 0.3.0
   * @category Models
   */
  export interface Service {
    /** POST `/v1/embeddings`; the decoded response. */
    readonly embeddings: (
      body: EmbeddingsRequest,
      options?: CallOptions
    ) => Effect.Effect<EmbeddingsResponse, ModelError.ModelError>
  }
}

/**
 * The options of `OpenAICompatibleClient`: service URL, audience, header, API key.
 *
 * @since 0.3.0
 * @category Models
 */
export type Options = OpenAICompatibleClient.Options

const decode = decodeWire(EmbeddingsResponse, "The /v1/embeddings response")

/**
 * @since 0.3.0
 * @category Constructors
 */
export const make = (
  options: Options
): Effect.Effect<OpenAICompatibleEmbeddingClient.Service, never, HttpClient.HttpClient | AuthService> =>
  Effect.map(
    OpenAICompatibleClient.engine(options),
    (engine) => {
      const url = `${trimSlash(options.url)}/v1/embeddings`
      const errorUrl = ModelError.urlForErrors(url)
      return OpenAICompatibleEmbeddingClient.of({
        embeddings: (body, call = {}) =>
          Effect.flatMap(
            engine.json(url, body, { ...call, model: body.model }),
            (json) => decode({ backend: "openai-compatible", model: body.model, url: errorUrl }, json)
          )
      })
    }
  )

/**
 * @since 0.3.0
 * @category Layers
 */
export const layer = (
  options: Options
): Layer.Layer<OpenAICompatibleEmbeddingClient, never, HttpClient.HttpClient | AuthService> =>
  Layer.effect(OpenAICompatibleEmbeddingClient, make(options))

/**
 * @since 0.3.0
 * @category Layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<
  OpenAICompatibleEmbeddingClient,
  ModelConfigError.ModelConfigError,
  HttpClient.HttpClient | AuthService
> => fromConfig(options, layer)
