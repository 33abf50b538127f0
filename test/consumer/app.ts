// Type-checked under `nodenext` and `bundler`: every public entry point resolves with its types.
import { FetchHttpClient } from "@effect/platform"
import { Effect, Layer } from "effect"
import { AuthClient, AuthService, SigningFetch } from "effect-adc"
import type * as A2A from "effect-adc/a2a"
import type * as Adk from "effect-adc/adk"
import type * as Ai from "effect-adc/ai"
import type * as GenAI from "effect-adc/genai"
import type { AuthHttpClient } from "effect-adc/http"
import type * as LimitsRedis from "effect-adc/limits/redis"
import type * as Mcp from "effect-adc/mcp"
import { ModelRequest, ModelService } from "effect-adc/model"
import type * as Ollama from "effect-adc/ollama"
import type * as OpenAI from "effect-adc/openai"
import type { SigningProxy } from "effect-adc/proxy"
import { Emulator, Loopback, ModelEmulators } from "effect-adc/testing"
import { OllamaEmulator } from "effect-adc/testing/models"
import type { UndiciHttpClient } from "effect-adc/undici"

export type Modules = [
  typeof GenAI,
  typeof Mcp,
  typeof OpenAI,
  typeof Ollama,
  typeof A2A,
  typeof Ai,
  typeof Adk,
  typeof LimitsRedis
]
export type Proxy = typeof SigningProxy
export type Middleware = typeof AuthHttpClient
export type NodeClient = typeof UndiciHttpClient

export const program: Effect.Effect<string, unknown, ModelService.ModelService> = Effect.gen(function*() {
  const model = yield* ModelService.ModelService
  const answer = yield* model.generate({ model: "gemma3:4b", contents: [ModelRequest.user("hello")] })
  return answer.text
})

export const auth: Layer.Layer<AuthService.AuthService, unknown> = AuthService.layer({ projectId: "p" })
export const http = FetchHttpClient.layer
export const client: AuthClient.AuthClient = AuthClient.make({})
export const signing = SigningFetch
export const served: Promise<ModelEmulators.ModelEmulatorsHandle> = Emulator.start().then((e) =>
  ModelEmulators.serve(e)
)
export const loopback: Promise<Loopback.LoopbackServer> = Loopback.serve(OllamaEmulator.make().handler)
