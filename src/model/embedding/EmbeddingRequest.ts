/**
 * The one request type of EmbeddingService, the same for every backend: the model,
 * the texts (any number: the backend splits them into as many API calls as its limits
 * need and returns the vectors in input order), and the settings that shape the
 * vectors. A setting a backend cannot honour fails with a typed error before any
 * request is sent — it is never dropped silently.
 *
 * @since 0.3.0
 */
import type * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"

/**
 * What the vectors will be used for (Gemini and Vertex AI `taskType`): the model
 * optimises the embedding for it. `RETRIEVAL_DOCUMENT` for what you index,
 * `RETRIEVAL_QUERY` for what you search with.
 *
 * @since 0.3.0
 * @category Schemas
 */
export const TaskType = Schema.Literal(
  "RETRIEVAL_QUERY",
  "RETRIEVAL_DOCUMENT",
  "SEMANTIC_SIMILARITY",
  "CLASSIFICATION",
  "CLUSTERING",
  "QUESTION_ANSWERING",
  "FACT_VERIFICATION",
  "CODE_RETRIEVAL_QUERY"
)

/**
 * @since 0.3.0
 * @category Models
 */
export type TaskType = typeof TaskType.Type

/**
 * @since 0.3.0
 * @category Models
 */
export interface EmbeddingRequest {
  /** The backend's model name (`gemini-embedding-001`, `text-embedding-005`, `embeddinggemma`). */
  readonly model: string
  /** The texts, in order; the response's vectors come back in the same order. */
  readonly inputs: ReadonlyArray<string>
  /** Gemini API and Vertex AI only (Ollama and OpenAI-compatible servers fail with `Unsupported`). */
  readonly taskType?: TaskType | undefined
  /** Output dimensionality: the vectors are truncated to this size by the server (every backend). */
  readonly dimensions?: number | undefined
  /** A document title, with `taskType: "RETRIEVAL_DOCUMENT"` (Gemini API and Vertex AI only). */
  readonly title?: string | undefined
  /**
   * Whether the server may cut an input longer than the model takes (Vertex AI
   * `autoTruncate`, Ollama `truncate`; the Gemini API and OpenAI-compatible servers fail
   * with `Unsupported`). Default: the server's (truncate).
   */
  readonly autoTruncate?: boolean | undefined
  /** How many API calls of a split batch run at once; default the backend's (`concurrency` option, else 1). */
  readonly concurrency?: number | undefined
  /** Per-attempt timeout of each API call. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Headers added to each API call. */
  readonly headers?: Readonly<Record<string, string>> | undefined
}
