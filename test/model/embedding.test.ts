/**
 * EmbeddingService end to end, per backend, through the public layers: real tokens
 * from the identity emulator, Ollama and vLLM emulators behind the Cloud Run front door
 * (ID tokens verified), the Gemini emulator checking access tokens with tokeninfo.
 * Each backend: the exact wire body, a batch larger than one API call allows split and
 * re-joined in order, usage; a 429 in the middle of a batch retried (TestClock)
 * without re-sending the parts that finished; settings a backend cannot honour refused
 * before anything is sent.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import type * as AuthService from "../../src/auth/AuthService.js"
import * as EmbeddingRequest from "../../src/model/embedding/EmbeddingRequest.js"
import { EmbeddingService } from "../../src/model/embedding/EmbeddingService.js"
import * as GeminiApiEmbeddings from "../../src/model/embedding/GeminiApiEmbeddings.js"
import * as GeminiEmbeddingClient from "../../src/model/embedding/GeminiEmbeddingClient.js"
import * as GeminiVertexEmbeddings from "../../src/model/embedding/GeminiVertexEmbeddings.js"
import * as OllamaEmbeddings from "../../src/model/embedding/OllamaEmbeddings.js"
import * as OpenAICompatibleEmbeddings from "../../src/model/embedding/OpenAICompatibleEmbeddings.js"
import * as GeminiApi from "../../src/model/gemini/GeminiApi.js"
import * as GeminiVertex from "../../src/model/gemini/GeminiVertex.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import { vectorOf } from "../../src/testing/models/internal/embeddings.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import * as OpenAICompatibleEmulator from "../../src/testing/models/OpenAICompatibleEmulator.js"
import { useEmulator } from "../support/emulator.js"
import { at, jsonArray } from "../support/json.js"
import { awaitRetrySleep, emulatorBase, useModelEmulators } from "./support.js"

const emulator = useEmulator({ env: true })
const models = useModelEmulators(emulator, {
  names: { ollama: "embed-models-ollama", openAICompatible: "embed-models-vllm" }
})
// the Ollama and vLLM servers here take at most 4 and 3 inputs per call (a proxy limit)
const ollama = OllamaEmulator.make({ embeddings: { maxInputs: 4 } })
const vllm = OpenAICompatibleEmulator.make({ apiKey: "app-key", embeddings: { maxInputs: 3 } })
let ollamaService: Emulator.CloudRunService
let vllmService: Emulator.CloudRunService

beforeAll(async () => {
  ollamaService = await emulator.cloudRun.deploy({ name: "embed-ollama", handler: ollama.handler })
  vllmService = await emulator.cloudRun.deploy({ name: "embed-vllm", handler: vllm.handler })
})

type Backend = Layer.Layer<EmbeddingService, unknown, AuthService.AuthService | HttpClient.HttpClient>

const provide = <A, E>(backend: Backend, effect: Effect.Effect<A, E, EmbeddingService>) => {
  ollama.reset()
  vllm.reset()
  models.gemini.emulator.reset()
  return effect.pipe(Effect.provide(backend.pipe(Layer.provide(emulatorBase(emulator)))))
}

const apiLayer = (options: Partial<GeminiApiEmbeddings.Options> = {}) =>
  GeminiApiEmbeddings.layer({
    baseUrl: models.gemini.url,
    origins: [models.gemini.url],
    quotaProject: "quota-project",
    ...options
  })
const vertexLayer = (options: Partial<GeminiVertexEmbeddings.Options> = {}) =>
  GeminiVertexEmbeddings.layer({
    project: "emulator-project",
    location: "us-central1",
    baseUrl: models.gemini.url,
    origins: [models.gemini.url],
    ...options
  })
const ollamaLayer = (options: Partial<OllamaEmbeddings.Options> = {}) =>
  OllamaEmbeddings.layer({ url: ollamaService.url, maxBatchSize: 4, ...options })
const vllmLayer = (options: Partial<OpenAICompatibleEmbeddings.Options> = {}) =>
  OpenAICompatibleEmbeddings.layer({
    url: vllmService.url,
    apiKey: Redacted.make("app-key"),
    maxBatchSize: 3,
    ...options
  })

const texts = (n: number, mark?: { readonly at: number; readonly trigger: string }) =>
  Array.from({ length: n }, (_, i) =>
    `document ${i} about ${i % 2 === 0 ? "cats" : "dogs"}` +
    (mark?.at === i ? ` ${mark.trigger}` : ""))

const embed = (request: EmbeddingRequest.EmbeddingRequest) =>
  Effect.flatMap(EmbeddingService, (service) => service.embed(request))

/** The first text of each recorded call: which part of the batch it carried. */
const firstTexts = (bodies: ReadonlyArray<unknown>, read: (body: unknown) => unknown) => bodies.map(read)

