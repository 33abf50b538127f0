/**
 * The GenAI `embeddings` span of EmbeddingService (OpenTelemetry SDK, in-memory
 * exporter): one CLIENT span per `embed`, the parent of every HTTP call of the split
 * batch, with the operation, provider, model, dimensions, input tokens and calls; a
 * failure sets `error.type`. No token in any attribute.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { EmbeddingService } from "../../src/model/embedding/EmbeddingService.js"
import * as OllamaEmbeddings from "../../src/model/embedding/OllamaEmbeddings.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import { useEmulator } from "../support/emulator.js"
import { telemetry } from "../telemetry/support.js"
import { emulatorBase } from "./support.js"

const emulator = useEmulator({ env: true })
const ollama = OllamaEmulator.make()
let service: Emulator.CloudRunService

beforeAll(async () => {
  service = await emulator.cloudRun.deploy({ name: "embed-telemetry-ollama", handler: ollama.handler })
  return () => service.close()
})

describe("the embeddings span", () => {
  it.effect("one CLIENT span per embed, parent of each call's HTTP span; usage, calls; error.type on failure", () => {
    const otel = telemetry()
    return Effect.gen(function*() {
      ollama.reset()
      const embeddings = yield* EmbeddingService
      yield* embeddings.embed({ model: "embeddinggemma", inputs: ["a", "b", "c"], dimensions: 4 })
      yield* Effect.flip(embeddings.embed({ model: "no-such-embed", inputs: ["x"] }))
      const spans = otel.exporter.getFinishedSpans()
      const [ok, failed] = spans.filter((s) => s.name.startsWith("embeddings "))
      expect(ok?.name).toBe("embeddings embeddinggemma")
      expect(ok?.kind).toBe(2) // SpanKind.CLIENT
      expect(ok?.attributes).toMatchObject({
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": "ollama",
        "gen_ai.request.model": "embeddinggemma",
        "gen_ai.embeddings.dimension.count": 4,
        "gen_ai.usage.input_tokens": 3,
        "effect_adc.embeddings.calls": 2
      })
      const children = spans.filter((s) => s.parentSpanContext?.spanId === ok?.spanContext().spanId)
      // the two calls of the split batch (and the cold ID-token fetch) under the embeddings span
      expect(children.filter((s) => s.name.startsWith("http.client")).length).toBe(2)
      expect(failed?.attributes["error.type"]).toBe("NotFound")
      expect(JSON.stringify(spans.map((s) => s.attributes))).not.toMatch(/eyJ|Bearer/)
    }).pipe(
      Effect.provide(
        OllamaEmbeddings.layer({ url: service.url, maxBatchSize: 2 }).pipe(Layer.provide(emulatorBase(emulator)))
      ),
      Effect.provide(otel.layer)
    )
  })
})
