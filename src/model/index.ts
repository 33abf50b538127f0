/**
 * @since 0.1.0
 */

/**
 * @since 0.3.0
 */
export * as EmbeddingClient from "./embedding/EmbeddingClient.js"

/**
 * @since 0.3.0
 */
export * as EmbeddingConfig from "./embedding/EmbeddingConfig.js"

/**
 * @since 0.3.0
 */
export * as EmbeddingRequest from "./embedding/EmbeddingRequest.js"

/**
 * @since 0.3.0
 */
export * as EmbeddingResponse from "./embedding/EmbeddingResponse.js"

/**
 * @since 0.3.0
 */
export * as EmbeddingService from "./embedding/EmbeddingService.js"

/**
 * @since 0.3.0
 */
export * as GeminiApiEmbeddings from "./embedding/GeminiApiEmbeddings.js"

/**
 * @since 0.3.0
 */
export * as GeminiEmbeddingClient from "./embedding/GeminiEmbeddingClient.js"

/**
 * @since 0.3.0
 */
export * as GeminiVertexEmbeddings from "./embedding/GeminiVertexEmbeddings.js"

/**
 * @since 0.3.0
 */
export * as OllamaEmbeddingClient from "./embedding/OllamaEmbeddingClient.js"

/**
 * @since 0.3.0
 */
export * as OllamaEmbeddings from "./embedding/OllamaEmbeddings.js"

/**
 * @since 0.3.0
 */
export * as OpenAICompatibleEmbeddingClient from "./embedding/OpenAICompatibleEmbeddingClient.js"

/**
 * @since 0.3.0
 */
export * as OpenAICompatibleEmbeddings from "./embedding/OpenAICompatibleEmbeddings.js"

/**
 * @since 0.1.0
 */
export * as GeminiApi from "./gemini/GeminiApi.js"

/**
 * @since 0.1.0
 */
export * as GeminiClient from "./gemini/GeminiClient.js"

/**
 * @since 0.1.0
 */
export * as GeminiVertex from "./gemini/GeminiVertex.js"

/**
 * @since 0.1.0
 */
export * as ModelClient from "./ModelClient.js"

/**
 * @since 0.1.0
 */
export * as ModelConfig from "./ModelConfig.js"

/**
 * @since 0.1.0
 */
export * as ModelConfigError from "./ModelConfigError.js"

/**
 * @since 0.1.0
 */
export * as ModelError from "./ModelError.js"

/**
 * @since 0.2.0
 */
export * as ModelLimits from "./ModelLimits.js"

/**
 * @since 0.1.0
 */
export * as ModelRequest from "./ModelRequest.js"

/**
 * @since 0.1.0
 */
export * as ModelResponse from "./ModelResponse.js"

/**
 * @since 0.1.0
 */
export * as ModelService from "./ModelService.js"

/**
 * @since 0.2.0
 */
export * as ModelTelemetry from "./ModelTelemetry.js"

/**
 * @since 0.1.0
 */
export * as Ollama from "./ollama/Ollama.js"

/**
 * @since 0.1.0
 */
export * as OllamaClient from "./ollama/OllamaClient.js"

/**
 * @since 0.1.0
 */
export * as OpenAICompatible from "./openai/OpenAICompatible.js"

/**
 * @since 0.1.0
 */
export * as OpenAICompatibleClient from "./openai/OpenAICompatibleClient.js"

/**
 * @since 0.1.0
 */
export * as RetryPolicy from "./RetryPolicy.js"

/**
 * @since 0.1.0
 */
export * as Router from "./Router.js"

/**
 * @since 0.2.0
 */
export * as VertexOpenAI from "./openai/VertexOpenAI.js"

/**
 * @since 0.2.0
 */
export * as WarmUp from "./WarmUp.js"
