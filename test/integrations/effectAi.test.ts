/**
 * @effect/ai's LanguageModel, Chat and Toolkit on ModelService, end to end on two
 * backends: Gemini on Vertex AI (the Gemini emulator checking access tokens with the
 * identity emulator's tokeninfo) and Gemma on Ollama behind the emulator's Cloud Run
 * front door (which verifies the ID token).
 */
import * as AiError from "@effect/ai/AiError"
import * as Chat from "@effect/ai/Chat"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { readFileSync } from "node:fs"
import * as AuthService from "../../src/auth/AuthService.js"
import * as EffectAi from "../../src/integrations/effectAi.js"
import * as GeminiApi from "../../src/model/gemini/GeminiApi.js"
import * as GeminiVertex from "../../src/model/gemini/GeminiVertex.js"
import type { ModelService } from "../../src/model/ModelService.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as Loopback from "../../src/testing/Loopback.js"
import * as GeminiEmulator from "../../src/testing/models/GeminiEmulator.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import { fixturesRoot } from "../model/support.js"
import { useEmulator } from "../support/emulator.js"
import { at, jsonArray } from "../support/json.js"
import { serve } from "./support.js"

const emulator = useEmulator({ env: true })
const ollama = OllamaEmulator.make()
let gemini: GeminiEmulator.GeminiEmulator
let gemma: Emulator.CloudRunService
let geminiServer: { url: string; close: () => Promise<void> }
beforeAll(async () => {
  gemma = await emulator.cloudRun.deploy({ name: "gemma", handler: ollama.handler })
  gemini = GeminiEmulator.make({
    authorize: GeminiEmulator.authorizeWithTokenInfo(`${emulator.googleApisUrl}/oauth2/v3/tokeninfo`)
  })
  geminiServer = await serve(gemini.handler)
})
afterAll(() => geminiServer.close())

interface Backend {
  readonly name: string
  readonly model: string
  readonly layer: () => Layer.Layer<
    ModelService,
    unknown,
    AuthService.AuthService | import("@effect/platform/HttpClient").HttpClient
  >
  /** The JSON bodies the backend received, in order. */
  readonly bodies: () => ReadonlyArray<unknown>
  /** Who the request acted as (the principal the access token or the front door's ID token named). */
  readonly principal: () => string | undefined
}

const backends: ReadonlyArray<Backend> = [
  {
    name: "Gemini on Vertex AI",
    model: "gemini-2.5-flash",
    layer: () =>
      GeminiVertex.layer({
        project: "emulator-project",
        location: "global",
        baseUrl: geminiServer.url,
        origins: [geminiServer.url]
      }),
    bodies: () => gemini.requests.map((r) => r.body),
    principal: () => gemini.requests.at(-1)?.principal
  },
  {
    name: "Gemma on Ollama on Cloud Run",
    model: "gemma3:4b",
    layer: () => Ollama.layer({ url: gemma.url }),
    bodies: () => ollama.requests.map((r) => r.body),
    principal: () => emulator.controls.log.findLast((l) => l.endpoint === "cloudrun:gemma")?.principal
  }
]

const GetWeather = Tool.make("get_weather", {
  description: "The current weather in a city",
  parameters: { city: Schema.String },
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number })
})
const Weather = Toolkit.make(GetWeather)

/** The toolkit's handler, counting its calls. */
const weatherHandlers = (calls: Ref.Ref<ReadonlyArray<string>>) =>
  Weather.toLayer({
    get_weather: ({ city }) => Effect.as(Ref.update(calls, (c) => [...c, city]), { city, celsius: 21 })
  })

const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })

/** A fresh AuthService (its token cache) and HttpClient per test, the backend, and LanguageModel on top. */
const provide = <A, E>(backend: Backend, effect: Effect.Effect<A, E, LanguageModel.LanguageModel>) => {
  gemini.reset()
  ollama.reset()
  const base = Layer.mergeAll(
    AuthService.layer({ projectId: "emulator-project", clientOptions: emulator.clientOptions }),
    FetchHttpClient.layer
  ).pipe(Layer.orDie)
  return effect.pipe(
    Effect.provide(EffectAi.layer({ model: backend.model }).pipe(Layer.provide(backend.layer()), Layer.provide(base)))
  )
}

