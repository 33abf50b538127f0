/**
 * Every recorded body in ../shared/fixtures/{gemini,ollama,openai-compat} decodes with
 * our Schemas into the normalised response, or translates into the right ModelError;
 * so do the recordings kept beside this file (`recordings/`, see its SOURCES.md).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { readdirSync, readFileSync } from "node:fs"
import * as Gemini from "../../src/model/gemini/internal/protocol.js"
import { fromResponse } from "../../src/model/internal/errors.js"
import * as Decoder from "../../src/model/internal/stream.js"
import * as ModelError from "../../src/model/ModelError.js"
import * as ModelResponse from "../../src/model/ModelResponse.js"
import * as Ollama from "../../src/model/ollama/internal/protocol.js"
import * as OpenAI from "../../src/model/openai/internal/protocol.js"
import { fixturesRoot, ssePayloads, textLines } from "./support.js"

const root = fixturesRoot
/** Recordings of the request surface (code execution, thinking levels, image output) kept beside the tests. */
const recordings = new URL("recordings/", import.meta.url)
const read = (path: string, from: URL = root) => readFileSync(new URL(path, from), "utf8")

/** The payloads of a streamed fixture, or undefined for a single body. */
const streamPayloads = (file: string, from: URL): Array<unknown> | undefined => {
  const text = read(file, from)
  if (file.endsWith(".events.jsonl") || file.endsWith(".ndjson")) return textLines(text).map((l) => JSON.parse(l))
  if (file.endsWith("-sse.txt") || file.endsWith(".sse")) {
    return ssePayloads(text).filter((p) => p !== "[DONE]").map((p) => JSON.parse(p))
  }
  return undefined
}

type Outcome =
  | { readonly _tag: "Right"; readonly response: ModelResponse.ModelResponse; readonly chunks: number }
  | { readonly _tag: "Left"; readonly error: ModelError.ModelError; readonly chunks: number }

const geminiBackend = (file: string): ModelError.Backend => file.includes("vertex-") ? "gemini-vertex" : "gemini-api"

const outcome = (file: string, from: URL = root): Outcome => {
  const text = read(file, from)
  const parsed = file.endsWith(".json") ? JSON.parse(text) as Record<string, unknown> : undefined
  const dir = file.split("/")[0]
  const backend: ModelError.Backend = dir === "gemini"
    ? geminiBackend(file)
    : dir === "ollama"
    ? "ollama"
    : "openai-compatible"
  if (parsed !== undefined && "status" in parsed && "body" in parsed) {
    const body = typeof parsed.body === "string" ? parsed.body : JSON.stringify(parsed.body)
    const headers = Object.fromEntries(
      Object.entries(parsed.headers as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v])
    )
    return { _tag: "Left", error: fromResponse({ backend, status: parsed.status as number, headers, body }), chunks: 0 }
  }
  const payloads = streamPayloads(file, from)
  if (payloads === undefined) {
    const result = dir === "gemini"
      ? Either.flatMap(
        Gemini.decodeResponse({ backend }, parsed),
        (body) => Gemini.normalise({ backend }, body, parsed)
      )
      : dir === "ollama"
      ? Either.flatMap(
        Ollama.decodeResponse({ backend }, parsed),
        (body) => Ollama.normalise({ backend }, body, parsed)
      )
      : Either.flatMap(
        OpenAI.decodeResponse({ backend }, parsed),
        (body) => OpenAI.normalise({ backend }, body, parsed)
      )
    return Either.isRight(result)
      ? { _tag: "Right", response: result.right, chunks: 0 }
      : { _tag: "Left", error: result.left, chunks: 0 }
  }
  // streams: the whole recorded body through the real decoder (UTF-8, framing, protocol)
  const context = { backend }
  const sse = file.endsWith("-sse.txt") || file.endsWith(".sse")
  const protocol = dir === "gemini"
    ? () => new Gemini.StreamState(context)
    : dir === "ollama"
    ? () => new Ollama.StreamState(context)
    : () => new OpenAI.StreamState(context)
  const collected: Array<ModelResponse.ModelStreamChunk> = []
  const result = Effect.runSync(
    Stream.make(new TextEncoder().encode(text)).pipe(
      Decoder.decode(sse ? Decoder.sse : Decoder.ndjson, protocol),
      Stream.runForEach((chunk) => Effect.sync(() => collected.push(chunk))),
      Effect.either
    )
  )
  return Either.isRight(result)
    ? { _tag: "Right", response: ModelResponse.fromChunks(collected), chunks: collected.length }
    : { _tag: "Left", error: result.left, chunks: collected.length }
}

