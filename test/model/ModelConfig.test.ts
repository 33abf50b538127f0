import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as GeminiApi from "../../src/model/gemini/GeminiApi.js"
import * as GeminiVertex from "../../src/model/gemini/GeminiVertex.js"
import * as ModelConfig from "../../src/model/ModelConfig.js"
import * as ModelConfigError from "../../src/model/ModelConfigError.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import * as OllamaClient from "../../src/model/ollama/OllamaClient.js"
import * as OpenAICompatible from "../../src/model/openai/OpenAICompatible.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import * as OpenAICompatibleEmulator from "../../src/testing/models/OpenAICompatibleEmulator.js"
import { useEmulator } from "../support/emulator.js"
import { emulatorBase, tick } from "./support.js"

const emulator = useEmulator({ env: true })
const ollama = OllamaEmulator.make()
const vllm = OpenAICompatibleEmulator.make({ apiKey: "app-key" })
let ollamaService: Emulator.CloudRunService
let vllmService: Emulator.CloudRunService

beforeAll(async () => {
  ollamaService = await emulator.cloudRun.deploy({ name: "cfg-ollama", handler: ollama.handler })
  vllmService = await emulator.cloudRun.deploy({ name: "cfg-vllm", handler: vllm.handler })
})

const withEnv =
  (env: Record<string, string>) =>
  <A, E>(effect: Effect.Effect<A, E, ModelService>): Effect.Effect<A, E | ModelConfigError.ModelConfigError> =>
    effect.pipe(
      Effect.provide(
        ModelConfig.layerConfig.pipe(
          Layer.provide(emulatorBase(emulator)),
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson(env)))
        )
      )
    )

/** Which backend answered, read from the shape of its raw body. */
const backendOf = (raw: unknown) => {
  const body = raw as Record<string, unknown>
  return "message" in body ? "ollama" : "choices" in body ? "openai-compatible" : "gemini"
}

const hello = Effect.flatMap(
  ModelService,
  (model) =>
    Effect.map(
      model.generate({ model: "gemma3:4b", contents: [ModelRequest.user("hi")] }),
      (r) => [backendOf(r.raw), r.text]
    )
)

const configError = (env: Record<string, string>) =>
  Effect.flatMap(Effect.flip(hello.pipe(withEnv(env))), (error) =>
    Effect.sync(() => {
      expect(ModelConfigError.isModelConfigError(error)).toBe(true)
      return error as ModelConfigError.ModelConfigError
    }))

describe("ModelConfig.layerConfig", () => {
  it.effect("EFFECT_ADC_MODEL_BACKEND=ollama with the Cloud Run URL", () =>
    hello.pipe(
      withEnv({ EFFECT_ADC_MODEL_BACKEND: "ollama", EFFECT_ADC_MODEL_URL: ollamaService.url }),
      Effect.map((result) => expect(result).toEqual(["ollama", "Echo: hi"]))
    ))

  it.effect("swapping to openai-compatible is configuration only (API key + X-Serverless-Authorization)", () =>
    Effect.flatMap(
      ModelService,
      (model) => model.generate({ model: "google/gemma-3-4b-it", contents: [ModelRequest.user("hi")] })
    ).pipe(
      withEnv({
        EFFECT_ADC_MODEL_BACKEND: "openai-compatible",
        EFFECT_ADC_MODEL_URL: vllmService.url,
        EFFECT_ADC_MODEL_API_KEY: "app-key",
        EFFECT_ADC_MODEL_TIMEOUT: "30 seconds"
      }),
      Effect.map((response) => {
        expect(response.text).toBe("Echo: hi")
        expect(vllm.requests.at(-1)?.headers["authorization"]).toBe("Bearer app-key")
      })
    ))

  it.effect("a missing URL or project is a ModelConfigError naming the variable and what to set", () =>
    Effect.gen(function*() {
      const noUrl = yield* configError({ EFFECT_ADC_MODEL_BACKEND: "ollama" })
      expect(noUrl.reason).toBe("Missing")
      expect(noUrl.variable).toBe("EFFECT_ADC_OLLAMA_URL or EFFECT_ADC_MODEL_URL")
      expect(noUrl.message).toContain("required when EFFECT_ADC_MODEL_BACKEND=ollama")
      const noProject = yield* configError({})
      expect(noProject.variable).toBe("GOOGLE_CLOUD_PROJECT")
      expect(noProject.message).toContain("Set it to the Google Cloud project")
    }))

  it.effect("invalid values are ModelConfigErrors, not raw ConfigErrors, and never echo the API key", () =>
    Effect.gen(function*() {
      const badUrl = yield* configError({ EFFECT_ADC_MODEL_BACKEND: "ollama", EFFECT_ADC_MODEL_URL: "ftp://x" })
      expect([badUrl.variable, badUrl.reason]).toEqual(["EFFECT_ADC_MODEL_URL", "Invalid"])
      expect(badUrl.message).toContain("not an http(s) URL")
      const badBackend = yield* configError({ EFFECT_ADC_MODEL_BACKEND: "claude" })
      expect(badBackend.variable).toBe("EFFECT_ADC_MODEL_BACKEND")
      expect(badBackend.message).toContain(
        "Set it to gemini-vertex, gemini-api, ollama, openai-compatible or vertex-openai"
      )
      const badTimeout = yield* configError({
        EFFECT_ADC_MODEL_BACKEND: "openai-compatible",
        EFFECT_ADC_MODEL_URL: vllmService.url,
        EFFECT_ADC_MODEL_API_KEY: "secret-app-key",
        EFFECT_ADC_MODEL_TIMEOUT: "soon"
      })
      expect(badTimeout.variable).toBe("EFFECT_ADC_MODEL_TIMEOUT")
      expect(badTimeout.message).toContain("a duration such as")
      expect(JSON.stringify(badTimeout) + badTimeout.message).not.toContain("secret-app-key")
      const badHeader = yield* configError({ EFFECT_ADC_MODEL_TOKEN_HEADER: "X-Token" })
      expect(badHeader.variable).toBe("EFFECT_ADC_MODEL_TOKEN_HEADER")
    }))
})

