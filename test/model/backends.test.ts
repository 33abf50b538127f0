/**
 * ModelService end to end: real tokens from the identity emulator (metadata server),
 * Ollama and vLLM emulators deployed behind the Cloud Run front door (which verifies
 * the ID token), the Gemini emulator checking access tokens with tokeninfo.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as GeminiApi from "../../src/model/gemini/GeminiApi.js"
import * as GeminiVertex from "../../src/model/gemini/GeminiVertex.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import * as OpenAICompatible from "../../src/model/openai/OpenAICompatible.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import * as OpenAICompatibleEmulator from "../../src/testing/models/OpenAICompatibleEmulator.js"
import { useEmulator } from "../support/emulator.js"
import { at } from "../support/json.js"
import { awaitRetrySleep, type BackendLayer, emulatorBase, tick, useModelEmulators } from "./support.js"

const emulator = useEmulator({ env: true })
const models = useModelEmulators(emulator, {
  names: { ollama: "models-ollama", openAICompatible: "models-vllm" }
})
const ollama = OllamaEmulator.make()
const vllm = OpenAICompatibleEmulator.make()
const vllmKeyed = OpenAICompatibleEmulator.make({ apiKey: "app-key" })
let ollamaService: Emulator.CloudRunService
let vllmService: Emulator.CloudRunService
let vllmKeyedService: Emulator.CloudRunService

beforeAll(async () => {
  ollamaService = await emulator.cloudRun.deploy({ name: "gemma-ollama", handler: ollama.handler })
  vllmService = await emulator.cloudRun.deploy({ name: "gemma-vllm", handler: vllm.handler })
  vllmKeyedService = await emulator.cloudRun.deploy({ name: "gemma-vllm-keyed", handler: vllmKeyed.handler })
})

/** A fresh AuthService (stateful token cache) and HttpClient per test. */
const base = () => emulatorBase(emulator)

const provide = <A, E>(
  backend: BackendLayer,
  effect: Effect.Effect<A, E, ModelService>
) => {
  ollama.reset()
  vllm.reset()
  vllmKeyed.reset()
  models.gemini.emulator.reset()
  return effect.pipe(Effect.provide(backend.pipe(Layer.provide(base()))))
}

const ollamaLayer = () => Ollama.layer({ url: ollamaService.url })
const vllmLayer = () => OpenAICompatible.layer({ url: vllmService.url })
const apiLayer = (options: Partial<GeminiApi.Options> = {}) =>
  GeminiApi.layer({
    baseUrl: models.gemini.url,
    origins: [models.gemini.url],
    quotaProject: "quota-project",
    ...options
  })
const vertexLayer = () =>
  GeminiVertex.layer({
    project: "emulator-project",
    location: "global",
    baseUrl: models.gemini.url,
    origins: [models.gemini.url]
  })

const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })
const Weather = Schema.Struct({ city: Schema.String })
const weatherTool: ModelRequest.Tool = { name: "get_weather", description: "weather", parameters: Weather }

const collect = <A>(request: ModelRequest.ModelRequest<A>) =>
  Effect.flatMap(ModelService, (model) => Stream.runCollect(model.stream(request))).pipe(Effect.map(Chunk.toArray))

