/**
 * Embeddings for retrieval, keyless: index documents with `RETRIEVAL_DOCUMENT`, embed a
 * question with `RETRIEVAL_QUERY`, rank by cosine similarity. Vertex AI
 * (`EMBED_BACKEND=vertex`, the default, `text-embedding-005`) or the Gemini API
 * (`EMBED_BACKEND=api`, `gemini-embedding-001`), both with an OAuth access token from
 * Application Default Credentials. A corpus larger than one API call allows is split to
 * the API's limit (250 texts per Vertex `predict`, 100 per `batchEmbedContents`) and the
 * vectors come back in input order.
 *
 *   EFFECT_ADC_DEMO=1 npx tsx examples/embeddings.ts                  # local emulators
 *   GOOGLE_CLOUD_PROJECT=my-project npx tsx examples/embeddings.ts   # Vertex AI, us-central1
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { cosineSimilarity } from "../src/model/embedding/EmbeddingResponse.js"
import { EmbeddingService } from "../src/model/embedding/EmbeddingService.js"
import * as GeminiApiEmbeddings from "../src/model/embedding/GeminiApiEmbeddings.js"
import * as GeminiVertexEmbeddings from "../src/model/embedding/GeminiVertexEmbeddings.js"
import { baseLayer, endpoints, printer } from "./model-demo.js"

const api = process.env["EMBED_BACKEND"] === "api"
const model = process.env["EMBED_MODEL"] ?? (api ? "gemini-embedding-001" : "text-embedding-005")

const documents = [
  "Cloud Run scales containers to zero when nobody calls them",
  "Vertex AI serves Gemini models in many regions",
  "Application Default Credentials find a token without a key file",
  "Ollama runs Gemma on a Cloud Run GPU"
]

/** The example program; returns what it printed. */
export const program = Effect.gen(function*() {
  const embeddings = yield* EmbeddingService
  const { lines, say } = printer()

  const index = yield* embeddings.embed({ model, inputs: documents, taskType: "RETRIEVAL_DOCUMENT", dimensions: 256 })
  const question = "How do I get a token without an API key?"
  const [query] = (yield* embeddings.embed({ model, inputs: [question], taskType: "RETRIEVAL_QUERY", dimensions: 256 }))
    .embeddings
  const ranked = documents
    .map((text, i) => ({ text, score: cosineSimilarity(query!, index.embeddings[i]!) }))
    .sort((a, b) => b.score - a.score)
  yield* say(`best match: ${ranked[0]!.text}`)
  yield* say(`vector size: ${index.embeddings[0]!.length}`)

  // a corpus larger than one call: split to the API's limit, vectors in input order
  const corpus = Array.from({ length: 300 }, (_, i) => `note ${i}: ${documents[i % documents.length]}`)
  const all = yield* embeddings.embed({ model, inputs: corpus, taskType: "RETRIEVAL_DOCUMENT", dimensions: 8 })
  yield* say(`${all.embeddings.length} vectors in ${all.calls} calls`)
  return lines
})

/** The layer: Vertex AI or the Gemini API over AuthService. */
export const layer = Layer.unwrapScoped(
  Effect.map(endpoints, (e) => {
    const local = e.geminiUrl === undefined ? {} : { baseUrl: e.geminiUrl, origins: [e.geminiUrl] }
    const backend = api
      ? GeminiApiEmbeddings.layer({ quotaProject: e.project, ...local })
      : GeminiVertexEmbeddings.layer({
        project: e.project,
        location: process.env["GOOGLE_CLOUD_LOCATION"] ?? "us-central1",
        ...local
      })
    return backend.pipe(Layer.provide(baseLayer(e.auth)))
  })
)

if (import.meta.url === `file://${process.argv[1]}`) {
  program.pipe(Effect.provide(layer), Effect.scoped, Effect.runPromise).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
}