describe("EFFECT_ADC_MODEL_ROUTES", () => {
  const env = () => ({
    EFFECT_ADC_MODEL_ROUTES: "gemma3*=ollama, google/*=openai-compatible",
    EFFECT_ADC_OLLAMA_URL: ollamaService.url,
    EFFECT_ADC_OPENAI_COMPATIBLE_URL: vllmService.url,
    EFFECT_ADC_MODEL_API_KEY: "app-key"
  })

  it.effect("the whole multi-backend stack from the environment: routes by model name, per-backend URLs", () =>
    Effect.gen(function*() {
      ollama.reset()
      vllm.reset()
      const model = yield* ModelService
      const a = yield* model.generate({ model: "gemma3:4b", contents: [ModelRequest.user("to ollama")] })
      const b = yield* model.generate({ model: "google/gemma-3-4b-it", contents: [ModelRequest.user("to vllm")] })
      expect([a.text, b.text]).toEqual(["Echo: to ollama", "Echo: to vllm"])
      expect([ollama.requests.length, vllm.requests.length]).toEqual([1, 1])
      const unrouted = yield* Effect.flip(
        model.generate({ model: "gemini-2.5-flash", contents: [ModelRequest.user("x")] })
      )
      expect(unrouted._tag).toBe("NoRoute")
    }).pipe(withEnv(env())))

  it.effect("EFFECT_ADC_MODEL_FALLBACK: a retryable failure goes to the fallback backend and model", () =>
    Effect.gen(function*() {
      ollama.reset()
      vllm.reset()
      // every attempt of vLLM fails (the first and the default policy's 3 retries)
      vllm.fail({ status: 500 }, 4)
      const model = yield* ModelService
      const fiber = yield* Effect.fork(
        model.generate({ model: "google/gemma-3-4b-it", contents: [ModelRequest.user("hi")] })
      )
      // let the retries' backoff pass (real loopback I/O between TestClock steps)
      for (let i = 0; i < 2_000 && ollama.requests.length === 0; i++) {
        yield* tick
        yield* TestClock.adjust("100 millis")
      }
      const response = yield* Fiber.join(fiber)
      expect(response.text).toBe("Echo: hi")
      expect(vllm.requests.length).toBe(4)
      expect((ollama.requests.at(-1)?.body as { model: string }).model).toBe("gemma3:4b")
    }).pipe(withEnv({
      ...env(),
      EFFECT_ADC_MODEL_FALLBACK: "ollama",
      EFFECT_ADC_MODEL_FALLBACK_MODEL: "gemma3:4b"
    })))

  it.effect("malformed routes, an unknown backend and a route's missing URL are ModelConfigErrors", () =>
    Effect.gen(function*() {
      const noPair = yield* configError({ EFFECT_ADC_MODEL_ROUTES: "gemma*" })
      expect(noPair.variable).toBe("EFFECT_ADC_MODEL_ROUTES")
      expect(noPair.message).toContain("\"gemma*\" is not pattern=backend")
      expect(noPair.message).toContain("gemini-*=gemini-vertex,gemma*=ollama")
      const unknown = yield* configError({ EFFECT_ADC_MODEL_ROUTES: "gemma*=llamacpp" })
      expect(unknown.message).toContain("unknown backend \"llamacpp\"")
      const noUrl = yield* configError({ EFFECT_ADC_MODEL_ROUTES: "gemma*=ollama" })
      expect(noUrl.variable).toBe("EFFECT_ADC_OLLAMA_URL or EFFECT_ADC_MODEL_URL")
      expect(noUrl.message).toContain("routes gemma* to ollama")
      const badFallback = yield* configError({ ...env(), EFFECT_ADC_MODEL_FALLBACK: "ollam" })
      expect(badFallback.variable).toBe("EFFECT_ADC_MODEL_FALLBACK")
    }))
})

