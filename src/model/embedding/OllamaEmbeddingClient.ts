/**
 * The low-level Ollama embedding wire client: `/api/embed` (many inputs per call) on a
 * Cloud Run service, signed with a Google ID token for the service, through the same
 * call engine as `OllamaClient`. This file is the only one that reads the Ollama
 * embedding wire.
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
import * as OllamaClient from "../ollama/OllamaClient.js"
import type { CallOptions } from "./GeminiEmbeddingClient.js"

/**
 * The `/api/embed` body: `input` (one text or many), `dimensions`, `truncate` (default
 * true: inputs longer than the context are cut), `keep_alive` and runtime `options`.
 *
 * @since 0.3.0
 * @category Schemas
 */
export const EmbedRequest = Schema.Struct({
  model: Schema.String,
  input: Schema.Union(Schema.String, Schema.Array(Schema.String)),
  dimensions: Schema.optional(Schema.Number),
  truncate: Schema.optional(Schema.Boolean),
  keep_alive: Schema.optional(Schema.Union(Schema.String, Schema.Number)),
  options: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})

/**
 * @since 0.3.0
 * @category Models
 */
export type EmbedRequest = typeof EmbedRequest.Encoded

/**
 * The `/api/embed` response: one vector per input, in order, and the prompt's token
 * count.
 *
 * @since 0.3.0
 * @category Schemas
 */
export const EmbedResponse = Schema.Struct({
  model: Schema.optional(Schema.String),
  embeddings: Schema.Array(Schema.Array(Schema.Number)),
  prompt_eval_count: Schema.optional(Schema.Number),
  total_duration: Schema.optional(Schema.Number),
  load_duration: Schema.optional(Schema.Number)
})

/**
 * @since 0.3.0
 * @category Models
 */
export type EmbedResponse = typeof EmbedResponse.Type

/**
 * @since 0.3.0
 * @category Tags
 */
export class OllamaEmbeddingClient
  extends Context.Tag("effect-adc/OllamaEmbeddingClient")<OllamaEmbeddingClient, OllamaEmbeddingClient.Service>()
{}

/**
 * @since 0.3.0
 * @category Models
 */
export declare namespace OllamaEmbeddingClient {
  /**
   * @since 0.3.0
   * @category Models
   */
  export interface Service {
    /** POST `/api/embed`; the decoded response. */
    readonly embed: (body: EmbedRequest, options?: CallOptions) => Effect.Effect<EmbedResponse, ModelError.ModelError>
  }
}

/**
 * The options of `OllamaClient`: the service URL, ID-token audience and header.
 *
 * @since 0.3.0
 * @category Models
 */
export type Options = OllamaClient.Options

const decode = decodeWire(EmbedResponse, "The /api/embed response")

/**
 * @since 0.3.0
 * @category Constructors
 */
export const make = (
  options: Options
): Effect.Effect<OllamaEmbeddingClient.Service, never, HttpClient.HttpClient | AuthService> =>
  Effect.map(
    OllamaClient.engine(options),
    (engine) => {
      const url = `${trimSlash(options.url)}/api/embed`
      const errorUrl = ModelError.urlForErrors(url)
      return OllamaEmbeddingClient.of({
        embed: (body, call = {}) =>
          Effect.flatMap(
            engine.json(url, body, { ...call, model: body.model }),
            (json) => decode({ backend: "ollama", model: body.model, url: errorUrl }, json)
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
): Layer.Layer<OllamaEmbeddingClient, never, HttpClient.HttpClient | AuthService> =>
  Layer.effect(OllamaEmbeddingClient, make(options))

/**
 * @since 0.3.0
 * @category Layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<OllamaEmbeddingClient, ModelConfigError.ModelConfigError, HttpClient.HttpClient | AuthService> =>
  fromConfig(options, layer)
