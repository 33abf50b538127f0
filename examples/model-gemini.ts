/**
 * Gemini without an API key: Vertex AI (`GEMINI_BACKEND=vertex`, the default) or the
 * Gemini API (`GEMINI_BACKEND=api`, with `x-goog-user-project`), both with an OAuth
 * access token from Application Default Credentials. Swapping the backend is a layer,
 * not code.
 *
 *   EFFECT_ADC_DEMO=1 npx tsx examples/model-gemini.ts                         # local emulators
 *   GOOGLE_CLOUD_PROJECT=my-project npx tsx examples/model-gemini.ts          # Vertex, global endpoint
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as GeminiApi from "../src/model/gemini/GeminiApi.js"
import * as GeminiVertex from "../src/model/gemini/GeminiVertex.js"
import * as ModelRequest from "../src/model/ModelRequest.js"
import { ModelService } from "../src/model/ModelService.js"
import { baseLayer, endpoints, printer } from "./model-demo.js"

const model = process.env["GEMINI_MODEL"] ?? "gemini-2.5-flash"

/** The example program; returns what it printed. */
export const program = Effect.gen(function*() {
  const service = yield* ModelService
  const { lines, say } = printer()
  const answer = yield* service.generate({ model, contents: [ModelRequest.user("Why is the sky blue?")] })
  yield* say(`answer: ${answer.text}`)
  const tokens = yield* service.countTokens({ model, contents: [ModelRequest.user("Why is the sky blue?")] })
  yield* say(`prompt tokens: ${tokens}`)
  return lines
})

/** The layer: Vertex or the Gemini API over AuthService. */
export const layer = Layer.unwrapScoped(
  Effect.map(endpoints, (e) => {
    const local = e.geminiUrl === undefined ? {} : { baseUrl: e.geminiUrl, origins: [e.geminiUrl] }
    const backend = process.env["GEMINI_BACKEND"] === "api"
      ? GeminiApi.layer({ quotaProject: e.project, ...local })
      : GeminiVertex.layer({ project: e.project, location: process.env["GOOGLE_CLOUD_LOCATION"] ?? "global", ...local })
    return backend.pipe(Layer.provide(baseLayer(e.auth)))
  })
)

if (import.meta.url === `file://${process.argv[1]}`) {
  program.pipe(Effect.provide(layer), Effect.scoped, Effect.runPromise).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
}
