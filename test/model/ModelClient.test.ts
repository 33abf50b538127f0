import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Stream from "effect/Stream"
import * as GeminiApi from "../../src/model/gemini/GeminiApi.js"
import * as GeminiVertex from "../../src/model/gemini/GeminiVertex.js"
import * as ModelClient from "../../src/model/ModelClient.js"
import * as ModelError from "../../src/model/ModelError.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import { useEmulator } from "../support/emulator.js"
import { type BackendLayer, emulatorBase, useModelEmulators } from "./support.js"

const emulator = useEmulator({ env: true })
const ollama = OllamaEmulator.make()
let service: Emulator.CloudRunService

beforeAll(async () => {
  service = await emulator.cloudRun.deploy({ name: "facade-ollama", handler: ollama.handler })
})

const base = () => emulatorBase(emulator)

describe("ModelClient (Promise facade)", () => {
  it("generate, stream as an async iterable, typed rejections, dispose", async () => {
    const client = ModelClient.make(Ollama.layer({ url: service.url }).pipe(Layer.provide(base())))
    try {
      const response = await client.generate({ model: "gemma3:4b", contents: [ModelRequest.user("hi")] })
      expect(response.text).toBe("Echo: hi")
      let text = ""
      for await (const chunk of client.stream({ model: "gemma3:4b", contents: [ModelRequest.user("a b c d")] })) {
        text += chunk.textDelta
      }
      expect(text).toBe("Echo: a b c d")
      const error = await client.generate({ model: "nope", contents: [ModelRequest.user("x")] }).catch((e: unknown) =>
        e
      )
      expect(ModelError.isModelError(error)).toBe(true)
      expect((error as ModelError.ModelError)._tag).toBe("NotFound")
      expect(error).toBeInstanceOf(Error)
      const seen: Array<string> = []
      const streamError = await (async () => {
        for await (
          const chunk of client.stream({
            model: "gemma3:4b",
            contents: [ModelRequest.user("a b c d e f [[midstream_error]]")]
          })
        ) seen.push(chunk.textDelta)
      })().catch((e: unknown) => e)
      expect(seen.length).toBe(2)
      expect((streamError as ModelError.ModelError)._tag).toBe("ServerError")
      expect(ModelError.isModelError(streamError)).toBe(true)
    } finally {
      await client.dispose()
    }
  })
})

describe("keyless", () => {
  const models = useModelEmulators(emulator)

  it.effect("GOOGLE_API_KEY and GEMINI_API_KEY set: two Gemini backends never send them; one warning names both", () =>
    Effect.gen(function*() {
      const keys = {
        GOOGLE_API_KEY: "AIzaSyGoogleDoNotSend0000000000000000",
        GEMINI_API_KEY: "AIzaSyGeminiDoNotSend000000000000000"
      }
      Object.assign(process.env, keys)
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => logs.push(String(message)))
      const run = (backend: BackendLayer) =>
        Effect.gen(function*() {
          const model = yield* ModelService
          const request = { model: "gemini-2.5-flash", contents: [ModelRequest.user("x y z")] }
          expect((yield* model.generate(request)).text).toBe("Echo: x y z")
          const chunks = yield* Stream.runCollect(model.stream(request))
          expect(Chunk.toArray(chunks).map((c) => c.textDelta).join("")).toBe("Echo: x y z")
        }).pipe(Effect.provide(backend.pipe(Layer.provide(base()))))
      yield* Effect.all([
        run(GeminiApi.layer({ baseUrl: models.gemini.url, origins: [models.gemini.url] })),
        run(
          GeminiVertex.layer({
            project: "emulator-project",
            location: "global",
            baseUrl: models.gemini.url,
            origins: [models.gemini.url]
          })
        )
      ]).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Effect.ensuring(Effect.sync(() => {
          delete process.env["GOOGLE_API_KEY"]
          delete process.env["GEMINI_API_KEY"]
        }))
      )
      // both backends answered with access tokens the tokeninfo endpoint accepted
      expect(models.gemini.emulator.requests.map((r) => r.principal)).toEqual(
        Array(4).fill(emulator.serviceAccount.email)
      )
      for (const sent of models.gemini.emulator.requests) {
        expect(sent.headers["x-goog-api-key"]).toBeUndefined()
        expect(sent.path).not.toMatch(/[?&]key=/)
        for (const key of Object.values(keys)) {
          expect(JSON.stringify(sent.headers)).not.toContain(key)
          expect(sent.path).not.toContain(key)
        }
      }
      const warnings = logs.filter((l) => l.includes("never sends API keys"))
      expect(warnings).toEqual([
        "GOOGLE_API_KEY and GEMINI_API_KEY are set, but effect-adc never sends API keys: requests carry OAuth access " +
        "tokens from Application Default Credentials. Unset the variable to silence this."
      ])
      for (const key of Object.values(keys)) expect(logs.join("\n")).not.toContain(key)
    }))
})