describe("Gemini API: batchEmbedContents", () => {
  it.effect("250 texts: three calls of at most 100, exact wire body, vectors in input order", () =>
    provide(
      apiLayer(),
      Effect.gen(function*() {
        const inputs = texts(250)
        const response = yield* embed({
          model: "gemini-embedding-001",
          inputs,
          taskType: "RETRIEVAL_DOCUMENT",
          title: "pets",
          dimensions: 8
        })
        expect(response.calls).toBe(3)
        expect(response.embeddings).toEqual(inputs.map((text) => vectorOf(text, 8)))
        expect(response.usage).toEqual({ inputTokens: undefined, billableCharacters: undefined })
        expect(models.gemini.emulator.requests.map((r) => [r.method, jsonArray(at(r.body, "requests")).length]))
          .toEqual([
            ["batchEmbedContents", 100],
            ["batchEmbedContents", 100],
            ["batchEmbedContents", 50]
          ])
        const first = models.gemini.emulator.requests[0]!
        expect(first.path).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents")
        expect(at(first.body, "requests", 0)).toEqual({
          model: "models/gemini-embedding-001",
          content: { parts: [{ text: "document 0 about cats" }] },
          taskType: "RETRIEVAL_DOCUMENT",
          title: "pets",
          outputDimensionality: 8
        })
        expect(first.headers["x-goog-user-project"]).toBe("quota-project")
        expect(first.headers["authorization"]).toMatch(/^Bearer /)
        expect(first.headers["x-goog-api-key"]).toBeUndefined()
        expect(first.principal).toBe(emulator.serviceAccount.email)
      })
    ))

  it.effect("a 429 on the second call is retried after RetryInfo's delay; the first and third are sent once", () =>
    provide(
      apiLayer(),
      Effect.gen(function*() {
        const inputs = texts(250, { at: 150, trigger: "[[once:429:3s]]" })
        const fiber = yield* Effect.fork(embed({ model: "gemini-embedding-001", inputs, dimensions: 4 }))
        yield* awaitRetrySleep(() => models.gemini.emulator.requests.length, 2, { exactly: 3_000 })
        yield* TestClock.adjust("2999 millis")
        expect(models.gemini.emulator.requests.length).toBe(2)
        yield* TestClock.adjust("1 millis")
        const response = yield* Fiber.join(fiber)
        expect(response.embeddings).toEqual(inputs.map((text) => vectorOf(text, 4)))
        expect(response.calls).toBe(3)
        // parts: [0, 100) once, [100, 200) twice (the 429, then the retry), [200, 250) once
        expect(
          firstTexts(
            models.gemini.emulator.requests.map((r) => r.body),
            (b) => at(b, "requests", 0, "content", "parts", 0, "text")
          )
        )
          .toEqual([
            "document 0 about cats",
            "document 100 about cats",
            "document 100 about cats",
            "document 200 about cats"
          ])
      })
    ))

  it.effect("autoTruncate is Unsupported before sending (the API has none); dimensions must be a positive integer", () =>
    provide(
      apiLayer(),
      Effect.gen(function*() {
        const error = yield* Effect.flip(embed({ model: "gemini-embedding-001", inputs: ["x"], autoTruncate: false }))
        expect(error).toMatchObject({
          _tag: "Unsupported",
          backend: "gemini-api",
          model: "gemini-embedding-001",
          feature: "embedding.autoTruncate"
        })
        expect(error.message).toContain("Nothing was sent")
        expect(error.message).toContain("docs/embeddings.md")
        const zero = yield* Effect.flip(embed({ model: "gemini-embedding-001", inputs: ["x"], dimensions: 0 }))
        expect(zero).toMatchObject({ _tag: "InvalidRequest", field: "dimensions" })
        expect(models.gemini.emulator.requests.length).toBe(0)
      })
    ))

  it.effect("no inputs: no call; an unknown model is NotFound naming the backend, model and URL", () =>
    provide(
      apiLayer(),
      Effect.gen(function*() {
        const empty = yield* embed({ model: "gemini-embedding-001", inputs: [] })
        expect(empty).toEqual({ embeddings: [], usage: { inputTokens: 0, billableCharacters: 0 }, calls: 0 })
        expect(models.gemini.emulator.requests.length).toBe(0)
        const error = yield* Effect.flip(embed({ model: "gemini-2.5-flash", inputs: ["x"] }))
        expect(error).toMatchObject({
          _tag: "NotFound",
          backend: "gemini-api",
          model: "gemini-2.5-flash",
          status: 404,
          url: `${models.gemini.url}/v1beta/models/gemini-2.5-flash:batchEmbedContents`
        })
      })
    ))
})