const ok = (check: (r: ModelResponse.ModelResponse, chunks: number) => void) => (o: Outcome) => {
  if (o._tag === "Left") throw new Error(`expected a response, got ${o.error._tag}: ${o.error.message}`)
  check(o.response, o.chunks)
}

type Tagged<T extends ModelError.ModelError["_tag"]> = Extract<ModelError.ModelError, { readonly _tag: T }>

const hasTag = <T extends ModelError.ModelError["_tag"]>(error: ModelError.ModelError, tag: T): error is Tagged<T> =>
  error._tag === tag

const fails = <T extends ModelError.ModelError["_tag"]>(
  tag: T,
  check: (e: Tagged<T>, chunks: number) => void = () => {}
) =>
(o: Outcome) => {
  if (o._tag === "Right") throw new Error(`expected ${tag}, got a response`)
  expect(o.error._tag).toBe(tag)
  expect(ModelError.isModelError(o.error)).toBe(true)
  expect(o.error.message).not.toMatch(/ya29\.|eyJ[A-Za-z0-9_-]{10,}\./)
  if (!hasTag(o.error, tag)) throw new Error(`expected ${tag}, got ${o.error._tag}`)
  check(o.error, o.chunks)
}

const expectations: Record<string, (o: Outcome) => void> = {
  // ---------------------------------------------------------------- gemini
  "gemini/api-count-tokens.json": () => {
    const result = Gemini.decodeCountTokens({ backend: "gemini-api" }, JSON.parse(read("gemini/api-count-tokens.json")))
    expect(Either.getOrThrow(result).totalTokens).toBe(11)
  },
  "gemini/vertex-count-tokens.json": () => {
    const result = Gemini.decodeCountTokens(
      { backend: "gemini-vertex" },
      JSON.parse(read("gemini/vertex-count-tokens.json"))
    )
    expect(Either.getOrThrow(result)).toMatchObject({ totalTokens: 10, totalBillableCharacters: 36 })
  },
  "gemini/api-generate-citations.json": ok((r) => {
    expect(r.text).toMatch(/^The sky is blue for a few key reasons/)
    // the Gemini API's `citationSources` (Vertex says `citations`): offsets only, no uri
    expect(r.citations).toEqual([{ startIndex: 530, endIndex: 654 }, { startIndex: 1129, endIndex: 1275 }])
    expect(r.finishReason).toBe("stop")
    expect(r.responseId).toBeUndefined()
  }),
  "gemini/api-generate-function-call-thought-signature.json": ok((r) => {
    expect(r.finishReason).toBe("tool-calls")
    expect(r.toolCalls).toHaveLength(1)
    expect(r.toolCalls[0]).toMatchObject({
      id: "call_0",
      name: "concatStringFunction",
      args: { firstString: "hello", secondString: "world" }
    })
    expect(r.toolCalls[0]?.thoughtSignature).toMatch(/^CrcCAdHtim9L/)
    expect(r.content.parts[0]).toMatchObject({
      _tag: "functionCall",
      thoughtSignature: r.toolCalls[0]?.thoughtSignature
    })
    expect(r.usage).toEqual({ inputTokens: 65, outputTokens: 22, thoughtTokens: 69, totalTokens: 156 })
  }),
  "gemini/api-generate-max-tokens.json": ok((r) => {
    expect(r.finishReason).toBe("length")
    expect(r.rawFinishReason).toBe("MAX_TOKENS")
    expect(r.text).toMatch(/Here's a breakdown of$/)
    expect(r.modelVersion).toBe("gemini-2.0-flash")
  }),
  "gemini/api-generate-parallel-function-calls.json": ok((r) => {
    expect(r.toolCalls.map((c) => [c.id, c.name])).toEqual([["call_0", "print"], ["call_1", "beep"], [
      "call_2",
      "controlLight"
    ]])
    expect(r.toolCalls[1]?.args).toEqual({})
    expect(r.toolCalls[2]?.args).toEqual({ brightness: 50, colorTemperature: "warm" })
    expect(r.responseId).toBe("R0M3aNutNuWX7dcPgeeR-AI")
  }),
  "gemini/api-generate-prompt-blocked-no-candidates.json": fails("ContentBlocked", (e) => {
    expect(e.where).toBe("prompt")
    expect(e.blockReason).toBe("PROHIBITED_CONTENT")
    expect(e.isRetryable).toBe(false)
  }),
  "gemini/api-generate-structured-output.json": ok((r) => {
    expect(JSON.parse(r.text)).toMatchObject({ simpleString: "example", simpleInteger: 678 })
    expect(r.usage.cachedInputTokens).toBe(3)
  }),
  "gemini/api-generate-thought-empty-text-signature-max-tokens.json": ok((r) => {
    expect(r.text).toBe("")
    expect(r.thoughts).toMatch(/^\*\*Thinking Through the Calculation/)
    expect(r.finishReason).toBe("length")
    // the empty thought part carries the signature and must be kept for the next turn
    expect(r.content.parts[0]).toMatchObject({ _tag: "text", text: "", thought: true })
    expect((r.content.parts[0] as { thoughtSignature?: string }).thoughtSignature).toMatch(/^ADAxMjMU/)
    expect(r.usage.outputTokens).toBeUndefined()
  }),
  "gemini/api-generate-thought-summary.json": ok((r) => {
    expect(r.text).toBe("Mountain View")
    expect(r.thoughts).toMatch(/^\*\*Thinking About Google's Headquarters/)
    expect(r.usage.thoughtTokens).toBe(24)
  }),
  "gemini/api-stream-empty-text-thought-signature.events.jsonl": ok((r, chunks) => {
    expect(chunks).toBe(2)
    expect(r.serviceTier).toBe("standard")
    expect(r.usage.thoughtTokens).toBe(52)
    expect(r.text).toBe("4")
    expect(r.finishReason).toBe("stop")
    expect(r.content.parts.some((p) => p._tag === "text" && p.text === "" && p.thoughtSignature !== undefined))
      .toBe(true)
  }),
  "gemini/api-stream-final-chunk-content-without-parts-sse.txt": ok((r, chunks) => {
    expect(chunks).toBeGreaterThan(2)
    expect(r.text).toMatch(/^I will generate a 3D rendering/)
    expect(r.finishReason).toBe("stop")
    expect(r.usage.outputTokens).toBe(1370)
  }),
  "gemini/api-stream-function-call-sse.txt": ok((r, chunks) => {
    expect(chunks).toBe(1)
    expect(r.toolCalls).toEqual([{ id: "call_0", name: "customDivide", args: { numerator: 50, denominator: 2 } }])
    expect(r.finishReason).toBe("tool-calls")
  }),
  "gemini/api-stream-prompt-blocked-safety-sse.txt": fails("ContentBlocked", (e, chunks) => {
    expect(chunks).toBe(0)
    expect(e.where).toBe("prompt")
    expect(e.blockReason).toBe("SAFETY")
  }),
  "gemini/api-stream-sse.txt": ok((r) => {
    expect(r.text).toMatch(/^The title of the story isn't explicitly/)
    expect(r.text).toMatch(/Beneath the Oak Tree\*\*\n$/)
    // the final event's usage wins (promptTokenCount changes from 144 to 135)
    expect(r.usage).toEqual({ inputTokens: 135, outputTokens: 62, totalTokens: 197 })
  }),
  "gemini/api-stream-thinking-function-call-sse.txt": ok((r) => {
    expect(r.thoughts).toMatch(/^\*\*Calculating the Days/)
    expect(r.toolCalls).toHaveLength(1)
    expect(r.toolCalls[0]).toMatchObject({ name: "now", args: {} })
    expect(r.toolCalls[0]?.thoughtSignature).toMatch(/^CiIBVKhc7vB/)
    expect(r.finishReason).toBe("tool-calls")
  }),
  "gemini/error-400-api-key-invalid.json": fails("Unauthorized", (e) => {
    expect(e.errorReason).toBe("API_KEY_INVALID")
    expect(e.status).toBe(400)
    expect(e.message).toContain("never sends API keys")
  }),
  "gemini/error-400-invalid-argument.json": fails("InvalidRequest", (e) => {
    expect(e.detail).toBe("Penalty is not enabled for models/gemini-2.5-flash")
    expect(e.isRetryable).toBe(false)
  }),
  "gemini/error-403-service-disabled.json": fails("PermissionDenied", (e) => {
    expect(e.errorReason).toBe("SERVICE_DISABLED")
    expect(e.activationUrl).toMatch(/^https:\/\/console\.developers\.google\.com\/apis\/api\/generativelanguage/)
    expect(e.message).toContain("Enable the API")
  }),
  "gemini/error-404-model-not-found-on-stream.json": fails("NotFound", (e) => {
    expect(e.detail).toMatch(/^models\/custom-gemini-2\.0-flash is not found/)
  }),
  "gemini/error-429-rate-limit-errorinfo.json": fails("RateLimited", (e) => {
    expect(e.errorReason).toBe("RATE_LIMIT_EXCEEDED")
    expect(Option.isNone(e.retryAfter)).toBe(true)
    expect(e.isRetryable).toBe(true)
  }),
  "gemini/error-429-resource-exhausted-retryinfo.json": fails("RateLimited", (e) => {
    expect(e.retryAfterMillis).toBe(26_000)
    expect(e.message).toContain("26000 ms")
  }),
  "gemini/error-503-unavailable.json": fails("Unavailable", (e) => {
    expect(e.detail).toBe("The model is overloaded. Please try again later.")
    expect(e.isRetryable).toBe(true)
  }),
  "gemini/vertex-error-401-unauthenticated.json": fails("Unauthorized", (e) => {
    expect(e.backend).toBe("gemini-vertex")
    expect(e.errorReason).toBe("CREDENTIALS_MISSING")
  }),
  "gemini/vertex-error-403-permission-denied.json": fails("PermissionDenied", (e) => {
    expect(e.errorReason).toBe("IAM_PERMISSION_DENIED")
    expect(e.message).toContain("roles/aiplatform.user")
  }),
  "gemini/vertex-generate-finish-reason-safety.json": ok((r) => {
    // a filter stopped the answer: its content, ratings and usage are kept
    expect(r.finishReason).toBe("content-filter")
    expect(r.rawFinishReason).toBe("SAFETY")
    expect(r.text).toBe("<redacted>")
    expect(r.safetyRatings?.find((rating) => rating.blocked === true)?.category).toBe("HARM_CATEGORY_HARASSMENT")
    expect(r.usage.inputTokens).toBe(8)
    expect(r.modelVersion).toBe("gemini-1.5-flash")
  }),
  "gemini/vertex-generate-function-call.json": ok((r) => {
    expect(r.toolCalls).toEqual([{ id: "call_0", name: "print", args: { text: "hello", color: "blue" } }])
    expect(r.usage.totalTokens).toBe(25)
  }),
  "gemini/vertex-generate-max-tokens-content-without-parts.json": ok((r) => {
    expect(r.text).toBe("")
    expect(r.content.parts).toEqual([])
    expect(r.finishReason).toBe("length")
  }),
  "gemini/vertex-generate-prompt-blocked-safety.json": fails("ContentBlocked", (e) => {
    expect(e.where).toBe("prompt")
    expect(e.blockReason).toBe("SAFETY")
  }),
  "gemini/vertex-generate-structured-output.json": ok((r) => {
    expect(JSON.parse(r.text)).toMatchObject({ simpleInteger: 42, simpleString: "anotherSimpleString" })
    expect(r.responseId).toBe("kS77aKaPCK2g3NoPg96PgAY")
  }),
  "gemini/vertex-generate-text-usage-metadata.json": ok((r) => {
    expect(r.text).toBe("low")
    expect(r.usage.outputTokens).toBe(1)
  }),
  "gemini/vertex-stream-malformed-function-call.events.jsonl": ok((r) => {
    expect(r.finishReason).toBe("malformed-tool-call")
    expect(r.rawFinishReason).toBe("MALFORMED_FUNCTION_CALL")
    expect(r.toolCalls).toEqual([])
    expect(r.usage.inputTokens).toBe(20)
  }),
  "gemini/vertex-stream-max-tokens-sse.txt": ok((r) => {
    expect(r.finishReason).toBe("length")
    expect(r.text).toMatch(/^The sky is blue due to a phenomenon/)
  }),
  "gemini/vertex-stream-partial-function-call-args.events.jsonl": ok((r) => {
    expect(r.toolCalls).toHaveLength(1)
    expect(r.toolCalls[0]).toMatchObject({
      name: "getCurrentWeather",
      args: { country: "USA", location: "NewYorkCity", purpose: "to know what to wear today", unit: "C" }
    })
    expect(r.toolCalls[0]?.thoughtSignature).toMatch(/^CiQB4/)
    expect(r.finishReason).toBe("tool-calls")
    expect(r.usage.thoughtTokens).toBe(93)
  }),
  "gemini/vertex-stream-sse.txt": ok((r, chunks) => {
    expect(chunks).toBeGreaterThan(3)
    expect(r.text).toMatch(/^The sky is blue due to a phenomenon called \*\*Rayleigh scattering\*\*/)
    expect(r.usage).toEqual({ inputTokens: 6, outputTokens: 407, totalTokens: 413 })
    expect(r.responseId).toBe("MN0kaI9I2Jqb0g-g2eOJCQ")
  }),
  // ---------------------------------------------------------------- ollama
  "ollama/chat-nonstream-structured-output.json": ok((r) => {
    expect(JSON.parse(r.text)).toEqual({ age: 22, available: false })
    expect(r.usage).toEqual({ inputTokens: 34, outputTokens: 12, totalTokens: 46 })
  }),
  "ollama/chat-nonstream-tool-call.json": ok((r) => {
    expect(r.toolCalls).toEqual([{ id: "call_0", name: "get_weather", args: { city: "Tokyo" } }])
    expect(r.finishReason).toBe("tool-calls")
    expect(r.text).toBe("")
  }),
  "ollama/chat-nonstream.json": ok((r) => {
    expect(r.text).toBe("The answer to 1 + 1 is **2**.")
    expect(r.finishReason).toBe("stop")
    expect(r.modelVersion).toBe("qwen3:4b-instruct")
  }),
  "ollama/chat-stream-load-progress-truncated.ndjson": fails("StreamTruncated", (_e, chunks) => {
    // the chunks before the cut were delivered
    expect(chunks).toBe(7)
  }),
  "ollama/chat-stream-tool-call.ndjson": ok((r) => {
    expect(r.toolCalls).toEqual([{ id: "call_0", name: "get_weather", args: { city: "Tokyo" } }])
    expect(r.finishReason).toBe("tool-calls")
    expect(r.usage.inputTokens).toBe(169)
  }),
  "ollama/error-400-invalid-json.json": fails("InvalidRequest", (e) => {
    expect(e.detail).toBe("invalid character 'm' looking for beginning of object key string")
  }),
  "ollama/error-404-model-not-found.json": fails("NotFound", (e) => {
    expect(e.detail).toBe("model 'custom-phi3-32k-Q4_K_M' not found")
    expect(e.message).toContain("ollama pull")
  }),
  "ollama/generate-load-done-reason.json": ok((r) => {
    expect(r.finishReason).toBe("other")
    expect(r.rawFinishReason).toBe("load")
  }),
  "ollama/generate-nonstream-structured-output.json": ok((r) => {
    expect(JSON.parse(r.text)).toEqual({ age: 22, available: true })
  }),
  "ollama/generate-nonstream-thinking.json": ok((r) => {
    expect(r.text).toBe("Soft, playful, nimble.")
    expect(r.thoughts).toMatch(/^We have a user/)
    expect(r.finishReason).toBe("unknown")
  }),
  "ollama/generate-stream-error-midstream.ndjson": fails("ServerError", (e, chunks) => {
    expect(chunks).toBe(4)
    expect(e.detail).toBe("an error was encountered while running the model")
    expect(e.status).toBeUndefined()
  }),
  "ollama/generate-stream-with-context.ndjson": ok((r) => {
    expect(r.text).toBe(" you today?")
    expect(r.finishReason).toBe("unknown")
    expect(r.usage.outputTokens).toBe(9)
  }),
  "ollama/generate-stream.ndjson": ok((r, chunks) => {
    expect(chunks).toBe(12)
    expect(r.text).toBe("Fluffy, hoppy, twitchy.")
    expect(r.finishReason).toBe("stop")
  }),
  "ollama/generate-unload-done-reason.json": ok((r) => {
    expect(r.rawFinishReason).toBe("unload")
  }),
  // ---------------------------------------------------------------- openai-compat
  "openai-compat/vllm-chat-finish-length-think-inline.json": ok((r) => {
    expect(r.finishReason).toBe("length")
    expect(r.text).toMatch(/^<think>\nOkay/)
    expect(r.usage).toEqual({ inputTokens: 12, outputTokens: 100, totalTokens: 112 })
  }),
  "openai-compat/vllm-chat-null-extension-fields.json": ok((r) => {
    expect(r.text).toBe("The text in the illustration is: **TONGYI Qwen**")
    expect(r.toolCalls).toEqual([])
    expect(r.modelVersion).toBe("Qwen/Qwen3-VL-8B-Instruct")
  }),
  "openai-compat/vllm-chat-tool-call.json": ok((r) => {
    expect(r.toolCalls).toEqual([{
      id: "chatcmpl-tool-a0d9e21c09c5480f82d7a92da78ce3ca",
      name: "searchGoogle",
      args: { query: "latest news on ai" }
    }])
    expect(r.finishReason).toBe("tool-calls")
    expect(r.text).toBe("")
  }),
  "openai-compat/vllm-error-400-flat.json": fails("InvalidRequest", (e) => {
    expect(e.detail).toMatch(/^Model "BAAI\/bge-m3" does not support matryoshka/)
  }),
  "openai-compat/vllm-error-404-model-not-found-flat.json": fails("NotFound", (e) => {
    expect(e.detail).toBe("The model `openai/whisper-tiny.en` does not exist.")
    expect(e.message).toContain("/v1/models")
  }),
  "openai-compat/vllm-stream-head-truncated.sse": fails("StreamTruncated", (_e, chunks) => {
    expect(chunks).toBe(6)
  }),
  "openai-compat/vllm-stream-tool-call-finish-chunk.sse": ok((r) => {
    // only the finishing chunk was recorded: its empty-arguments fragment has no name
    expect(r.finishReason).toBe("tool-calls")
    expect(r.toolCalls).toEqual([])
    expect(r.usage).toEqual({ inputTokens: 226, outputTokens: 20, totalTokens: 246 })
  })
}

/** The recordings kept beside the tests (test/model/recordings). */
const surfaceExpectations: Record<string, (o: Outcome) => void> = {
  "gemini/vai-code-execution-multiple-results.json": ok((r) => {
    // code and results are parts of their own kinds; the text is the model's prose only
    expect(r.text).toMatch(/^The code execution resulted in the following output:/)
    expect(r.text).not.toContain("print('ok')")
    const runs = ModelResponse.codeExecutions(r.content.parts)
    expect(runs).toHaveLength(1)
    expect(runs[0]?.code).toMatchObject({ language: "PYTHON", code: "print('ok')\nprint(1/0)" })
    expect(runs[0]?.code.thoughtSignature).toMatch(/^EjQKMgFyyNp8VRG2/)
    expect(runs[0]?.results.map((result) => result.outcome)).toEqual(["OUTCOME_OK", "OUTCOME_FAILED"])
    expect(runs[0]?.results[1]?.output).toMatch(/ZeroDivisionError/)
    expect(r.usage).toEqual({ inputTokens: 23, outputTokens: 35, toolUseInputTokens: 289, totalTokens: 347 })
  }),
  "gemini/vai-image-gemini-3.1-flash-image.json": ok((r) => {
    // the generated image is an inline-data part with the signature to send back
    expect(r.text).toBe("")
    expect(r.content.parts).toEqual([{
      _tag: "inlineData",
      mimeType: "image/jpeg",
      data: "<redacted live image data; length=439196>",
      thoughtSignature: "<redacted thought signature; length=597616>"
    }])
    expect(r.serviceTier).toBe("standard")
  }),
  "gemini/vai-thinking-level-low-success.json": ok((r) => {
    expect(r.text).toBe("OK")
    expect(r.thoughts).toBeUndefined()
    expect(r.usage.thoughtTokens).toBeUndefined()
    expect(r.serviceTier).toBe("standard")
  })
}

describe("recordings of the request surface", () => {
  it("every recording has an expectation", () => {
    expect(readdirSync(new URL("gemini/", recordings)).map((name) => `gemini/${name}`).sort()).toEqual(
      Object.keys(surfaceExpectations).sort()
    )
  })
  for (const [file, check] of Object.entries(surfaceExpectations)) {
    it(file, () => check(outcome(file, recordings)))
  }
})

describe("recorded fixtures", () => {
  it("every fixture file has an expectation", () => {
    const files = ["gemini", "ollama", "openai-compat"].flatMap((dir) =>
      readdirSync(new URL(`${dir}/`, root)).map((name) => `${dir}/${name}`)
    )
    expect(files.sort()).toEqual(Object.keys(expectations).sort())
  })
  for (const [file, check] of Object.entries(expectations)) {
    it(file, () => check(file.includes("count-tokens") ? ({} as Outcome) : outcome(file)))
  }
})
