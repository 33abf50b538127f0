/**
 * EmbeddingService from the environment (EmbeddingConfig), its Promise facade
 * (EmbeddingClient) and the @effect/ai adapter (EffectAi.layerEmbedding), against the
 * Ollama emulator behind the Cloud Run front door.
 */
import * as AiError from "@effect/ai/AiError"
import * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as EffectAi from "../../src/integrations/effectAi.js"
import * as EmbeddingClient from "../../src/model/embedding/EmbeddingClient.js"
import * as EmbeddingConfig from "../../src/model/embedding/EmbeddingConfig.js"
import { EmbeddingService } from "../../src/model/embedding/EmbeddingService.js"
import * as OllamaEmbeddings from "../../src/model/embedding/OllamaEmbeddings.js"
import * as ModelConfigError from "../../src/model/ModelConfigError.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import { vectorOf } from "../../src/testing/models/internal/embeddings.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import { useEmulator } from "../support/emulator.js"
import { at, jsonArray } from "../support/json.js"
import { emulatorBase } from "./support.js"

const emulator = useEmulator({ env: true })
const ollama = OllamaEmulator.make()
let service: Emulator.CloudRunService

beforeAll(async () => {
  service = await emulator.cloudRun.deploy({ name: "embed-config-ollama", handler: ollama.handler })
  return () => service.close()
})

const fromEnv = (env: Record<string, string>) =>
  EmbeddingConfig.layerConfig.pipe(
    Layer.provide(emulatorBase(emulator)),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson(env)))
  )

const embedWith = (env: Record<string, string>, inputs: ReadonlyArray<string>) =>
  Effect.flatMap(EmbeddingService, (s) => s.embed({ model: "embeddinggemma", inputs, dimensions: 4 })).pipe(
    Effect.provide(fromEnv(env))
  )

const configError = (env: Record<string, string>) =>
  Effect.flatMap(Effect.flip(embedWith(env, ["x"])), (error) =>
    Effect.sync(() => {
      expect(ModelConfigError.isModelConfigError(error)).toBe(true)
      return error as ModelConfigError.ModelConfigError
    }))

describe("EmbeddingConfig.layerConfig", () => {
  it.effect("EFFECT_ADC_EMBED_BACKEND, _URL and _BATCH_SIZE: the embedding service and its split", () =>
    Effect.gen(function*() {
      ollama.reset()
      const inputs = ["one", "two", "three", "four", "five"]
      const response = yield* embedWith({
        EFFECT_ADC_MODEL_BACKEND: "gemini-vertex",
        EFFECT_ADC_EMBED_BACKEND: "ollama",
        EFFECT_ADC_EMBED_URL: service.url,
        EFFECT_ADC_EMBED_BATCH_SIZE: "2"
      }, inputs)
      expect(response.embeddings).toEqual(inputs.map((text) => vectorOf(text, 4)))
      expect(ollama.requests.map((r) => jsonArray(at(r.body, "input")).length)).toEqual([2, 2, 1])
    }))

  it.effect("the model's backend and URL are shared when no EFFECT_ADC_EMBED_BACKEND is set", () =>
    Effect.gen(function*() {
      ollama.reset()
      const response = yield* embedWith({ EFFECT_ADC_MODEL_BACKEND: "ollama", EFFECT_ADC_MODEL_URL: service.url }, [
        "shared"
      ])
      expect(response.calls).toBe(1)
      expect(ollama.requests.length).toBe(1)
    }))

  it.effect("missing and invalid variables are ModelConfigErrors naming the variable to set", () =>
    Effect.gen(function*() {
      const noUrl = yield* configError({ EFFECT_ADC_EMBED_BACKEND: "ollama" })
      expect(noUrl).toMatchObject({ variable: "EFFECT_ADC_EMBED_URL", reason: "Missing" })
      expect(noUrl.message).toContain("embeddings on ollama (chosen by EFFECT_ADC_EMBED_BACKEND)")
      // the model's URL names the model's service: it is not borrowed by another embedding backend
      const notShared = yield* configError({
        EFFECT_ADC_MODEL_BACKEND: "ollama",
        EFFECT_ADC_MODEL_URL: service.url,
        EFFECT_ADC_EMBED_BACKEND: "openai-compatible"
      })
      expect(notShared.variable).toBe("EFFECT_ADC_EMBED_URL")
      const noProject = yield* configError({})
      expect(noProject).toMatchObject({ variable: "GOOGLE_CLOUD_PROJECT", reason: "Missing" })
      expect(noProject.message).toContain("the default backend")
      const badSize = yield* configError({ EFFECT_ADC_EMBED_BATCH_SIZE: "0" })
      expect(badSize).toMatchObject({ variable: "EFFECT_ADC_EMBED_BATCH_SIZE", reason: "Invalid" })
      const badBackend = yield* configError({ EFFECT_ADC_EMBED_BACKEND: "llamacpp" })
      expect(badBackend.variable).toBe("EFFECT_ADC_EMBED_BACKEND")
      // Vertex's OpenAI-compatible chat endpoint serves no embeddings: its project's Vertex AI does
      const vertexOpenAi = yield* configError({ EFFECT_ADC_MODEL_BACKEND: "vertex-openai" })
      expect(vertexOpenAi.variable).toBe("GOOGLE_CLOUD_PROJECT")
      expect(vertexOpenAi.message).toContain("embeddings on gemini-vertex (chosen by EFFECT_ADC_MODEL_BACKEND)")
      const asVertex = yield* configError({ EFFECT_ADC_EMBED_BACKEND: "vertex-openai" })
      expect(asVertex).toMatchObject({ variable: "GOOGLE_CLOUD_PROJECT", reason: "Missing" })
      expect(asVertex.message).toContain("embeddings on gemini-vertex (chosen by EFFECT_ADC_EMBED_BACKEND)")
    }))
})

