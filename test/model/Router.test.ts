import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as GeminiApi from "../../src/model/gemini/GeminiApi.js"
import * as GeminiVertex from "../../src/model/gemini/GeminiVertex.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import * as RetryPolicy from "../../src/model/RetryPolicy.js"
import * as Router from "../../src/model/Router.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import { useEmulator } from "../support/emulator.js"
import { emulatorBase, useModelEmulators } from "./support.js"

const emulator = useEmulator({ env: true })
const models = useModelEmulators(emulator)
const ollama = OllamaEmulator.make()
let ollamaService: Emulator.CloudRunService

beforeAll(async () => {
  ollamaService = await emulator.cloudRun.deploy({ name: "router-ollama", handler: ollama.handler })
})

const router = (withFallback: boolean) => {
  const geminiLayer = GeminiApi.layer({
    baseUrl: models.gemini.url,
    origins: [models.gemini.url],
    retry: RetryPolicy.none
  })
  const ollamaLayer = Ollama.layer({ url: ollamaService.url })
  return Router.layer({
    routes: [{ match: "gemini-*", layer: geminiLayer }, { match: /^gemma/, layer: ollamaLayer }],
    fallback: withFallback ? { layer: ollamaLayer, model: "gemma3:4b" } : undefined
  }).pipe(
    Layer.provide(emulatorBase(emulator))
  )
}

const reset = Effect.sync(() => {
  models.gemini.emulator.reset()
  ollama.reset()
})

