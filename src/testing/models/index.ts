/**
 * Model server emulators: Gemini (API + Vertex paths), Ollama and an
 * OpenAI-compatible vLLM server, as node `RequestListener`s.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as GeminiEmulator from "./GeminiEmulator.js"

/**
 * @since 0.1.0
 */
export * as OllamaEmulator from "./OllamaEmulator.js"

/**
 * @since 0.1.0
 */
export * as OpenAICompatibleEmulator from "./OpenAICompatibleEmulator.js"

/**
 * @since 0.2.0
 */
export * as VertexOpenAIEmulator from "./VertexOpenAIEmulator.js"
