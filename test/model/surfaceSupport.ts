/**
 * What the request-surface suites share: the three model emulators served as in
 * production (Gemini checking access tokens with tokeninfo; Ollama and two vLLM
 * servers — one answering reasoning in `reasoning_content`, one in `reasoning` —
 * behind the Cloud Run front door), a layer per backend, and `run`, which resets every
 * emulator's log and provides a fresh AuthService so each test sees only its own
 * requests.
 */
import { beforeAll } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as GeminiApi from "../../src/model/gemini/GeminiApi.js"
import * as GeminiVertex from "../../src/model/gemini/GeminiVertex.js"
import type * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import * as OpenAICompatible from "../../src/model/openai/OpenAICompatible.js"
import type * as GeminiEmulator from "../../src/testing/models/GeminiEmulator.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import * as OpenAICompatibleEmulator from "../../src/testing/models/OpenAICompatibleEmulator.js"
import { useEmulator } from "../support/emulator.js"
import { type BackendLayer, emulatorBase, useModelEmulators } from "./support.js"

/** The emulators and the backend layers over them, for one test file. */
export const useSurface = () => {
  const emulator = useEmulator({ env: true })
  const ollama = OllamaEmulator.make()
  const vllm = OpenAICompatibleEmulator.make()
  const vllmReasoning = OpenAICompatibleEmulator.make({ reasoningField: "reasoning" })
  const models = useModelEmulators(emulator, {
    names: { ollama: "surface-models-ollama", openAICompatible: "surface-models-vllm" }
  })
  const urls = { ollama: "", vllm: "", vllmReasoning: "" }

  beforeAll(async () => {
    urls.ollama = (await emulator.cloudRun.deploy({ name: "surface-ollama", handler: ollama.handler })).url
    urls.vllm = (await emulator.cloudRun.deploy({ name: "surface-vllm", handler: vllm.handler })).url
    urls.vllmReasoning =
      (await emulator.cloudRun.deploy({ name: "surface-vllm-reasoning", handler: vllmReasoning.handler })).url
  })

  const layers = {
    "gemini-api": (): BackendLayer =>
      GeminiApi.layer({ baseUrl: models.gemini.url, origins: [models.gemini.url], quotaProject: "quota-project" }),
    "gemini-vertex": (): BackendLayer =>
      GeminiVertex.layer({
        project: "emulator-project",
        location: "global",
        baseUrl: models.gemini.url,
        origins: [models.gemini.url]
      }),
    "ollama": (): BackendLayer => Ollama.layer({ url: urls.ollama }),
    "openai-compatible": (): BackendLayer => OpenAICompatible.layer({ url: urls.vllm }),
    "openai-compatible-reasoning": (): BackendLayer => OpenAICompatible.layer({ url: urls.vllmReasoning })
  }

  const handle = {
    emulator,
    ollama,
    vllm,
    vllmReasoning,
    get gemini(): GeminiEmulator.GeminiEmulator {
      return models.gemini.emulator
    },
    layers,
    /** Every request any model emulator received since the test started. */
    requestCount: (): number =>
      handle.gemini.requests.length + ollama.requests.length + vllm.requests.length + vllmReasoning.requests.length,
    /** Run with a backend layer, after resetting every emulator's log. */
    run: <A, E>(backend: BackendLayer, effect: Effect.Effect<A, E, ModelService>) => {
      ollama.reset()
      vllm.reset()
      vllmReasoning.reset()
      handle.gemini.reset()
      return effect.pipe(Effect.provide(backend.pipe(Layer.provide(emulatorBase(emulator)))))
    }
  }
  return handle
}

/** `generate` through the ModelService in context. */
export const generate = <A>(request: ModelRequest.ModelRequest<A>) =>
  Effect.flatMap(ModelService, (model) => model.generate(request))

/** `stream` through the ModelService in context, collected. */
export const collect = <A>(request: ModelRequest.ModelRequest<A>) =>
  Effect.flatMap(ModelService, (model) => Stream.runCollect(model.stream(request))).pipe(Effect.map(Chunk.toArray))