describe("Router", () => {
  it.effect("routes by model name; an unrouted model is NoRoute naming the model and the routes", () =>
    Effect.gen(function*() {
      yield* reset
      const model = yield* ModelService
      const a = yield* model.generate({ model: "gemini-2.5-flash", contents: [ModelRequest.user("to gemini")] })
      const b = yield* model.generate({ model: "gemma3:4b", contents: [ModelRequest.user("to gemma")] })
      expect([a.text, b.text]).toEqual(["Echo: to gemini", "Echo: to gemma"])
      expect(models.gemini.emulator.requests.length).toBe(1)
      expect(ollama.requests.length).toBe(1)
      const error = yield* Effect.flip(model.generate({ model: "claude", contents: [ModelRequest.user("x")] }))
      expect(error._tag).toBe("NoRoute")
      expect(error.message).toMatch(/^No route for model "claude" \(routes: .+\): nothing was sent/)
    }).pipe(Effect.provide(router(false))))

  it.effect("a retryable failure falls back to the other backend with the fallback model", () =>
    Effect.gen(function*() {
      yield* reset
      models.gemini.emulator.fail({ status: 503 })
      const model = yield* ModelService
      const response = yield* model.generate({ model: "gemini-2.5-flash", contents: [ModelRequest.user("hello")] })
      expect(response.text).toBe("Echo: hello")
      expect((ollama.requests[0]?.body as { model: string }).model).toBe("gemma3:4b")
      // a non-retryable failure does not fall back
      models.gemini.emulator.fail({ status: 400 })
      const error = yield* Effect.flip(
        model.generate({ model: "gemini-2.5-flash", contents: [ModelRequest.user("x")] })
      )
      expect(error._tag).toBe("InvalidRequest")
      expect(ollama.requests.length).toBe(1)
    }).pipe(Effect.provide(router(true))))

  it.effect("a stream that failed before output falls back", () =>
    Effect.gen(function*() {
      yield* reset
      models.gemini.emulator.fail({ status: 429 })
      const model = yield* ModelService
      const chunks = yield* Stream.runCollect(
        model.stream({ model: "gemini-2.5-flash", contents: [ModelRequest.user("a b c")] })
      )
      expect(Chunk.toArray(chunks).map((c) => c.textDelta).join("")).toBe("Echo: a b c")
      expect(ollama.requests.length).toBe(1)
    }).pipe(Effect.provide(router(true))))

  it.effect("a stream that failed after output does not fall back (no replay on another backend)", () =>
    Effect.gen(function*() {
      yield* reset
      ollama.fail({ status: 500, midStream: true })
      const model = yield* ModelService
      const seen: Array<string> = []
      const error = yield* Effect.flip(Stream.runForEach(
        model.stream({ model: "gemma3:4b", contents: [ModelRequest.user("one two three four five six")] }),
        (chunk) => Effect.sync(() => seen.push(chunk.textDelta))
      ))
      expect(error._tag).toBe("ServerError")
      expect(error.isRetryable).toBe(true)
      expect(seen.join("")).not.toBe("")
      expect(models.gemini.emulator.requests.length).toBe(0)
      // the same failure before output does fall back
      ollama.fail({ status: 500 })
      const chunks = yield* Stream.runCollect(
        model.stream({ model: "gemma3:4b", contents: [ModelRequest.user("p q")] })
      )
      expect(Chunk.toArray(chunks).map((c) => c.textDelta).join("")).toBe("Echo: p q")
      expect(models.gemini.emulator.requests.length).toBe(1)
    }).pipe(Effect.provide(
      Router.layer({
        routes: [{ match: "gemma*", layer: Ollama.layer({ url: ollamaService.url, retry: RetryPolicy.none }) }],
        fallback: {
          layer: GeminiApi.layer({ baseUrl: models.gemini.url, origins: [models.gemini.url] }),
          model: "gemini-2.5-flash"
        }
      }).pipe(Layer.provide(emulatorBase(emulator)))
    )))

  it.effect("falling back to another Gemini model sends the history without thought signatures", () =>
    Effect.gen(function*() {
      yield* reset
      models.gemini.emulator.fail({ status: 503 })
      const model = yield* ModelService
      const response = yield* model.generate({
        model: "gemini-3-pro",
        contents: [
          ModelRequest.user("weather?"),
          {
            role: "model",
            parts: [
              ModelRequest.TextPart.make({ text: "let me think", thought: true, thoughtSignature: "sig-thought" }),
              ModelRequest.FunctionCallPart.make({
                id: "c1",
                name: "get_weather",
                args: {},
                thoughtSignature: "sig-call"
              })
            ]
          },
          {
            role: "user",
            parts: [ModelRequest.FunctionResponsePart.make({ id: "c1", name: "get_weather", response: { t: 20 } })]
          }
        ]
      })
      expect(response.modelVersion).toBeDefined()
      const [first, second] = models.gemini.emulator.requests
      // the primary got the signatures verbatim; the fallback model gets none, nor the thought
      expect(JSON.stringify(first?.body)).toContain("sig-call")
      expect(second?.path).toContain("gemini-2.5-flash")
      expect(JSON.stringify(second?.body)).not.toContain("sig-")
      expect(JSON.stringify(second?.body)).not.toContain("let me think")
    }).pipe(Effect.provide(
      Router.layer({
        routes: [{
          match: "gemini-*",
          layer: GeminiApi.layer({ baseUrl: models.gemini.url, origins: [models.gemini.url], retry: RetryPolicy.none })
        }],
        fallback: {
          layer: GeminiApi.layer({ baseUrl: models.gemini.url, origins: [models.gemini.url] }),
          model: "gemini-2.5-flash"
        }
      }).pipe(
        Layer.provide(emulatorBase(emulator))
      )
    )))

  it.effect("falling back to another backend with the same model name (Vertex → Gemini API) drops thought signatures too", () =>
    Effect.gen(function*() {
      yield* reset
      models.gemini.emulator.fail({ status: 429, retryDelay: "1s" })
      const model = yield* ModelService
      yield* model.generate({
        model: "gemini-3-pro",
        contents: [
          ModelRequest.user("weather?"),
          {
            role: "model",
            parts: [
              ModelRequest.FunctionCallPart.make({
                id: "c1",
                name: "get_weather",
                args: {},
                thoughtSignature: "sig-call"
              })
            ]
          },
          {
            role: "user",
            parts: [ModelRequest.FunctionResponsePart.make({ id: "c1", name: "get_weather", response: { t: 20 } })]
          }
        ]
      })
      const [first, second] = models.gemini.emulator.requests
      expect(first?.flavor).toBe("vertex")
      expect(JSON.stringify(first?.body)).toContain("sig-call")
      expect([second?.flavor, second?.model]).toEqual(["api", "gemini-3-pro"])
      expect(JSON.stringify(second?.body)).not.toContain("sig-")
      expect(JSON.stringify(second?.body)).toContain("get_weather")
    }).pipe(Effect.provide(
      Router.layer({
        routes: [{
          match: "gemini-*",
          layer: GeminiVertex.layer({
            project: "emulator-project",
            location: "global",
            baseUrl: models.gemini.url,
            origins: [models.gemini.url],
            retry: RetryPolicy.none
          })
        }],
        fallback: { layer: GeminiApi.layer({ baseUrl: models.gemini.url, origins: [models.gemini.url] }) }
      }).pipe(
        Layer.provide(emulatorBase(emulator))
      )
    )))

  it("thought signatures and thought parts are dropped for the fallback model", () => {
    const request: ModelRequest.ModelRequest = {
      model: "gemini-3-pro",
      contents: [{
        role: "model",
        parts: [
          ModelRequest.TextPart.make({ text: "thinking", thought: true, thoughtSignature: "sig-a" }),
          ModelRequest.TextPart.make({ text: "", thoughtSignature: "sig-b" }),
          ModelRequest.FunctionCallPart.make({ id: "c1", name: "f", args: {}, thoughtSignature: "sig-c" })
        ]
      }]
    }
    const stripped = Router.dropThoughtSignatures(request)
    expect(stripped.contents[0]?.parts).toEqual([
      { _tag: "text", text: "" },
      { _tag: "functionCall", id: "c1", name: "f", args: {} }
    ])
    expect(JSON.stringify(stripped)).not.toContain("sig-")
  })
})
