import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as AuthService from "../../src/auth/AuthService.js"
import * as ModelConfig from "../../src/model/ModelConfig.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import * as OpenAICompatibleEmulator from "../../src/testing/models/OpenAICompatibleEmulator.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })
const ollama = OllamaEmulator.make()
const vllm = OpenAICompatibleEmulator.make({ apiKey: "app-key" })
let ollamaService: Emulator.CloudRunService
let vllmService: Emulator.CloudRunService

beforeAll(async () => {
  ollamaService = await emulator.cloudRun.deploy({ name: "cfg-ollama", handler: ollama.handler })
  vllmService = await emulator.cloudRun.deploy({ name: "cfg-vllm", handler: vllm.handler })
})

const withEnv = (env: Record<string, string>) =>
  <A, E>(effect: Effect.Effect<A, E, ModelService>) =>
    effect.pipe(
      Effect.provide(
        ModelConfig.layerConfig.pipe(
          Layer.provide(Layer.mergeAll(
            AuthService.layer({ projectId: "emulator-project", clientOptions: emulator.clientOptions }),
            FetchHttpClient.layer
          ).pipe(Layer.orDie)),
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson(env)))
        )
      )
    )

const hello = Effect.flatMap(ModelService, (model) =>
  Effect.map(model.generate({ model: "gemma3:4b", contents: [ModelRequest.user("hi")] }), (r) => [model.backend, r.text]))

describe("ModelConfig.layerConfig", () => {
  it.effect("EFFECT_ADC_MODEL_BACKEND=ollama with the Cloud Run URL", () =>
    hello.pipe(
      withEnv({ EFFECT_ADC_MODEL_BACKEND: "ollama", EFFECT_ADC_MODEL_URL: ollamaService.url }),
      Effect.map((result) => expect(result).toEqual(["ollama", "Echo: hi"]))
    ))

  it.effect("swapping to openai-compatible is configuration only (API key + X-Serverless-Authorization)", () =>
    Effect.flatMap(ModelService, (model) =>
      model.generate({ model: "google/gemma-3-4b-it", contents: [ModelRequest.user("hi")] })).pipe(
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

  it.effect("a missing URL or project is a ConfigError naming the variable", () =>
    Effect.gen(function*() {
      const noUrl = yield* Effect.exit(hello.pipe(withEnv({ EFFECT_ADC_MODEL_BACKEND: "ollama" })))
      expect(Exit.isFailure(noUrl) && String(noUrl.cause)).toContain("EFFECT_ADC_MODEL_URL must be set")
      const noProject = yield* Effect.exit(hello.pipe(withEnv({})))
      expect(Exit.isFailure(noProject) && String(noProject.cause)).toContain("GOOGLE_CLOUD_PROJECT must be set")
      const badUrl = yield* Effect.exit(hello.pipe(withEnv({ EFFECT_ADC_MODEL_BACKEND: "ollama", EFFECT_ADC_MODEL_URL: "ftp://x" })))
      expect(Exit.isFailure(badUrl)).toBe(true)
    }))
})