describe("Ollama behind the Cloud Run front door", () => {
  it.effect("generate: ID token accepted by the front door, normalised response", () =>
    provide(
      ollamaLayer(),
      Effect.gen(function*() {
        const model = yield* ModelService
        const response = yield* model.generate({ model: "gemma3:4b", contents: [ModelRequest.user("hello gemma")] })
        expect(response.text).toBe("Echo: hello gemma")
        expect(response.finishReason).toBe("stop")
        expect(response.usage).toEqual({ inputTokens: 2, outputTokens: 3, totalTokens: 5 })
        expect(emulator.controls.count("cloudrun:gemma-ollama")).toBe(1)
        const principal = emulator.controls.log.find((l) => l.endpoint === "cloudrun:gemma-ollama")?.principal
        expect(principal).toBe(emulator.serviceAccount.email)
      })
    ))

  it.effect("stream: NDJSON chunks, final finish reason and usage", () =>
    provide(
      ollamaLayer(),
      Effect.gen(function*() {
        const chunks = yield* collect({ model: "gemma3:4b", contents: [ModelRequest.user("one two three four five")] })
        expect(chunks.length).toBe(4)
        expect(chunks.map((c) => c.textDelta).join("")).toBe("Echo: one two three four five")
        expect(chunks.at(-1)?.finishReason).toBe("stop")
        expect(chunks.at(-1)?.usage?.outputTokens).toBe(6)
      })
    ))

  it.effect("tools from an Effect Schema, tool call ids, then structured output decoded with the schema", () =>
    provide(
      ollamaLayer(),
      Effect.gen(function*() {
        const model = yield* ModelService
        const called = yield* model.generate({
          model: "gemma3:4b",
          contents: [ModelRequest.user("get_weather city=Tokyo")],
          tools: [weatherTool]
        })
        expect(called.toolCalls).toEqual([{ id: "call_0", name: "get_weather", args: { city: "Tokyo" } }])
        expect(called.finishReason).toBe("tool-calls")
        const sent = ollama.requests[0]?.body
        expect(at(sent, "tools", 0, "function", "parameters", "properties", "city")).toEqual({ type: "string" })
        const structured = yield* model.generate({
          model: "gemma3:4b",
          contents: [ModelRequest.user("who name=Ada age=36")],
          output: { schema: Person }
        })
        expect(structured.value).toEqual({ name: "Ada", age: 36 })
      })
    ))

  it.effect("the mid-stream error line fails the stream with ServerError after output, and is not retried", () =>
    provide(
      ollamaLayer(),
      Effect.gen(function*() {
        const seen: Array<string> = []
        const model = yield* ModelService
        const error = yield* model.stream({
          model: "gemma3:4b",
          contents: [ModelRequest.user("a b c d e f [[midstream_error]]")]
        }).pipe(Stream.runForEach((c) => Effect.sync(() => seen.push(c.textDelta))), Effect.flip)
        expect(seen.length).toBe(2)
        expect(error._tag).toBe("ServerError")
        expect(error.detail).toBe("an error was encountered while running the model")
        expect(ollama.requests.length).toBe(1)
      })
    ))

  it.effect("unknown model → NotFound, not retried", () =>
    provide(
      ollamaLayer(),
      Effect.gen(function*() {
        const model = yield* ModelService
        const error = yield* Effect.flip(model.generate({ model: "llama9", contents: [ModelRequest.user("x")] }))
        expect(error._tag).toBe("NotFound")
        expect(error.message).toContain("ollama pull")
        expect(ollama.requests.length).toBe(1)
      })
    ))

  it.effect("a wrong audience: the front door's 401 becomes Unauthorized after one replay", () =>
    provide(
      Ollama.layer({
        url: ollamaService.url,
        audience: "https://someone-else.a.run.app",
        origins: [ollamaService.url]
      }),
      Effect.gen(function*() {
        const model = yield* ModelService
        const error = yield* Effect.flip(model.generate({ model: "gemma3:4b", contents: [ModelRequest.user("x")] }))
        expect(error._tag).toBe("Unauthorized")
        expect(error.message).toContain("audience")
        expect(ollama.requests.length).toBe(0)
      })
    ))
})

