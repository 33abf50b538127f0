/**
 * The embedding counterpart of ModelService: `embed(request)` with one request type for
 * every backend. Which backend answers is Layer configuration
 * (`GeminiVertexEmbeddings`, `GeminiApiEmbeddings`, `OllamaEmbeddings`,
 * `OpenAICompatibleEmbeddings`, or `EmbeddingConfig.layerConfig` from the environment),
 * over the same AuthService, call engine (signing, per-attempt timeout, retry policy)
 * and typed `ModelError`s as generation. A batch larger than one API call allows is
 * split to the backend's limit, each call retried on its own (a 429 on the third call
 * re-sends only the third), and the vectors re-joined in input order.
 *
 * @since 0.3.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as ModelError from "../ModelError.js"
import type * as EmbeddingRequest from "./EmbeddingRequest.js"
import type * as EmbeddingResponse from "./EmbeddingResponse.js"

/**
 * @since 0.3.0
 * @category Tags
 */
export class EmbeddingService
  extends Context.Tag("effect-adc/EmbeddingService")<EmbeddingService, EmbeddingService.Service>()
{}

/**
 * @since 0.3.0
 * @category Models
 */
export declare namespace EmbeddingService {
  /**
   * @since 0.3.0
   * @category Models
   */
  export interface Service {
    /** One vector per input, in input order. No inputs: no call, no vectors. */
    readonly embed: (
      request: EmbeddingRequest.EmbeddingRequest
    ) => Effect.Effect<EmbeddingResponse.EmbeddingResponse, ModelError.ModelError>
  }
}

/**
 * How a backend splits a batch: at most `maxBatchSize` inputs per API call (lowered to
 * the API's own limit where Google documents one) and `concurrency` calls at once.
 *
 * @since 0.3.0
 * @category Models
 */
export interface BatchOptions {
  /** Inputs per API call; default the API's limit (see each backend). */
  readonly maxBatchSize?: number | undefined
  /** API calls of one batch in flight at once; default 1 (a request's own `concurrency` wins). */
  readonly concurrency?: number | undefined
}