describe("per-backend layerConfig", () => {
  const provideWith = (env: Record<string, string>) => <E, R>(layer: Layer.Layer<ModelService, E, R>) =>
    layer.pipe(
      Layer.provide(emulatorBase(emulator)),
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson(env)))
    )

  it.effect("Ollama.layerConfig and OpenAICompatible.layerConfig read their options through Config", () =>
    Effect.gen(function*() {
      const env = { OLLAMA_URL: ollamaService.url, VLLM_URL: vllmService.url, VLLM_KEY: "app-key" }
      const a = yield* Effect.flatMap(
        ModelService,
        (m) => m.generate({ model: "gemma3:4b", contents: [ModelRequest.user("a")] })
      ).pipe(
        Effect.provide(provideWith(env)(Ollama.layerConfig({ url: Config.string("OLLAMA_URL") })))
      )
      const b = yield* Effect.flatMap(
        ModelService,
        (m) => m.generate({ model: "google/gemma-3-4b-it", contents: [ModelRequest.user("b")] })
      ).pipe(
        Effect.provide(
          provideWith(env)(OpenAICompatible.layerConfig({
            url: Config.string("VLLM_URL"),
            apiKey: Config.redacted("VLLM_KEY")
          }))
        )
      )
      expect([a.text, b.text]).toEqual(["Echo: a", "Echo: b"])
    }))

  it.effect("a missing option of GeminiVertex/GeminiApi.layerConfig is a ModelConfigError naming it", () =>
    Effect.gen(function*() {
      const vertex = yield* Effect.flip(
        Effect.flatMap(ModelService, (m) => Effect.succeed(m)).pipe(
          Effect.provide(
            provideWith({})(GeminiVertex.layerConfig({
              project: Config.string("MY_PROJECT"),
              location: Config.withDefault(Config.string("MY_LOCATION"), "global")
            }))
          )
        )
      )
      expect(ModelConfigError.isModelConfigError(vertex)).toBe(true)
      expect(vertex.message).toMatch(/^MY_PROJECT is not set/)
      const api = yield* Effect.flip(
        Effect.flatMap(ModelService, (m) => Effect.succeed(m)).pipe(
          Effect.provide(
            provideWith({ BASE: "not a url" })(GeminiApi.layerConfig({
              baseUrl: Config.url("BASE").pipe(Config.map(String))
            }))
          )
        )
      )
      expect([api.variable, api.reason]).toEqual(["BASE", "Invalid"])
    }))

  it.effect("a backend's layerModel needs only its client tag (the client layer supplies the wire)", () =>
    Effect.gen(function*() {
      const response = yield* Effect.flatMap(
        ModelService,
        (m) => m.generate({ model: "gemma3:4b", contents: [ModelRequest.user("via client")] })
      ).pipe(
        Effect.provide(
          provideWith({})(Ollama.layerModel.pipe(Layer.provide(OllamaClient.layer({ url: ollamaService.url }))))
        )
      )
      expect(response.text).toBe("Echo: via client")
      // the client alone speaks the wire: its body is Ollama's JSON
      const raw = yield* Effect.flatMap(
        OllamaClient.OllamaClient,
        (client) => client.chat({ model: "gemma3:4b", messages: [{ role: "user", content: "raw" }], stream: false })
      ).pipe(
        Effect.provide(
          OllamaClient.layer({ url: ollamaService.url }).pipe(
            Layer.provide(emulatorBase(emulator))
          )
        )
      )
      expect(raw.message?.content).toBe("Echo: raw")
    }))
})
