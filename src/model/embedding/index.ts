/**
 * Embeddings on every backend: `EmbeddingService` (Tag + layers), its Promise facade,
 * the backends' layers, their wire clients, and configuration from the environment.
 *
 * @since 0.3.0
 */

/**
 * @since 0.3.0
 */
export * as EmbeddingClient from "./EmbeddingClient.js"

/**
 * @since 0.3.0
 */
export * as EmbeddingConfig from "./EmbeddingConfig.js"

/**
 * @since 0.3.0
 */
export * as EmbeddingRequest from "./EmbeddingRequest.js"

/**
 * @since 0.3.0
 */
export * as EmbeddingResponse from "./EmbeddingResponse.js"

/**
 * @since 0.3.0
 */
export * as EmbeddingService from "./EmbeddingService.js"

/**
 * @since 0.3.0
 */
export * as GeminiApiEmbeddings from "./GeminiApiEmbeddings.js"

/**
 * @since 0.3.0
 */
export * as GeminiEmbeddingClient from "./GeminiEmbeddingClient.js"

/**
 * @since 0.3.0
 */
export * as GeminiVertexEmbeddings from "./GeminiVertexEmbeddings.js"

/**
 * @since 0.3.0
 */
export * as OllamaEmbeddingClient from "./OllamaEmbeddingClient.js"

/**
 * @since 0.3.0
 */
export * as OllamaEmbeddings from "./OllamaEmbeddings.js"

/**
 * @since 0.3.0
 */
export * as OpenAICompatibleEmbeddingClient from "./OpenAICompatibleEmbeddingClient.js"

/**
 * @since 0.3.0
 */
export * as OpenAICompatibleEmbeddings from "./OpenAICompatibleEmbeddings.js"
