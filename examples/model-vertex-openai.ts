/**
 * A Model Garden model on a Vertex AI dedicated endpoint, through Vertex's
 * OpenAI-compatible Chat Completions, keyless: an access token from ADC, refreshed in
 * the background, sent only to Google's hosts (`*.prediction.vertexai.goog` here).
 *
 *   EFFECT_ADC_DEMO=1 npx tsx examples/model-vertex-openai.ts     # against the local emulators
 *   VERTEX_ENDPOINT=1234567890 \
 *   VERTEX_DEDICATED_URL=https://1234567890.us-central1-987654321.prediction.vertexai.goog \
 *   GOOGLE_CLOUD_LOCATION=us-central1 npx tsx examples/model-vertex-openai.ts
 *
 * Without `VERTEX_ENDPOINT` it calls the shared `openapi` endpoint (Gemini by publisher
 * name, `VERTEX_MODEL=google/gemini-2.5-flash`).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as ModelRequest from "../src/model/ModelRequest.js"
import { ModelService } from "../src/model/ModelService.js"
import * as VertexOpenAI from "../src/model/openai/VertexOpenAI.js"
import { baseLayer, endpoints, printer } from "./model-demo.js"

const model = process.env["VERTEX_MODEL"] ?? "google/gemma-3-12b-it"

/** The example program; returns what it printed. */
export const program = Effect.gen(function*() {
  const service = yield* ModelService
  const { lines, say } = printer()
  const answer = yield* service.generate({ model, contents: [ModelRequest.user("What is Model Garden?")] })
  yield* say(`generate: ${answer.text}`)
  const chunks = yield* service.stream({ model, contents: [ModelRequest.user("Name three rivers")] }).pipe(
    Stream.runCollect
  )
  yield* say(`stream: ${Array.from(chunks, (chunk) => chunk.textDelta).join("")}`)
  return lines
})

/**
 * The layer: VertexOpenAI over AuthService. In demo mode the emulator's loopback host
 * stands in for the dedicated endpoint, so it is named in `origins` (loopback gets no
 * access token otherwise).
 */
export const layer = Layer.unwrapScoped(
  Effect.map(endpoints, (e) =>
    VertexOpenAI.layer({
      project: e.project,
      location: process.env["GOOGLE_CLOUD_LOCATION"] ?? "us-central1",
      endpoint: e.geminiUrl === undefined ? process.env["VERTEX_ENDPOINT"] : "1234567890",
      baseUrl: e.geminiUrl ?? process.env["VERTEX_DEDICATED_URL"],
      origins: e.geminiUrl === undefined ? undefined : [e.geminiUrl]
    }).pipe(Layer.provide(baseLayer(e.auth))))
)

if (import.meta.url === `file://${process.argv[1]}`) {
  program.pipe(Effect.provide(layer), Effect.scoped, Effect.runPromise).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
}
