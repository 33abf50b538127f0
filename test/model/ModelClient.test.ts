import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as GeminiApi from "../../src/model/GeminiApi.js"
import * as ModelClient from "../../src/model/ModelClient.js"
import * as ModelError from "../../src/model/ModelError.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import * as Ollama from "../../src/model/Ollama.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as GeminiEmulator from "../../src/testing/models/GeminiEmulator.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import { useEmulator } from "../support/emulator.js"
import { emulatorBase } from "./support.js"

const emulator = useEmulator({ env: true })
const ollama = OllamaEmulator.make()
let service: Emulator.CloudRunService

beforeAll(async () => {
  service = await emulator.cloudRun.deploy({ name: "facade-ollama", handler: ollama.handler })
})

const base = () =>
  emulatorBase(emulator)

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
      const error = await client.generate({ model: "nope", contents: [ModelRequest.user("x")] }).catch((e: unknown) => e)
      expect(ModelError.isModelError(error)).toBe(true)
      expect((error as ModelError.ModelError)._tag).toBe("NotFound")
      expect(error).toBeInstanceOf(Error)
      const seen: Array<string> = []
      const streamError = await (async () => {
        for await (
          const chunk of client.stream({ model: "gemma3:4b", contents: [ModelRequest.user("a b c d e f [[midstream_error]]")] })
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
  it.effect("GEMINI_API_KEY in the environment is never sent; one warning says so", () =>
    Effect.gen(function*() {
      const gemini = GeminiEmulator.make()
      const server = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const http = await import("node:http")
          const s = http.createServer(gemini.handler)
          await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve))
          return s
        }),
        (s) => Effect.promise(() => new Promise<void>((resolve) => s.close(() => resolve())))
      )
      const url = `http://127.0.0.1:${(server.address() as import("node:net").AddressInfo).port}`
      process.env["GEMINI_API_KEY"] = "AIzaSyDoNotSendMe000000000000000000"
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => logs.push(String(message)))
      const layer = GeminiApi.layer({ baseUrl: url, origins: [url] }).pipe(
        Layer.provide(base()),
        Layer.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      const response = yield* Effect.gen(function*() {
        const model = yield* (yield* Effect.promise(() => import("../../src/model/ModelService.js"))).ModelService
        return yield* model.generate({ model: "gemini-2.5-flash", contents: [ModelRequest.user("x")] })
      }).pipe(Effect.provide(layer), Effect.ensuring(Effect.sync(() => delete process.env["GEMINI_API_KEY"])))
      expect(response.text).toBe("Echo: x")
      const sent = gemini.requests[0]!
      expect(sent.headers["x-goog-api-key"]).toBeUndefined()
      expect(sent.path).not.toContain("key=")
      expect(JSON.stringify(sent.headers)).not.toContain("AIzaSyDoNotSendMe")
      expect(logs.filter((l) => l.includes("GEMINI_API_KEY is set, but effect-adc never sends API keys"))).toHaveLength(1)
    }).pipe(Effect.scoped))
})