const ollamaLayer = () =>
  OllamaEmbeddings.layer({ url: service.url, maxBatchSize: 2 }).pipe(Layer.provide(emulatorBase(emulator)))

describe("EmbeddingClient (Promise facade)", () => {
  it("embed resolves with the vectors in order; an aborted call rejects with CallAborted; dispose closes", async () => {
    ollama.reset()
    const client = EmbeddingClient.make(ollamaLayer())
    try {
      const response = await client.embed({ model: "embeddinggemma", inputs: ["a b", "c", "d e f"], dimensions: 4 })
      expect(response.embeddings).toEqual(["a b", "c", "d e f"].map((text) => vectorOf(text, 4)))
      expect(response.calls).toBe(2)
      const aborted = new AbortController()
      aborted.abort()
      await expect(client.embed({ model: "embeddinggemma", inputs: ["x"] }, { signal: aborted.signal })).rejects
        .toMatchObject({ _tag: "CallAborted" })
      await expect(client.embed({ model: "no-such-embed", inputs: ["x"] })).rejects.toMatchObject({
        _tag: "NotFound",
        backend: "ollama"
      })
    } finally {
      await client.dispose()
    }
    await expect(client.embed({ model: "embeddinggemma", inputs: ["x"] })).rejects.toMatchObject({
      _tag: "ClientClosed"
    })
  })
})

describe("EffectAi.layerEmbedding (@effect/ai EmbeddingModel)", () => {
  it.effect("embedMany batches into EmbeddingService calls and keeps the order; embed gives one vector", () =>
    Effect.gen(function*() {
      ollama.reset()
      const model = yield* EmbeddingModel.EmbeddingModel
      const inputs = ["alpha", "beta", "gamma"]
      const vectors = yield* model.embedMany(inputs)
      expect(vectors).toEqual(inputs.map((text) => vectorOf(text, 4)))
      // one @effect/ai batch, split by EmbeddingService at maxBatchSize 2
      expect(ollama.requests.map((r) => jsonArray(at(r.body, "input")).length)).toEqual([2, 1])
      const one = yield* model.embed("delta")
      expect(one).toEqual(vectorOf("delta", 4))
    }).pipe(
      Effect.provide(
        EffectAi.layerEmbedding({ model: "embeddinggemma", dimensions: 4 }).pipe(Layer.provide(ollamaLayer()))
      )
    ))

  it.effect("a ModelError becomes an AiError whose cause is the ModelError", () =>
    Effect.gen(function*() {
      ollama.reset()
      const model = yield* EmbeddingModel.EmbeddingModel
      const error = yield* Effect.flip(model.embed("x"))
      expect(AiError.isAiError(error)).toBe(true)
      expect(error._tag).toBe("UnknownError")
      expect(error.cause).toMatchObject({ _tag: "NotFound", backend: "ollama", model: "missing-embed" })
    }).pipe(
      Effect.provide(EffectAi.layerEmbedding({ model: "missing-embed" }).pipe(Layer.provide(ollamaLayer())))
    ))
})