describe("Vertex AI: predict and embedContent", () => {
  it.effect("text-embedding-005: 300 texts in calls of 250 + 50, snake-case instances, usage summed", () =>
    provide(
      vertexLayer(),
      Effect.gen(function*() {
        const inputs = texts(300)
        const response = yield* embed({
          model: "text-embedding-005",
          inputs,
          taskType: "RETRIEVAL_QUERY",
          dimensions: 8,
          autoTruncate: false
        })
        expect(response.calls).toBe(2)
        expect(response.embeddings).toEqual(inputs.map((text) => vectorOf(text, 8)))
        const tokens = inputs.reduce((acc, text) => acc + Math.ceil(text.length / 4), 0)
        const characters = inputs.reduce((acc, text) => acc + text.replace(/\s/g, "").length, 0)
        expect(response.usage).toEqual({ inputTokens: tokens, billableCharacters: characters })
        expect(models.gemini.emulator.requests.map((r) => [r.method, jsonArray(at(r.body, "instances")).length]))
          .toEqual([
            ["predict", 250],
            ["predict", 50]
          ])
        expect(models.gemini.emulator.requests[0]!.path).toBe(
          "/v1/projects/emulator-project/locations/us-central1/publishers/google/models/text-embedding-005:predict"
        )
        expect(models.gemini.emulator.requests[1]!.body).toEqual({
          instances: inputs.slice(250).map((content) => ({ content, task_type: "RETRIEVAL_QUERY" })),
          parameters: { outputDimensionality: 8, autoTruncate: false }
        })
      })
    ))

  it.effect("long texts: a call stays under 20,000 estimated input tokens", () =>
    provide(
      vertexLayer(),
      Effect.gen(function*() {
        const inputs = Array.from({ length: 10 }, (_, i) => `${i} ${"word ".repeat(1_800)}`)
        const response = yield* embed({ model: "text-embedding-005", inputs, dimensions: 4 })
        expect(response.embeddings).toEqual(inputs.map((text) => vectorOf(text, 4)))
        expect(models.gemini.emulator.requests.map((r) => jsonArray(at(r.body, "instances")).length)).toEqual([6, 4])
      })
    ))

  it.effect("gemini-embedding-001 takes one instance per predict call; concurrent calls keep the order", () =>
    provide(
      vertexLayer(),
      Effect.gen(function*() {
        const response = yield* embed({ model: "gemini-embedding-001", inputs: ["a", "b", "c"], dimensions: 4 })
        expect(response.calls).toBe(3)
        expect(response.embeddings).toEqual(["a", "b", "c"].map((text) => vectorOf(text, 4)))
        expect(models.gemini.emulator.requests.map((r) => [r.method, at(r.body, "instances", 0, "content")])).toEqual([
          ["predict", "a"],
          ["predict", "b"],
          ["predict", "c"]
        ])
        // six calls, three at a time: they finish in any order, the vectors keep the input order
        const many = texts(6)
        const concurrent = yield* embed({ model: "gemini-embedding-001", inputs: many, dimensions: 4, concurrency: 3 })
        expect(concurrent.embeddings).toEqual(many.map((text) => vectorOf(text, 4)))
        expect(models.gemini.emulator.requests.length).toBe(9)
      })
    ))

  it.effect("other Gemini embedding models use embedContent, one text per call, settings in embedContentConfig", () =>
    provide(
      vertexLayer(),
      Effect.gen(function*() {
        const response = yield* embed({
          model: "gemini-embedding-2-preview",
          inputs: ["first text", "second text"],
          taskType: "SEMANTIC_SIMILARITY",
          dimensions: 16
        })
        expect(response.embeddings).toEqual(["first text", "second text"].map((text) => vectorOf(text, 16)))
        expect(response.usage.inputTokens).toBe(6)
        expect(models.gemini.emulator.requests.map((r) => r.method)).toEqual(["embedContent", "embedContent"])
        expect(models.gemini.emulator.requests[1]!.body).toEqual({
          content: { parts: [{ text: "second text" }] },
          embedContentConfig: { taskType: "SEMANTIC_SIMILARITY", outputDimensionality: 16 }
        })
      })
    ))

  it.effect("the emulator enforces predict's 250-instance limit with Google's 400 (wire client, no splitting)", () =>
    Effect.gen(function*() {
      models.gemini.emulator.reset()
      const client = yield* GeminiEmbeddingClient.make(
        GeminiVertex.clientOptions({
          project: "emulator-project",
          location: "us-central1",
          baseUrl: models.gemini.url,
          origins: [models.gemini.url]
        })
      )
      const error = yield* Effect.flip(
        client.predict("text-embedding-005", { instances: texts(251).map((content) => ({ content })) })
      )
      expect(error).toMatchObject({ _tag: "InvalidRequest", status: 400, backend: "gemini-vertex" })
      expect(error.detail).toContain("250 instance(s) is allowed per prediction. Actual: 251")
      const api = yield* GeminiEmbeddingClient.make(
        GeminiApi.clientOptions({ baseUrl: models.gemini.url, origins: [models.gemini.url] })
      )
      const tooMany = yield* Effect.flip(
        api.batchEmbedContents("gemini-embedding-001", {
          requests: texts(101).map((text) => ({ model: "models/gemini-embedding-001", content: { parts: [{ text }] } }))
        })
      )
      expect(tooMany.detail).toContain("at most 100 requests can be in one batch")
    }).pipe(Effect.provide(emulatorBase(emulator))))
})

