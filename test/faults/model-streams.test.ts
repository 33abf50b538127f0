/**
 * Streams always end, correctly, on every backend, over real loopback framing: a tiny
 * node:http server writes chosen byte slices of a recorded-shape body (a pause between
 * them so they arrive as separate reads), or cuts, stalls or destroys the connection.
 *
 * Everything runs on each HttpClient of `httpClients` (FetchHttpClient, UndiciHttpClient).
 * Matrix per client and backend (Gemini SSE, Ollama NDJSON, OpenAI-compatible SSE):
 * - two-read splits of a body holding multi-byte characters → the same text, finish and
 *   usage, the finish on the last chunk only (every split on FetchHttpClient; on the
 *   others the splits that cut a character or touch a line break, and every 16th);
 * - the body without its end marker → StreamTruncated, the chunks before it delivered;
 * - a destroyed socket after the first event → Transport, not Decode;
 * - a stall after the first event → Timeout from the idle timeout (TestClock);
 * - no data after the headers → Timeout from the first-chunk deadline (TestClock);
 * - Retry-After: 86400 → RateLimited at once, with the server's retryAfter, one request.
 * Plus: Google's error JSON without SSE framing after two events; tool calls assembled
 * at the end of the stream with or without a finish reason, ids synthesised.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Http from "node:http"
import { inspect } from "node:util"
import * as GeminiApi from "../../src/model/gemini/GeminiApi.js"
import * as ModelError from "../../src/model/ModelError.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import * as ModelResponse from "../../src/model/ModelResponse.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import * as OpenAICompatible from "../../src/model/openai/OpenAICompatible.js"
import * as RetryPolicy from "../../src/model/RetryPolicy.js"
import * as Loopback from "../../src/testing/Loopback.js"
import { emulatorBase, httpClients, tick } from "../model/support.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })

/** What the server does with the next request. */
interface Plan {
  readonly status?: number
  readonly headers?: Record<string, string>
  readonly slices: ReadonlyArray<Uint8Array>
  readonly then: "end" | "destroy" | "stall"
}

let plan: Plan = { slices: [], then: "end" }
let requests = 0
let url = ""
const open = new Set<Http.ServerResponse>()

