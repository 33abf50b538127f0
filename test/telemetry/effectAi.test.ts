/**
 * The @effect/ai adapter's telemetry: @effect/ai's own `LanguageModel.generateText` /
 * `streamText` span names the real provider (not the adapter's `effect-adc` key) with
 * the request's model and settings and the response's id, model and finish reason, and
 * our CLIENT span beneath it carries the usage (counted once per trace). Against the
 * Gemini emulator (Vertex AI) and Ollama behind the Cloud Run front door.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import { describe, expect, it } from "@effect/vitest"
import { SpanKind } from "@opentelemetry/api"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as EffectAi from "../../src/integrations/effectAi.js"
import * as GeminiVertex from "../../src/model/gemini/GeminiVertex.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import { type BackendLayer, emulatorBase, useModelEmulators } from "../model/support.js"
import { useEmulator } from "../support/emulator.js"
import { childrenOf, onlySpan, telemetry } from "./support.js"

const emulator = useEmulator({ env: true })
const models = useModelEmulators(emulator)

const backends: ReadonlyArray<{
  readonly name: string
  readonly provider: string
  readonly operation: string
  readonly model: string
  readonly layer: () => BackendLayer
}> = [
  {
    name: "Gemini on Vertex AI",
    provider: "gcp.vertex_ai",
    operation: "generate_content",
    model: "gemini-2.5-flash",
    layer: () =>
      GeminiVertex.layer({
        project: "emulator-project",
        location: "global",
        baseUrl: models.gemini.url,
        origins: [models.gemini.url]
      })
  },
  {
    name: "Gemma on Ollama",
    provider: "ollama",
    operation: "chat",
    model: "gemma3:4b",
    layer: () => Ollama.layer({ url: models.ollama.url })
  }
]

const run = <A, E>(
  backend: (typeof backends)[number],
  program: Effect.Effect<A, E, LanguageModel.LanguageModel>
) =>
  Effect.gen(function*() {
    const sdk = telemetry()
    const layer = EffectAi.layer({ model: backend.model, generation: { temperature: 0.5 } }).pipe(
      Layer.provide(backend.layer()),
      Layer.provide(emulatorBase(emulator))
    )
    const exit = yield* Effect.exit(program.pipe(Effect.provide(layer), Effect.provide(sdk.layer)))
    return { exit, exporter: sdk.exporter }
  })

describe.each(backends)("$name", (backend) => {
  it.effect("generateText: LanguageModel.generateText names the real provider; usage only on the CLIENT span", () =>
    Effect.gen(function*() {
      const { exit, exporter } = yield* run(backend, LanguageModel.generateText({ prompt: "hello there" }))
      const response = yield* exit
      const outer = onlySpan(exporter, "LanguageModel.generateText")
      const client = onlySpan(exporter, `${backend.operation} ${backend.model}`)
      expect(client.kind).toBe(SpanKind.CLIENT)
      expect(childrenOf(exporter, outer)).toContain(client)
      expect(outer.attributes["gen_ai.provider.name"]).toBe(backend.provider)
      expect(outer.attributes["gen_ai.provider.name"]).not.toBe(EffectAi.providerName)
      expect(outer.attributes["gen_ai.system"]).toBeUndefined()
      expect(outer.attributes["gen_ai.operation.name"]).toBe(backend.operation)
      expect(outer.attributes["gen_ai.request.model"]).toBe(backend.model)
      expect(outer.attributes["gen_ai.request.temperature"]).toBe(0.5)
      expect(outer.attributes["gen_ai.response.model"]).toBe(backend.model)
      expect(outer.attributes["gen_ai.response.finish_reasons"]).toEqual(["stop"])
      expect(Object.keys(outer.attributes).filter((key) => key.startsWith("gen_ai.usage"))).toEqual([])
      expect(client.attributes["gen_ai.usage.input_tokens"]).toBe(response.usage.inputTokens)
      expect(client.attributes["gen_ai.usage.output_tokens"]).toBe(response.usage.outputTokens)
    }))

  it.effect("streamText and a failure: the provider and finish on the stream span; error.type on a failure", () =>
    Effect.gen(function*() {
      const { exit, exporter } = yield* run(
        backend,
        Effect.zip(
          Stream.runDrain(LanguageModel.streamText({ prompt: "one two three four" })),
          Effect.flip(LanguageModel.generateText({ prompt: "bad [[error:400]]" }))
        )
      )
      yield* exit
      const streamed = onlySpan(exporter, "LanguageModel.streamText")
      expect(streamed.attributes["gen_ai.provider.name"]).toBe(backend.provider)
      expect(streamed.attributes["gen_ai.request.stream"]).toBe(true)
      expect(streamed.attributes["gen_ai.response.finish_reasons"]).toEqual(["stop"])
      const failed = onlySpan(exporter, "LanguageModel.generateText")
      expect(failed.attributes["gen_ai.provider.name"]).toBe(backend.provider)
      expect(failed.attributes["error.type"]).toBe("InvalidRequest")
      expect(failed.attributes["gen_ai.response.finish_reasons"]).toEqual(["error"])
    }))
})