describe("vLLM (OpenAI-compatible) behind the Cloud Run front door", () => {
  it.effect("generate, stream with tool-call fragments assembled, structured output", () =>
    provide(
      vllmLayer(),
      Effect.gen(function*() {
        const model = yield* ModelService
        const response = yield* model.generate({
          model: "google/gemma-3-4b-it",
          system: "be brief",
          contents: [ModelRequest.user("hi there")]
        })
        expect(response.text).toBe("Echo: hi there")
        expect(response.responseId).toMatch(/^chatcmpl-/)
        const chunks = yield* collect({
          model: "google/gemma-3-4b-it",
          contents: [ModelRequest.user("get_weather city=Paris")],
          tools: [weatherTool]
        })
        const calls = chunks.flatMap((c) => c.toolCalls)
        expect(calls).toHaveLength(1)
        expect(calls[0]?.name).toBe("get_weather")
        expect(calls[0]?.args).toEqual({ city: "Paris" })
        expect(calls[0]?.id).toMatch(/^chatcmpl-tool-/)
        expect(chunks.find((c) => c.finishReason !== undefined)?.finishReason).toBe("tool-calls")
        expect(chunks.at(-1)?.usage?.inputTokens).toBe(2)
        const structured = yield* model.generate({
          model: "google/gemma-3-4b-it",
          contents: [ModelRequest.user("name=Grace age=85")],
          output: { schema: Person, name: "person" }
        })
        expect(structured.value).toEqual({ name: "Grace", age: 85 })
        expect(at(vllm.requests.at(-1)?.body, "response_format", "json_schema", "name")).toBe("person")
      })
    ))

  it.effect("a mid-stream error event fails the stream after output, without a retry", () =>
    provide(
      vllmLayer(),
      Effect.gen(function*() {
        const model = yield* ModelService
        const seen: Array<string> = []
        const error = yield* model.stream({
          model: "google/gemma-3-4b-it",
          contents: [ModelRequest.user("a b c d e f [[midstream_error]]")]
        }).pipe(Stream.runForEach((c) => Effect.sync(() => seen.push(c.textDelta))), Effect.flip)
        expect(seen.join("")).toBe("Echo: a b c d e ")
        expect(error._tag).toBe("ServerError")
        expect(error.detail).toBe("The engine died unexpectedly.")
        expect(vllm.requests.length).toBe(1)
      })
    ))

  it.effect("the app's API key in Authorization, the ID token in X-Serverless-Authorization", () =>
    provide(
      OpenAICompatible.layer({ url: vllmKeyedService.url, apiKey: Redacted.make("app-key") }),
      Effect.gen(function*() {
        const model = yield* ModelService
        const response = yield* model.generate({ model: "google/gemma-3-4b-it", contents: [ModelRequest.user("x")] })
        expect(response.text).toBe("Echo: x")
        expect(vllmKeyed.requests[0]?.headers["authorization"]).toBe("Bearer app-key")
        expect(vllmKeyed.requests[0]?.headers["x-serverless-authorization"]).toBeDefined()
      })
    ))

  it.effect("a 429 with Retry-After is retried after at least that long (TestClock); a 400 is not retried", () =>
    provide(
      vllmLayer(),
      Effect.gen(function*() {
        const model = yield* ModelService
        vllm.fail({ status: 429, message: "queue full", retryAfterSeconds: 10 })
        const fiber = yield* Effect.fork(
          model.generate({ model: "google/gemma-3-4b-it", contents: [ModelRequest.user("x")] })
        )
        yield* awaitRetrySleep(() => vllm.requests.length, 1, { exactly: 10_000 })
        yield* TestClock.adjust("9 seconds")
        expect(vllm.requests.length).toBe(1)
        yield* TestClock.adjust("1 second")
        const response = yield* Fiber.join(fiber)
        expect(response.text).toBe("Echo: x")
        expect(vllm.requests.length).toBe(2)
        vllm.fail({ status: 400, message: "bad" })
        const error = yield* Effect.flip(
          model.generate({ model: "google/gemma-3-4b-it", contents: [ModelRequest.user("x")] })
        )
        expect(error._tag).toBe("InvalidRequest")
        expect(vllm.requests.length).toBe(3)
      })
    ))
})

