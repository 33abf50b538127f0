/**
 * What EmbeddingService returns: one vector per input, in input order, whatever the
 * number of API calls it took, and the usage the backend reported.
 *
 * @since 0.3.0
 */

/**
 * Usage summed over every API call of the batch. A figure is present only when every
 * call reported it (Vertex AI: tokens and billable characters; Ollama, OpenAI-compatible
 * servers and Vertex `embedContent`: tokens; the Gemini API reports none).
 *
 * @since 0.3.0
 * @category Models
 */
export interface EmbeddingUsage {
  readonly inputTokens?: number | undefined
  readonly billableCharacters?: number | undefined
}

/**
 * @since 0.3.0
 * @category Models
 */
export interface EmbeddingResponse {
  /** One vector per input, in the order of `inputs`. */
  readonly embeddings: ReadonlyArray<ReadonlyArray<number>>
  readonly usage: EmbeddingUsage
  /** How many API calls the batch was split into (0 for no inputs). */
  readonly calls: number
}

/**
 * Cosine similarity of two vectors (0 when either is all zeros): how a query vector
 * ranks documents.
 *
 * @since 0.3.0
 * @category Utils
 */
export const cosineSimilarity = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  let dot = 0
  let normA = 0
  let normB = 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i]!
    const y = b[i]!
    dot += x * y
    normA += x * x
    normB += y * y
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB)
}