describe("Ollama: /api/embed behind the Cloud Run front door", () => {
  it.effect("10 texts with maxBatchSize 4: calls of 4 + 4 + 2, exact wire body, usage summed", () =>
    provide(
      ollamaLayer(),
      Effect.gen(function*() {
        const inputs = texts(10)
        const response = yield* embed({ model: "embeddinggemma", inputs, dimensions: 8, autoTruncate: false })
        expect(response.embeddings).toEqual(inputs.map((text) => vectorOf(text, 8)))
        expect(response.usage.inputTokens).toBe(inputs.reduce((acc, text) => acc + Math.ceil(text.length / 4), 0))
        expect(ollama.requests.map((r) => jsonArray(at(r.body, "input")).length)).toEqual([4, 4, 2])
        expect(ollama.requests[2]!.body).toEqual({
          model: "embeddinggemma",
          input: inputs.slice(8),
          dimensions: 8,
          truncate: false
        })
        expect(emulator.controls.count("cloudrun:embed-ollama")).toBe(3)
      })
    ))

  it.effect("a 429 on the second call is retried with backoff; the first and third calls are sent once", () =>
    provide(
      ollamaLayer(),
      Effect.gen(function*() {
        const inputs = texts(10, { at: 5, trigger: "[[once:429]]" })
        const fiber = yield* Effect.fork(embed({ model: "embeddinggemma", inputs, dimensions: 4 }))
        yield* awaitRetrySleep(() => ollama.requests.length, 2, { within: 1_000 })
        expect(ollama.requests.length).toBe(2)
        yield* TestClock.adjust("1 second")
        const response = yield* Fiber.join(fiber)
        expect(response.embeddings).toEqual(inputs.map((text) => vectorOf(text, 4)))
        expect(ollama.requests.map((r) => at(r.body, "input", 0))).toEqual([
          "document 0 about cats",
          "document 4 about cats",
          "document 4 about cats",
          "document 8 about cats"
        ])
      })
    ))

  it.effect("taskType and title are Unsupported before sending; the server's own limit surfaces as InvalidRequest", () =>
    provide(
      ollamaLayer({ maxBatchSize: 10 }),
      Effect.gen(function*() {
        const task = yield* Effect.flip(embed({ model: "embeddinggemma", inputs: ["x"], taskType: "CLUSTERING" }))
        expect(task).toMatchObject({ _tag: "Unsupported", backend: "ollama", feature: "embedding.taskType" })
        const title = yield* Effect.flip(embed({ model: "embeddinggemma", inputs: ["x"], title: "t" }))
        expect(title).toMatchObject({ _tag: "Unsupported", feature: "embedding.title" })
        expect(ollama.requests.length).toBe(0)
        const limit = yield* Effect.flip(embed({ model: "embeddinggemma", inputs: texts(5) }))
        expect(limit).toMatchObject({ _tag: "InvalidRequest", status: 400, backend: "ollama" })
        expect(limit.detail).toContain("at most 4 per request")
        const chat = yield* Effect.flip(embed({ model: "gemma3:4b", inputs: ["x"] }))
        expect(chat.detail).toContain("does not support embeddings")
      })
    ))
})