describe("Gemini API and Vertex with access tokens checked by tokeninfo", () => {
  it.effect("generate: a real access token, x-goog-user-project, no API key; usage and model version", () =>
    provide(
      apiLayer(),
      Effect.gen(function*() {
        const model = yield* ModelService
        const response = yield* model.generate({ model: "gemini-2.5-flash", contents: [ModelRequest.user("why blue")] })
        expect(response.text).toBe("Echo: why blue")
        expect(response.modelVersion).toBe("gemini-2.5-flash")
        const request = models.gemini.emulator.requests[0]!
        expect(request.path).toBe("/v1beta/models/gemini-2.5-flash:generateContent")
        expect(request.principal).toBe(emulator.serviceAccount.email)
        expect(request.headers["x-goog-user-project"]).toBe("quota-project")
        expect(request.headers["x-goog-api-key"]).toBeUndefined()
      })
    ))

  it.effect("Vertex global endpoint path; stream in chunks; countTokens", () =>
    provide(
      vertexLayer(),
      Effect.gen(function*() {
        const model = yield* ModelService
        const chunks = yield* collect({ model: "gemini-2.5-flash", contents: [ModelRequest.user("a b c d e f g")] })
        expect(chunks.length).toBe(3)
        expect(chunks.map((c) => c.textDelta).join("")).toBe("Echo: a b c d e f g")
        expect(chunks.at(-1)?.usage).toEqual({ inputTokens: 7, outputTokens: 8, totalTokens: 15 })
        expect(models.gemini.emulator.requests[0]?.path).toBe(
          "/v1/projects/emulator-project/locations/global/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        )
        const tokens = yield* model.countTokens({ model: "gemini-2.5-flash", contents: [ModelRequest.user("a b c")] })
        expect(tokens).toBe(3)
      })
    ))

  it.effect("tools, thought signature kept on the call, structured output", () =>
    provide(
      apiLayer(),
      Effect.gen(function*() {
        const model = yield* ModelService
        const called = yield* model.generate({
          model: "gemini-2.5-flash",
          contents: [ModelRequest.user("what now")],
          tools: [weatherTool],
          toolChoice: "required"
        })
        expect(called.toolCalls[0]).toMatchObject({ name: "get_weather", args: { city: "example" } })
        expect(called.toolCalls[0]?.thoughtSignature).toBe("ZW11bGF0b3Itc2lnbmF0dXJl")
        const structured = yield* model.generate({
          model: "gemini-2.5-flash",
          contents: [ModelRequest.user("name=Ada age=36")],
          output: { schema: Person }
        })
        expect(structured.value).toEqual({ name: "Ada", age: 36 })
      })
    ))

  it.effect("safety block → ContentBlocked; MAX_TOKENS → length", () =>
    provide(
      apiLayer(),
      Effect.gen(function*() {
        const model = yield* ModelService
        const error = yield* Effect.flip(
          model.generate({ model: "gemini-2.5-flash", contents: [ModelRequest.user("[[safety]]")] })
        )
        expect(error._tag).toBe("ContentBlocked")
        const cut = yield* model.generate({
          model: "gemini-2.5-flash",
          contents: [ModelRequest.user("one two three four")],
          generation: { maxOutputTokens: 2 }
        })
        expect(cut.finishReason).toBe("length")
        expect(cut.text).toBe("Echo: one")
      })
    ))

  it.effect("a 429 with RetryInfo 26s waits 26s (TestClock), then succeeds", () =>
    provide(
      apiLayer(),
      Effect.gen(function*() {
        const model = yield* ModelService
        models.gemini.emulator.fail({ status: 429, retryDelay: "26s" })
        const fiber = yield* Effect.fork(
          model.generate({ model: "gemini-2.5-flash", contents: [ModelRequest.user("x")] })
        )
        yield* awaitRetrySleep(() => models.gemini.emulator.requests.length, 1, { exactly: 26_000 })
        yield* TestClock.adjust("25 seconds")
        expect(models.gemini.emulator.requests.length).toBe(1)
        yield* TestClock.adjust("1 second")
        const response = yield* Fiber.join(fiber)
        expect(response.text).toBe("Echo: x")
        expect(models.gemini.emulator.requests.length).toBe(2)
      })
    ))

  it.effect("a stream whose opening failed (503) is retried before any output", () =>
    provide(
      apiLayer(),
      Effect.gen(function*() {
        models.gemini.emulator.fail({ status: 503 })
        const fiber = yield* Effect.fork(collect({ model: "gemini-2.5-flash", contents: [ModelRequest.user("p q r")] }))
        yield* awaitRetrySleep(() => models.gemini.emulator.requests.length, 1, { within: 5_000 })
        yield* TestClock.adjust("5 seconds")
        const chunks = yield* Fiber.join(fiber)
        expect(chunks.map((c) => c.textDelta).join("")).toBe("Echo: p q r")
        expect(models.gemini.emulator.requests.length).toBe(2)
      })
    ))

  it.effect("a retryable error event after the first chunk fails the stream and is never retried", () =>
    provide(
      apiLayer(),
      Effect.gen(function*() {
        models.gemini.emulator.fail({ status: 503, message: "The model is overloaded.", midStream: true })
        const seen: Array<string> = []
        const model = yield* ModelService
        const fiber = yield* Effect.fork(
          model.stream({ model: "gemini-2.5-flash", contents: [ModelRequest.user("a b c d e f g")] }).pipe(
            Stream.runForEach((c) => Effect.sync(() => seen.push(c.textDelta))),
            Effect.flip
          )
        )
        // a retry would sleep on the TestClock: give it far more than any backoff
        for (let i = 0; i < 20; i++) {
          yield* tick
          yield* TestClock.adjust("5 seconds")
        }
        const error = yield* Fiber.join(fiber)
        expect(error._tag).toBe("Unavailable")
        expect(error.isRetryable).toBe(true)
        expect(error.detail).toBe("The model is overloaded.")
        expect(seen).toEqual(["Echo: a b "])
        expect(models.gemini.emulator.requests.length).toBe(1)
      })
    ))

  it.effect("503 on every attempt: bounded retries, then Unavailable", () =>
    provide(
      apiLayer(),
      Effect.gen(function*() {
        const model = yield* ModelService
        models.gemini.emulator.fail({ status: 503 }, 10)
        // TestClock keeps the sleeps of finished timeouts (the metadata probe's 3 s) until
        // time passes them: pass them first, so only retry sleeps are within 5 s below.
        yield* TestClock.adjust("5 seconds")
        const fiber = yield* Effect.fork(
          Effect.flip(model.generate({ model: "gemini-2.5-flash", contents: [ModelRequest.user("x")] }))
        )
        for (let i = 1; i <= 3; i++) {
          expect(models.gemini.emulator.requests.length).toBeLessThanOrEqual(i)
          // the default policy waits 0.5, 1 and 2 s (±20 %): within 2.5 s. A wider window also
          // matches the 5 s sleeps the token fetch's finished timeouts leave on the TestClock,
          // found before this attempt's reply (and its retry sleep) arrived
          const delay = yield* awaitRetrySleep(() => models.gemini.emulator.requests.length, i, { within: 2_500 })
          // to this retry's wake exactly: the next attempt's sleep is at least 0.4 s later
          yield* TestClock.adjust(Duration.millis(delay))
        }
        const error = yield* Fiber.join(fiber)
        expect(error._tag).toBe("Unavailable")
        expect(models.gemini.emulator.requests.length).toBe(4)
      })
    ))
})

describe("inline data (image bytes) end to end", () => {
  // a 1×1 PNG: the emulators sniff the type from the bytes and say how many arrived
  const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
  const seen = `[image/png ${Buffer.from(png, "base64").length} bytes]`
  const request = (model: string): ModelRequest.ModelRequest => ({
    model,
    contents: [{
      role: "user",
      parts: [
        ModelRequest.TextPart.make({ text: "what is this?" }),
        ModelRequest.InlineDataPart.make({ mimeType: "image/png", data: png })
      ]
    }]
  })
  const generate = (model: string) => Effect.flatMap(ModelService, (m) => m.generate(request(model)))

  it.effect("Gemini API: parts[].inlineData with mimeType and base64 data", () =>
    provide(
      apiLayer(),
      Effect.map(generate("gemini-2.5-flash"), (response) => {
        expect(response.text).toBe(`Echo: what is this? ${seen}`)
        expect(at(models.gemini.emulator.requests[0]?.body, "contents", 0, "parts", 1)).toEqual({
          inlineData: { mimeType: "image/png", data: png }
        })
      })
    ))

  it.effect("Vertex: the same inlineData part on the publisher model path", () =>
    provide(
      vertexLayer(),
      Effect.map(generate("gemini-2.5-flash"), (response) => expect(response.text).toBe(`Echo: what is this? ${seen}`))
    ))

  it.effect("Ollama: the message's images array (base64, no MIME type)", () =>
    provide(
      ollamaLayer(),
      Effect.map(generate("gemma3:4b"), (response) => {
        expect(response.text).toBe(`Echo: what is this? ${seen}`)
        expect(at(ollama.requests[0]?.body, "messages", -1, "images")).toEqual([png])
      })
    ))

  it.effect("vLLM: an image_url content piece with a data: URL", () =>
    provide(
      vllmLayer(),
      Effect.map(generate("google/gemma-3-4b-it"), (response) => {
        expect(response.text).toBe(`Echo: what is this? ${seen}`)
        const content = at(vllm.requests[0]?.body, "messages", -1, "content")
        expect(content).toContainEqual({ type: "image_url", image_url: { url: `data:image/png;base64,${png}` } })
      })
    ))
})