beforeAll(async () => {
  const server = await Loopback.serve((req, res) => {
    requests++
    req.resume()
    req.on("end", async () => {
      const current = plan
      res.writeHead(current.status ?? 200, current.headers ?? {})
      res.flushHeaders()
      for (const slice of current.slices) {
        res.write(slice)
        // a pause, so that each slice reaches the client as its own read
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
      if (current.then === "end") res.end()
      else if (current.then === "destroy") res.socket?.destroy()
      else open.add(res)
    })
  })
  url = server.url
  // close() destroys every open socket, the held-open streams too
  return () => server.close()
})

const utf8 = (text: string) => new TextEncoder().encode(text)
const sse = (events: ReadonlyArray<unknown>) =>
  events.map((e) => `data: ${typeof e === "string" ? e : JSON.stringify(e)}\n\n`).join("")
const ndjson = (lines: ReadonlyArray<unknown>) => lines.map((l) => `${JSON.stringify(l)}\n`).join("")

interface Backend {
  readonly name: ModelError.Backend
  readonly model: string
  readonly contentType: string
  readonly layer: (http: Layer.Layer<HttpClient.HttpClient>) => Layer.Layer<ModelService, unknown, never>
  /** A whole answer "Grüße, 世界 🌍!" with usage 3 + 4 = 7. */
  readonly body: string
  /** The same body without its end marker. */
  readonly truncated: string
  /** The first event only. */
  readonly first: string
}

const text1 = "Grüße, 世界 "
const text2 = "🌍!"
const layerOf =
  <R>(layer: Layer.Layer<ModelService, unknown, R>) =>
  (http: Layer.Layer<HttpClient.HttpClient>): Layer.Layer<ModelService, unknown, never> =>
    layer.pipe(Layer.provide(emulatorBase(emulator, http))) as Layer.Layer<ModelService, unknown, never>

const backends: ReadonlyArray<Backend> = [
  {
    name: "gemini-api",
    model: "gemini-2.5-flash",
    contentType: "text/event-stream",
    layer: (http) => layerOf(GeminiApi.layer({ baseUrl: url, origins: [url], retry: RetryPolicy.none }))(http),
    body: sse([
      { candidates: [{ content: { role: "model", parts: [{ text: text1 }] } }] },
      {
        candidates: [{ content: { role: "model", parts: [{ text: text2 }] }, finishReason: "STOP" }],
        usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4, totalTokenCount: 7 }
      }
    ]),
    truncated: sse([
      { candidates: [{ content: { role: "model", parts: [{ text: text1 }] } }] },
      { candidates: [{ content: { role: "model", parts: [{ text: text2 }] } }] }
    ]),
    first: sse([{ candidates: [{ content: { role: "model", parts: [{ text: text1 }] } }] }])
  },
  {
    name: "ollama",
    model: "gemma3:4b",
    contentType: "application/x-ndjson",
    layer: (http) => layerOf(Ollama.layer({ url, retry: RetryPolicy.none }))(http),
    body: ndjson([
      { model: "gemma3:4b", message: { role: "assistant", content: text1 }, done: false },
      { model: "gemma3:4b", message: { role: "assistant", content: text2 }, done: false },
      {
        model: "gemma3:4b",
        message: { role: "assistant", content: "" },
        done: true,
        done_reason: "stop",
        prompt_eval_count: 3,
        eval_count: 4
      }
    ]),
    truncated: ndjson([
      { model: "gemma3:4b", message: { role: "assistant", content: text1 }, done: false },
      { model: "gemma3:4b", message: { role: "assistant", content: text2 }, done: false }
    ]),
    first: ndjson([{ model: "gemma3:4b", message: { role: "assistant", content: text1 }, done: false }])
  },
  {
    name: "openai-compatible",
    model: "google/gemma-3-4b-it",
    contentType: "text/event-stream",
    layer: (http) => layerOf(OpenAICompatible.layer({ url, retry: RetryPolicy.none }))(http),
    body: sse([
      { id: "c1", model: "gemma", choices: [{ index: 0, delta: { role: "assistant", content: text1 } }] },
      { id: "c1", model: "gemma", choices: [{ index: 0, delta: { content: text2 }, finish_reason: "stop" }] },
      { id: "c1", model: "gemma", choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } },
      "[DONE]"
    ]),
    truncated: sse([
      { id: "c1", model: "gemma", choices: [{ index: 0, delta: { role: "assistant", content: text1 } }] },
      { id: "c1", model: "gemma", choices: [{ index: 0, delta: { content: text2 } }] }
    ]),
    first: sse([{ id: "c1", model: "gemma", choices: [{ index: 0, delta: { role: "assistant", content: text1 } }] }])
  }
]

const request = (backend: Backend): ModelRequest.ModelRequest => ({
  model: backend.model,
  contents: [ModelRequest.user("hi")],
  idleTimeout: "10 seconds",
  firstChunkTimeout: "20 seconds"
})

/** Runs a stream to its end; the chunks and how it ended. */
const collect = (backend: Backend, req: ModelRequest.ModelRequest = request(backend)) =>
  Effect.flatMap(ModelService, (model) => {
    const chunks: Array<ModelResponse.ModelStreamChunk> = []
    return model.stream(req).pipe(
      Stream.runForEach((chunk) => Effect.sync(() => chunks.push(chunk))),
      Effect.either,
      Effect.map((result) => ({ chunks, result }))
    )
  })

const serve = (backend: Backend, next: Omit<Plan, "headers"> & { readonly headers?: Record<string, string> }) => {
  plan = { ...next, headers: { "content-type": backend.contentType, ...next.headers } }
}

/**
 * Where a body is cut in two: everywhere, or where a cut can go wrong (inside a
 * multi-byte character, next to a line break) and every 16th byte.
 */
const splitPoints = (bytes: Uint8Array, every: boolean): ReadonlyArray<number> => {
  const points: Array<number> = []
  for (let at = 1; at < bytes.length; at++) {
    const edge = bytes[at - 1]! >= 0x80 || bytes[at]! >= 0x80 || bytes[at - 1] === 0x0a || bytes[at] === 0x0a
    if (every || edge || at % 16 === 0) points.push(at)
  }
  return points
}

