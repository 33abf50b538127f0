/**
 * The one service user code requires: `generate`, `stream` and `countTokens` with one
 * request type for every backend. Which backend answers is Layer configuration
 * (`GeminiVertex`, `GeminiApi`, `Ollama`, `OpenAICompatible`, a `Router`, or
 * `ModelConfig.layerConfig` from the environment). Each backend module exports
 * `make`, `layer` (the service with its wire client), `layerConfig` (options through
 * `Config`) and `layerModel` (the service over a wire client you provide:
 * `GeminiClient`, `OllamaClient`, `OpenAICompatibleClient`). Which backend answered a
 * call is on its errors (`backend`, `model`, `url`), not on the service.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type * as ModelError from "./ModelError.js"
import type * as ModelRequest from "./ModelRequest.js"
import type * as ModelResponse from "./ModelResponse.js"

/**
 * @since 0.1.0
 * @category Tags
 */
export class ModelService extends Context.Tag("effect-adc/ModelService")<ModelService, ModelService.Service>() {}

/**
 * @since 0.1.0
 * @category Models
 */
export declare namespace ModelService {
  /**
   * @since 0.1.0
   * @category Models
   */
  export interface Service {
    /** One answer. With `output`, `value` is the answer decoded with its schema. */
    readonly generate: <A = unknown>(
      request: ModelRequest.ModelRequest<A>
    ) => Effect.Effect<ModelResponse.ModelResponse<A>, ModelError.ModelError>
    /**
     * The answer as it is produced. The last chunk carries the finish (reason, usage);
     * a body that ends before it fails with StreamTruncated. Interrupting the stream
     * closes the connection.
     */
    readonly stream: (
      request: ModelRequest.ModelRequest<any>
    ) => Stream.Stream<ModelResponse.ModelStreamChunk, ModelError.ModelError>
    /** Prompt tokens (Gemini backends; the others fail with InvalidRequest). */
    readonly countTokens: (request: ModelRequest.ModelRequest<any>) => Effect.Effect<number, ModelError.ModelError>
  }
}
