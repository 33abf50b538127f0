/**
 * Gemma behind Ollama on a private Cloud Run service, keyless: the request carries a
 * Google-signed ID token for the service URL. Generate, stream, a tool call and
 * structured output decoded with an Effect Schema.
 *
 *   EFFECT_ADC_DEMO=1 npx tsx examples/model-ollama.ts      # against the local emulators
 *   OLLAMA_URL=https://… npx tsx examples/model-ollama.ts   # against your Cloud Run service
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as ModelRequest from "../src/model/ModelRequest.js"
import * as ModelResponse from "../src/model/ModelResponse.js"
import { ModelService } from "../src/model/ModelService.js"
import * as Ollama from "../src/model/ollama/Ollama.js"
import { baseLayer, endpoints, printer } from "./model-demo.js"

const model = process.env["OLLAMA_MODEL"] ?? "gemma3:4b"

/** The example program; returns what it printed. */
export const program = Effect.gen(function*() {
  const service = yield* ModelService
  const { lines, say } = printer()

  const hello = yield* service.generate({ model, contents: [ModelRequest.user("Say hello in five words")] })
  yield* say(`generate: ${hello.text} (${hello.finishReason}, ${hello.usage.totalTokens ?? "?"} tokens)`)

  // collect the chunks, then fold them into the same response `generate` returns
  const chunks = yield* service.stream({
    model,
    contents: [ModelRequest.user("Count from one to five")],
    idleTimeout: "30 seconds"
  }).pipe(Stream.runCollect)
  const streamed = ModelResponse.fromChunks(chunks)
  yield* say(`stream: ${streamed.text}`)

  const weather = yield* service.generate({
    model,
    contents: [ModelRequest.user("get_weather city=Tokyo")],
    tools: [{ name: "get_weather", description: "Current weather", parameters: Schema.Struct({ city: Schema.String }) }]
  })
  for (const call of weather.toolCalls) yield* say(`tool call ${call.id}: ${call.name}(${JSON.stringify(call.args)})`)

  const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })
  const person = yield* service.generate({
    model,
    contents: [ModelRequest.user("Invent a person name=Ada age=36")],
    output: { schema: Person }
  })
  yield* say(`structured: ${person.value?.name} is ${person.value?.age}`)
  return lines
})

/** The layer: the Ollama backend over AuthService (real ADC, or the emulators in demo mode). */
export const layer = Layer.unwrapScoped(
  Effect.map(endpoints, (e) => Ollama.layer({ url: e.ollamaUrl }).pipe(Layer.provide(baseLayer(e.auth))))
)

if (import.meta.url === `file://${process.argv[1]}`) {
  program.pipe(Effect.provide(layer), Effect.scoped, Effect.runPromise).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
}