describe.each(httpClients)("on $name", ({ http, name }) => {
  const everySplit = name === "FetchHttpClient"

  describe.each(backends)("$name stream", (backend) => {
    it.effect(
      `${splitPoints(utf8(backend.body), everySplit).length} two-read splits (${
        everySplit ? "all" : "cutting a character, at a line break, every 16th byte"
      }) of a body with multi-byte characters: the same answer, the finish on the last chunk only`,
      () =>
        Effect.gen(function*() {
          const bytes = utf8(backend.body)
          const points = splitPoints(bytes, everySplit)
          let splits = 0
          for (const at of points) {
            serve(backend, { slices: [bytes.subarray(0, at), bytes.subarray(at)], then: "end" })
            const { chunks, result } = yield* collect(backend)
            expect(Either.isRight(result)).toBe(true)
            const answer = ModelResponse.fromChunks(chunks)
            expect(answer.text).toBe(text1 + text2)
            expect(answer.finishReason).toBe("stop")
            expect(answer.usage.totalTokens).toBe(7)
            expect(chunks.at(-1)?.finish?.usage.inputTokens).toBe(3)
            expect(chunks.slice(0, -1).every((chunk) => chunk.finish === undefined)).toBe(true)
            splits++
          }
          expect(splits).toBe(points.length)
        }).pipe(Effect.provide(backend.layer(http))),
      60_000
    )

    it.effect("a body that ends without its end marker fails with StreamTruncated after the chunks before it", () =>
      Effect.gen(function*() {
        serve(backend, { slices: [utf8(backend.truncated)], then: "end" })
        const { chunks, result } = yield* collect(backend)
        expect(Either.isLeft(result) && result.left._tag).toBe("StreamTruncated")
        expect(chunks.map((chunk) => chunk.textDelta).join("")).toBe(text1 + text2)
        if (Either.isLeft(result)) {
          expect(result.left.message).toContain(`model ${backend.model}`)
          expect(result.left.message).not.toContain("?")
        }
      }).pipe(Effect.provide(backend.layer(http))))

    it.effect("a socket destroyed after the first event is a Transport error (the chunk before it delivered)", () =>
      Effect.gen(function*() {
        serve(backend, { slices: [utf8(backend.first)], then: "destroy" })
        const { chunks, result } = yield* collect(backend)
        expect(Either.isLeft(result) && result.left._tag).toBe("Transport")
        expect(chunks.map((chunk) => chunk.textDelta).join("")).toBe(text1)
      }).pipe(Effect.provide(backend.layer(http))))

    it.effect("a stream that goes silent after its first event ends with Timeout (idle timeout, TestClock)", () =>
      Effect.gen(function*() {
        serve(backend, { slices: [utf8(backend.first)], then: "stall" })
        const fiber = yield* Effect.fork(collect(backend))
        for (let i = 0; i < 2000 && requests === 0; i++) yield* tick
        for (let i = 0; i < 200 && Option.isNone(yield* Fiber.poll(fiber)); i++) {
          yield* TestClock.adjust("5 seconds")
          yield* tick
        }
        const { chunks, result } = yield* Fiber.join(fiber)
        expect(Either.isLeft(result) && result.left._tag).toBe("Timeout")
        expect(Either.isLeft(result) && result.left.message).toMatch(/no data for 10s \(idleTimeout\)/)
        expect(chunks.map((chunk) => chunk.textDelta).join("")).toBe(text1)
      }).pipe(Effect.provide(backend.layer(http))))

    it.effect("a stream that sends no data after its headers ends with Timeout (first-chunk deadline, TestClock)", () =>
      Effect.gen(function*() {
        serve(backend, { slices: [], then: "stall" })
        const fiber = yield* Effect.fork(collect(backend))
        for (let i = 0; i < 200 && Option.isNone(yield* Fiber.poll(fiber)); i++) {
          yield* TestClock.adjust("5 seconds")
          yield* tick
        }
        const { chunks, result } = yield* Fiber.join(fiber)
        expect(Either.isLeft(result) && result.left.message).toMatch(
          /no data within 20s of opening \(firstChunkTimeout\)/
        )
        expect(chunks).toEqual([])
      }).pipe(Effect.provide(backend.layer(http))))

    it.effect("Retry-After: 86400 fails at once with RateLimited carrying the server's delay (one request, no sleep)", () =>
      Effect.gen(function*() {
        const layer = backend.name === "gemini-api"
          ? GeminiApi.layer({ baseUrl: url, origins: [url] })
          : backend.name === "ollama"
          ? Ollama.layer({ url })
          : OpenAICompatible.layer({ url })
        serve(backend, {
          status: 429,
          headers: { "retry-after": "86400", "content-type": "application/json" },
          slices: [utf8(JSON.stringify({ error: "slow down" }))],
          then: "end"
        })
        const before = requests
        const fiber = yield* Effect.fork(
          Effect.flatMap(ModelService, (model) => model.generate(request(backend))).pipe(
            Effect.provide(layer.pipe(Layer.provide(emulatorBase(emulator, http))))
          )
        )
        // no TestClock adjustment: a call that slept would never finish
        for (let i = 0; i < 5000 && Option.isNone(yield* Fiber.poll(fiber)); i++) yield* tick
        const exit = yield* Fiber.await(fiber)
        expect(exit._tag).toBe("Failure")
        const error = yield* Effect.flip(Fiber.join(fiber))
        if (!ModelError.isModelError(error)) throw error
        expect(error._tag).toBe("RateLimited")
        expect(error.retryAfter.pipe(Option.map(Duration.toSeconds))).toEqual(Option.some(86400))
        expect(requests - before).toBe(1)
      }))
  })

  describe("errors and tool calls inside streams", () => {
    const [gemini, ollama, openai] = backends as [Backend, Backend, Backend]

    it.effect("Gemini: Google's error JSON without SSE framing after two events fails with the typed error", () =>
      Effect.gen(function*() {
        const error = JSON.stringify(
          { error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" } },
          null,
          2
        )
        serve(gemini, { slices: [utf8(gemini.truncated + error + "\n")], then: "end" })
        const { chunks, result } = yield* collect(gemini)
        expect(Either.isLeft(result) && result.left._tag).toBe("Unavailable")
        // the server's sentence keeps one full stop
        expect(Either.isLeft(result) && result.left.message).toContain(": The model is overloaded. It is retried")
        expect(chunks.length).toBe(2)
      }).pipe(Effect.provide(gemini.layer(http))))

    const vllmToolCall = (finish: boolean) =>
      sse([
        {
          choices: [{
            index: 0,
            delta: { role: "assistant", tool_calls: [{ index: 0, function: { name: "get_weather", arguments: "" } }] }
          }]
        },
        { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: "{\"city\": \"Mün" } }] } }] },
        { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: "chen\"}" } }] } }] },
        {
          choices: [{
            index: 0,
            delta: { tool_calls: [{ index: 1, function: { name: "get_time", arguments: "{}" } }] }
          }]
        },
        ...(finish ? [{ choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] }] : []),
        "[DONE]"
      ])

    it.effect.each([true, false])(
      "OpenAI-compatible: index-based tool call fragments without ids (finish_reason sent: %s) are assembled at the end",
      (finish) =>
        Effect.gen(function*() {
          serve(openai, { slices: [utf8(vllmToolCall(finish))], then: "end" })
          const { chunks, result } = yield* collect(openai)
          expect(Either.isRight(result)).toBe(true)
          const last = chunks.at(-1)!
          expect(last.toolCalls).toEqual([
            { id: "call_0", name: "get_weather", args: { city: "München" } },
            { id: "call_1", name: "get_time", args: {} }
          ])
          expect(last.finishReason).toBe("tool-calls")
          expect(ModelResponse.fromChunks(chunks).toolCalls.length).toBe(2)
        }).pipe(Effect.provide(openai.layer(http)))
    )

    it.effect("Ollama and Gemini: tool calls without ids get call_N ids, on the chunk that completes them", () =>
      Effect.gen(function*() {
        serve(ollama, {
          slices: [utf8(ndjson([
            {
              model: "gemma3:4b",
              message: {
                role: "assistant",
                content: "",
                tool_calls: [{ function: { name: "get_weather", arguments: { city: "Tokyo" } } }]
              },
              done: false
            },
            {
              model: "gemma3:4b",
              message: { role: "assistant", content: "" },
              done: true,
              done_reason: "stop",
              prompt_eval_count: 1,
              eval_count: 1
            }
          ]))],
          then: "end"
        })
        const fromOllama = yield* collect(ollama).pipe(Effect.provide(ollama.layer(http)))
        expect(ModelResponse.fromChunks(fromOllama.chunks).toolCalls).toEqual([{
          id: "call_0",
          name: "get_weather",
          args: { city: "Tokyo" }
        }])
        expect(fromOllama.chunks.at(-1)?.finishReason).toBe("tool-calls")
        serve(gemini, {
          slices: [utf8(sse([
            {
              candidates: [{
                content: {
                  role: "model",
                  parts: [{ functionCall: { name: "get_weather", args: { city: "Tokyo" } }, thoughtSignature: "c2ln" }]
                },
                finishReason: "STOP"
              }]
            }
          ]))],
          then: "end"
        })
        const fromGemini = yield* collect(gemini).pipe(Effect.provide(gemini.layer(http)))
        expect(ModelResponse.fromChunks(fromGemini.chunks).toolCalls).toEqual([
          { id: "call_0", name: "get_weather", args: { city: "Tokyo" }, thoughtSignature: "c2ln" }
        ])
        expect(fromGemini.chunks.at(-1)?.finishReason).toBe("tool-calls")
      }))
  })

  describe("errors keep no token", () => {
    const [, ollama] = backends as [Backend, Backend, Backend]
    const forms = (error: unknown) => [
      String(error),
      (error as Error).message,
      JSON.stringify(error),
      inspect(error, { depth: 10 })
    ]

    it.effect("Decode on a non-JSON 200 and Transport on a destroyed socket: no token in message, JSON or inspect; the URL without its query", () =>
      Effect.gen(function*() {
        serve(ollama, {
          slices: [utf8("<html>not json</html>")],
          then: "end",
          headers: { "content-type": "text/html" }
        })
        const decode = yield* Effect.flip(Effect.flatMap(ModelService, (model) => model.generate(request(ollama))))
        expect(decode._tag).toBe("Decode")
        serve(ollama, { slices: [], then: "destroy" })
        const transport = yield* Effect.flip(Effect.flatMap(ModelService, (model) => model.generate(request(ollama))))
        expect(transport._tag).toBe("Transport")
        for (const error of [decode, transport]) {
          for (const form of forms(error)) {
            expect(form).not.toMatch(/eyJ[\w-]+\.[\w-]+/)
            expect(form.toLowerCase()).not.toContain("bearer ")
          }
          expect(error.message).toContain(`at ${url}/api/chat]`)
        }
      }).pipe(Effect.provide(ollama.layer(http))))

    it.effect("no ID token (the metadata server refuses it): CredentialsUnavailable wrapping the AuthError, no request sent", () =>
      Effect.gen(function*() {
        emulator.controls.fail("metadata.identity", { kind: "status", status: 403, body: "forbidden" })
        const before = requests
        const error = yield* Effect.flip(
          Effect.flatMap(ModelService, (model) => model.generate(request(ollama))).pipe(
            Effect.provide(
              Ollama.layer({ url, retry: RetryPolicy.none }).pipe(Layer.provide(emulatorBase(emulator, http)))
            )
          )
        )
        emulator.controls.clearFailures()
        expect(error._tag).toBe("CredentialsUnavailable")
        expect(error.message).toMatch(
          /^No token for the Ollama server \[model gemma3:4b at http:\/\/127\.0\.0\.1:\d+\/api\/chat\]: the request was not sent/
        )
        expect(requests).toBe(before)
      }))
  })

  describe("configuration", () => {
    it.effect.each(
      [
        ["GeminiApi baseUrl", () => GeminiApi.layer({ baseUrl: "http://gemini.example.com" }), "baseUrl"],
        [
          "ModelConfig's EFFECT_ADC_MODEL_URL",
          () => GeminiApi.layer({ baseUrl: "http://10.0.0.5:8080", urlSetting: "EFFECT_ADC_MODEL_URL" }),
          "EFFECT_ADC_MODEL_URL"
        ]
      ] as const
    )(
      "a plain-http non-loopback Gemini URL is refused before any request (%s)",
      ([, layer, setting]) =>
        Effect.gen(function*() {
          const before = requests
          const error = yield* Effect.flip(
            Effect.flatMap(ModelService, () => Effect.void).pipe(
              Effect.provide(layer().pipe(Layer.provide(emulatorBase(emulator, http))))
            )
          )
          expect(error._tag).toBe("ModelConfigError")
          expect(error.message).toMatch(new RegExp(`^${setting} is invalid .*not https`))
          expect(requests).toBe(before)
        })
    )

    it.effect("loopback http stays allowed (emulators)", () =>
      Effect.gen(function*() {
        serve(backends[0]!, { slices: [utf8(backends[0]!.body)], then: "end" })
        const { result } = yield* collect(backends[0]!)
        expect(Either.isRight(result)).toBe(true)
      }).pipe(Effect.provide(backends[0]!.layer(http))))
  })
})
