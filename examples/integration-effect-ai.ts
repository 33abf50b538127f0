/**
 * @effect/ai on Gemma served by Ollama on private Cloud Run, keyless: EffectAi.layer
 * provides @effect/ai's LanguageModel from our ModelService, whose requests carry a
 * Google-signed ID token. generateText, streamText, generateObject with a Schema, and
 * a Chat whose Toolkit handler answers a tool call. Set GEMINI_BACKEND=vertex to run
 * the same program on Gemini on Vertex AI.
 *
 *   EFFECT_ADC_DEMO=1 npx tsx examples/integration-effect-ai.ts         # local emulators
 *   OLLAMA_URL=https://gemma-…run.app npx tsx examples/integration-effect-ai.ts   # your ADC
 */
import * as Chat from "@effect/ai/Chat"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as EffectAi from "../src/integrations/effectAi.js"
import * as GeminiVertex from "../src/model/gemini/GeminiVertex.js"
import * as Ollama from "../src/model/ollama/Ollama.js"
import { runMain } from "./demoMode.js"
import { baseLayer, endpoints, printer } from "./model-demo.js"

const GetWeather = Tool.make("get_weather", {
  description: "The current weather in a city",
  parameters: { city: Schema.String },
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number })
})
const Weather = Toolkit.make(GetWeather)
const WeatherLive = Weather.toLayer({ get_weather: ({ city }) => Effect.succeed({ city, celsius: 21 }) })

const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })

/** The program: plain @effect/ai code, unaware of which backend or token it runs on. */
export const program = Effect.gen(function*() {
  const { lines, say } = printer()

  const hello = yield* LanguageModel.generateText({ prompt: "Say hello from Cloud Run" })
  yield* say(`generateText: ${hello.text} (${hello.finishReason}, ${hello.usage.totalTokens ?? "?"} tokens)`)

  let streamed = ""
  yield* LanguageModel.streamText({ prompt: "Count from one to five" }).pipe(
    Stream.runForEach((part) => Effect.sync(() => (streamed += part.type === "text-delta" ? part.delta : "")))
  )
  yield* say(`streamText: ${streamed}`)

  const person = yield* LanguageModel.generateObject({ prompt: "Invent a person name=Ada age=36", schema: Person })
  yield* say(`generateObject: ${person.value.name} is ${person.value.age}`)

  const chat = yield* Chat.empty
  const asked = yield* chat.generateText({ prompt: "get_weather city=Tokyo", toolkit: Weather })
  for (const result of asked.toolResults) yield* say(`tool ${result.name}: ${JSON.stringify(result.result)}`)
  const answer = yield* chat.generateText({ prompt: [], toolkit: Weather })
  yield* say(`chat: ${answer.text}`)
  return lines
}).pipe(Effect.provide(WeatherLive))

/** LanguageModel over ModelService over AuthService (real ADC, or the emulators in demo mode). */
export const layer = Layer.unwrapScoped(
  Effect.map(endpoints, (e) => {
    const backend = process.env["GEMINI_BACKEND"] === "vertex"
      ? GeminiVertex.layer({
        project: e.project,
        location: process.env["GOOGLE_CLOUD_LOCATION"] ?? "global",
        ...(e.geminiUrl === undefined ? {} : { baseUrl: e.geminiUrl, origins: [e.geminiUrl] })
      })
      : Ollama.layer({ url: e.ollamaUrl })
    const model = process.env["GEMINI_BACKEND"] === "vertex"
      ? process.env["GEMINI_MODEL"] ?? "gemini-2.5-flash"
      : process.env["OLLAMA_MODEL"] ?? "gemma3:4b"
    return EffectAi.layer({ model }).pipe(Layer.provide(backend), Layer.provide(baseLayer(e.auth)))
  })
)

/** The example; returns what it printed, for the examples test. */
export const main = (): Promise<ReadonlyArray<string>> =>
  program.pipe(Effect.provide(layer), Effect.scoped, Effect.runPromise)

runMain(import.meta.url, main)