/** No access token (ya29.) nor JWT (eyJ) in a message. */
const noToken = (text: string) => expect(text).not.toMatch(/ya29\.|eyJ/)

for (const backend of backends) {
  describe(`@effect/ai LanguageModel on ${backend.name}`, () => {
    it.effect("generateText: system, history and user turns in; text, finish reason and usage out", () =>
      provide(
        backend,
        Effect.gen(function*() {
          const response = yield* LanguageModel.generateText({
            prompt: [
              { role: "system", content: "You are terse." },
              { role: "user", content: "Hi" },
              { role: "assistant", content: "Hello." },
              { role: "user", content: "hello effect" }
            ]
          })
          expect(response.text).toBe("Echo: hello effect")
          expect(response.finishReason).toBe("stop")
          expect(response.usage.inputTokens).toBeGreaterThan(0)
          expect(response.usage.outputTokens).toBe(3)
          const metadata = response.content.find((p) => p.type === "response-metadata")
          expect(
            metadata?.type === "response-metadata" && metadata.modelId._tag === "Some" ? metadata.modelId.value : ""
          )
            .toContain(backend.model.split(":")[0]!)
          expect(backend.principal()).toBe(emulator.serviceAccount.email)
          const body = backend.bodies()[0]
          if (backend.name.startsWith("Gemini")) {
            expect(at(body, "systemInstruction")).toEqual({ parts: [{ text: "You are terse." }] })
            expect(jsonArray(at(body, "contents")).map((c) => at(c, "role"))).toEqual(["user", "model", "user"])
          } else {
            expect(jsonArray(at(body, "messages")).map((m) => at(m, "role"))).toEqual([
              "system",
              "user",
              "assistant",
              "user"
            ])
          }
        })
      ))

    it.effect("streamText: text deltas in one block, then finish with usage", () =>
      provide(
        backend,
        Effect.gen(function*() {
          const parts = Chunk.toArray(
            yield* Stream.runCollect(LanguageModel.streamText({ prompt: "tell me about robins in the garden" }))
          )
          const types = parts.map((p) => p.type)
          expect(types[0]).toBe("response-metadata")
          expect(types[1]).toBe("text-start")
          expect(types.filter((t) => t === "text-delta").length).toBeGreaterThan(1)
          expect(types.slice(-2)).toEqual(["text-end", "finish"])
          expect(parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join("")).toBe(
            "Echo: tell me about robins in the garden"
          )
          const finish = parts.at(-1)
          expect(finish?.type === "finish" ? [finish.reason, finish.usage.outputTokens] : []).toEqual(["stop", 8])
        })
      ))

    it.effect("generateObject: the schema's JSON Schema goes out, the answer is decoded with the Schema", () =>
      provide(
        backend,
        Effect.gen(function*() {
          const response = yield* LanguageModel.generateObject({
            prompt: "Invent a person name=Ada age=36",
            schema: Person,
            objectName: "person"
          })
          expect(response.value).toEqual({ name: "Ada", age: 36 })
          const body = backend.bodies()[0]
          const schema = backend.name.startsWith("Gemini")
            ? at(body, "generationConfig", "responseJsonSchema")
            : at(body, "format")
          expect(at(schema, "required")).toEqual(["name", "age"])
          expect(at(schema, "properties", "age")).toEqual({ type: "number" })
        })
      ))

    it.effect("Toolkit round trip: tool call, handler, result, and the result back to the model", () =>
      Effect.gen(function*() {
        const calls = yield* Ref.make<ReadonlyArray<string>>([])
        yield* provide(
          backend,
          Effect.gen(function*() {
            const prompt = Prompt.make("get_weather city=Tokyo")
            const first = yield* LanguageModel.generateText({ prompt, toolkit: Weather })
            expect(first.toolCalls.map((c) => [c.name, c.params])).toEqual([["get_weather", { city: "Tokyo" }]])
            expect(first.toolResults.map((r) => r.result)).toEqual([{ city: "Tokyo", celsius: 21 }])
            expect(first.finishReason).toBe("tool-calls")
            expect(yield* Ref.get(calls)).toEqual(["Tokyo"])
            const sentTools = backend.bodies()[0]
            if (backend.name.startsWith("Gemini")) {
              expect(at(sentTools, "tools", 0, "functionDeclarations", 0)).toMatchObject({
                name: "get_weather",
                description: "The current weather in a city",
                parametersJsonSchema: { type: "object", required: ["city"] }
              })
              expect(at(sentTools, "toolConfig")).toEqual({ functionCallingConfig: { mode: "AUTO" } })
            } else {
              expect(at(sentTools, "tools", 0, "function", "name")).toBe("get_weather")
            }
            const second = yield* LanguageModel.generateText({
              prompt: Prompt.merge(prompt, Prompt.fromResponseParts(first.content)),
              toolkit: Weather
            })
            expect(second.text).toBe(`get_weather returned {"city":"Tokyo","celsius":21}`)
            expect(second.toolCalls).toEqual([])
            const replayed = backend.bodies()[1]
            if (backend.name.startsWith("Gemini")) {
              const [call, result] = jsonArray(at(replayed, "contents")).slice(1)
              expect(at(call, "role")).toBe("model")
              // the thought signature goes back with its call, though Prompt.fromResponseParts dropped it
              expect(at(call, "parts", 0)).toMatchObject({
                functionCall: { name: "get_weather", args: { city: "Tokyo" } },
                thoughtSignature: "ZW11bGF0b3Itc2lnbmF0dXJl"
              })
              expect(at(result, "parts", 0, "functionResponse")).toMatchObject({
                id: at(call, "parts", 0, "functionCall", "id"),
                name: "get_weather",
                response: { city: "Tokyo", celsius: 21 }
              })
            } else {
              expect(jsonArray(at(replayed, "messages")).map((m) => at(m, "role"))).toEqual([
                "user",
                "assistant",
                "tool"
              ])
            }
          }).pipe(Effect.provide(weatherHandlers(calls)))
        )
      }))

    it.effect("toolChoice: none sends no call, a named tool is forced", () =>
      Effect.gen(function*() {
        const calls = yield* Ref.make<ReadonlyArray<string>>([])
        yield* provide(
          backend,
          Effect.gen(function*() {
            const none = yield* LanguageModel.generateText({
              prompt: "get_weather city=Oslo",
              toolkit: Weather,
              toolChoice: "none"
            })
            expect(none.toolCalls).toEqual([])
            expect(none.text).toBe("Echo: get_weather city=Oslo")
            if (backend.name.startsWith("Gemini")) {
              const forced = yield* LanguageModel.generateText({
                prompt: "what is it like city=Oslo",
                toolkit: Weather,
                toolChoice: { tool: "get_weather" }
              })
              expect(forced.toolCalls.map((c) => c.params)).toEqual([{ city: "Oslo" }])
              expect(at(backend.bodies()[1], "toolConfig")).toEqual({
                functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] }
              })
            } else {
              expect(at(backend.bodies()[0], "tools")).toBeUndefined()
            }
          }).pipe(Effect.provide(weatherHandlers(calls)))
        )
      }))

    it.effect("streamText with a Toolkit: the call streams as params and a tool-call, the handler's result follows", () =>
      Effect.gen(function*() {
        const calls = yield* Ref.make<ReadonlyArray<string>>([])
        yield* provide(
          backend,
          Effect.gen(function*() {
            const parts = Chunk.toArray(
              yield* Stream.runCollect(LanguageModel.streamText({ prompt: "get_weather city=Lima", toolkit: Weather }))
            )
            expect(parts.map((p) => p.type).filter((t) => t.startsWith("tool"))).toEqual([
              "tool-params-start",
              "tool-params-delta",
              "tool-params-end",
              "tool-call",
              "tool-result"
            ])
            const result = parts.find((p) => p.type === "tool-result")
            expect(result?.type === "tool-result" ? result.result : undefined).toEqual({ city: "Lima", celsius: 21 })
            const finish = parts.find((p) => p.type === "finish")
            expect(finish?.type === "finish" ? finish.reason : undefined).toBe("tool-calls")
            expect(yield* Ref.get(calls)).toEqual(["Lima"])
          }).pipe(Effect.provide(weatherHandlers(calls)))
        )
      }))

    it.effect("Chat: the history carries the tool call and result into the next turns", () =>
      Effect.gen(function*() {
        const calls = yield* Ref.make<ReadonlyArray<string>>([])
        yield* provide(
          backend,
          Effect.gen(function*() {
            const chat = yield* Chat.empty
            const first = yield* chat.generateText({ prompt: "get_weather city=Paris", toolkit: Weather })
            expect(first.toolResults.map((r) => r.result)).toEqual([{ city: "Paris", celsius: 21 }])
            const answer = yield* chat.generateText({ prompt: [], toolkit: Weather })
            expect(answer.text).toBe(`get_weather returned {"city":"Paris","celsius":21}`)
            const thanks = yield* chat.generateText({ prompt: "thanks" })
            expect(thanks.text).toBe("Echo: thanks")
            const history = yield* Ref.get(chat.history)
            expect(history.content.map((m) => m.role)).toEqual([
              "user",
              "assistant",
              "tool",
              "assistant",
              "user",
              "assistant"
            ])
            expect(yield* Ref.get(calls)).toEqual(["Paris"])
          }).pipe(Effect.provide(weatherHandlers(calls)))
        )
      }))

    it.effect("file parts go out as inline data (bytes base64-encoded), through EffectAi.model", () =>
      Effect.gen(function*() {
        gemini.reset()
        ollama.reset()
        const base = Layer.mergeAll(
          AuthService.layer({ projectId: "emulator-project", clientOptions: emulator.clientOptions }),
          FetchHttpClient.layer
        ).pipe(Layer.orDie)
        const response = yield* LanguageModel.generateText({
          prompt: [{
            role: "user",
            content: [
              { type: "file", mediaType: "image/png", data: new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]) },
              { type: "text", text: "describe the image" }
            ]
          }]
        }).pipe(Effect.provide(EffectAi.model(backend.model).pipe(Layer.provide(backend.layer()), Layer.provide(base))))
        // the emulated model names the bytes it received: the PNG signature arrived intact
        expect(response.text).toBe("Echo: describe the image [image/png 8 bytes]")
        const body = backend.bodies()[0]
        if (backend.name.startsWith("Gemini")) {
          expect(at(body, "contents", 0, "parts")).toEqual([
            { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
            { text: "describe the image" }
          ])
        } else {
          expect(at(body, "messages", 0)).toEqual({
            role: "user",
            content: "describe the image",
            images: ["iVBORw0KGgo="]
          })
        }
      }))

    it.effect("a file URL that is not a data: URL is refused before any request", () =>
      provide(
        backend,
        Effect.gen(function*() {
          const error = yield* LanguageModel.generateText({
            prompt: [{
              role: "user",
              content: [{ type: "file", mediaType: "image/png", data: new URL("https://example.com/cat.png") }]
            }]
          }).pipe(Effect.flip)
          expect(error._tag).toBe("MalformedInput")
          expect(backend.bodies()).toHaveLength(0)
        })
      ))

    it.effect("a backend error is an AiError whose cause is the ModelError, with no token in it", () =>
      provide(
        backend,
        Effect.gen(function*() {
          const error = yield* LanguageModel.generateText({ prompt: "hello" }).pipe(
            EffectAi.withConfigOverride({ model: "no-such-model" }),
            Effect.flip
          )
          expect(AiError.isAiError(error)).toBe(true)
          expect(error._tag).toBe("UnknownError")
          expect((error.cause as { _tag?: string } | undefined)?._tag).toBe("NotFound")
          noToken(error.message)
          noToken(JSON.stringify(error))
        })
      ))
  })
}