describe("OpenAI-compatible: /v1/embeddings with the server's API key", () => {
  it.effect("7 texts with maxBatchSize 3: calls of 3 + 3 + 1, ID token in X-Serverless-Authorization", () =>
    provide(
      vllmLayer(),
      Effect.gen(function*() {
        const inputs = texts(7)
        const response = yield* embed({ model: "google/embeddinggemma-300m", inputs, dimensions: 8 })
        expect(response.embeddings).toEqual(inputs.map((text) => vectorOf(text, 8)))
        expect(response.calls).toBe(3)
        expect(vllm.requests.map((r) => r.body)).toEqual([
          { model: "google/embeddinggemma-300m", input: inputs.slice(0, 3), dimensions: 8, encoding_format: "float" },
          { model: "google/embeddinggemma-300m", input: inputs.slice(3, 6), dimensions: 8, encoding_format: "float" },
          { model: "google/embeddinggemma-300m", input: inputs.slice(6), dimensions: 8, encoding_format: "float" }
        ])
        expect(vllm.requests[0]!.headers["authorization"]).toBe("Bearer app-key")
        const principal = emulator.controls.log.find((l) => l.endpoint === "cloudrun:embed-vllm")?.principal
        expect(principal).toBe(emulator.serviceAccount.email)
      })
    ))

  it.effect("a 429 with Retry-After on the third call waits exactly that long and re-sends only that call", () =>
    provide(
      vllmLayer(),
      Effect.gen(function*() {
        const inputs = texts(7, { at: 6, trigger: "[[once:429:4s]]" })
        const fiber = yield* Effect.fork(embed({ model: "google/embeddinggemma-300m", inputs, dimensions: 4 }))
        yield* awaitRetrySleep(() => vllm.requests.length, 3, { exactly: 4_000 })
        yield* TestClock.adjust("4 seconds")
        const response = yield* Fiber.join(fiber)
        expect(response.embeddings).toEqual(inputs.map((text) => vectorOf(text, 4)))
        expect(vllm.requests.map((r) => jsonArray(at(r.body, "input")).length)).toEqual([3, 3, 1, 1])
      })
    ))

  it.effect("taskType, title and autoTruncate are Unsupported before sending", () =>
    provide(
      vllmLayer(),
      Effect.gen(function*() {
        for (
          const extra of [{ taskType: "CLASSIFICATION" as const }, { title: "t" }, { autoTruncate: true }]
        ) {
          const error = yield* Effect.flip(embed({ model: "google/embeddinggemma-300m", inputs: ["x"], ...extra }))
          expect(error).toMatchObject({
            _tag: "Unsupported",
            backend: "openai-compatible",
            feature: `embedding.${Object.keys(extra)[0]}`
          })
          expect(error.message).toContain("Nothing was sent")
        }
        expect(vllm.requests.length).toBe(0)
      })
    ))
})