describe("@effect/ai LanguageModel on a recorded Gemini stream (gemini-3 signs its last, empty text part)", () => {
  const recorded = readFileSync(
    new URL("gemini/api-stream-empty-text-thought-signature.events.jsonl", fixturesRoot),
    "utf8"
  ).split("\n").filter((line) => line.length > 0)
  const signature: string = JSON.parse(recorded.at(-1)!).candidates[0].content.parts[0].thoughtSignature
  const bodies: Array<{ readonly path: string; readonly body: unknown }> = []
  let server: Loopback.LoopbackServer
  beforeAll(async () => {
    // Google's SSE framing, by hand: the recorded events, then an answer for the next turn
    server = await Loopback.serve((req, res) => {
      let text = ""
      req.on("data", (data: Buffer) => (text += data.toString("utf8")))
      req.on("end", () => {
        bodies.push({ path: req.url ?? "", body: JSON.parse(text) })
        if (req.url?.includes(":streamGenerateContent") === true) {
          res.writeHead(200, { "content-type": "text/event-stream" })
          for (const line of recorded) res.write(`data: ${line}\r\n\r\n`)
          return res.end()
        }
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify({
          candidates: [{ content: { role: "model", parts: [{ text: "6" }] }, finishReason: "STOP", index: 0 }],
          usageMetadata: { promptTokenCount: 20, candidatesTokenCount: 1, totalTokenCount: 21 },
          modelVersion: "gemini-3-flash-preview"
        }))
      })
    })
  })
  afterAll(() => server.close())

  it.effect("a text part's thought signature survives a streamed turn and goes back on the next turn", () =>
    Effect.gen(function*() {
      const parts = Chunk.toArray(
        yield* Stream.runCollect(LanguageModel.streamText({ prompt: "What is 2+2? Answer with the digit." }))
      )
      const text = parts.flatMap((p) => (p.type === "text-delta" ? [p.delta] : [])).join("")
      expect(text).toBe("4")
      const ends = parts.filter((p) => p.type === "text-end")
      expect(ends).toHaveLength(1)
      expect(ends[0]?.metadata).toEqual({ [EffectAi.providerName]: { thoughtSignature: signature } })
      const finish = parts.find((p) => p.type === "finish")
      expect(finish?.reason).toBe("stop")
      expect(finish?.usage.reasoningTokens).toBe(52)

      // the caller keeps the signature in the text part's options; it goes back verbatim
      yield* LanguageModel.generateText({
        prompt: Prompt.make([
          { role: "user", content: "What is 2+2? Answer with the digit." },
          {
            role: "assistant",
            content: [{ type: "text", text, options: { [EffectAi.providerName]: { thoughtSignature: signature } } }]
          },
          { role: "user", content: "And 3+3?" }
        ])
      })
      const next = bodies.at(-1)
      expect(next?.path).toContain(":generateContent")
      expect(next?.body).toMatchObject({
        contents: [expect.anything(), { role: "model", parts: [{ text: "4", thoughtSignature: signature }] }, {
          role: "user"
        }]
      })
    }).pipe(
      Effect.provide(
        EffectAi.layer({ model: "gemini-3-flash-preview" }).pipe(
          Layer.provide(GeminiApi.layer({ baseUrl: server.url })),
          Layer.provide(
            Layer.mergeAll(
              AuthService.layer({ projectId: "emulator-project", clientOptions: emulator.clientOptions }),
              FetchHttpClient.layer
            ).pipe(Layer.orDie)
          )
        )
      )
    ))
})
