/**
 * The request surface on the Cloud Run backends (Ollama, vLLM's OpenAI-compatible
 * API), end to end through ModelService behind the Cloud Run front door: thinking and
 * its thoughts (Ollama `thinking`, vLLM `reasoning_content` and `reasoning`) in
 * generate and stream, calling modes, the pass-through, with the exact wire body; and
 * every feature a backend cannot honour failing with `Unsupported` before any request.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as ModelError from "../../src/model/ModelError.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import * as ModelResponse from "../../src/model/ModelResponse.js"
import { ModelService } from "../../src/model/ModelService.js"
import { at, jsonArray } from "../support/json.js"
import { collect, generate, useSurface } from "./surfaceSupport.js"

const surface = useSurface()

const user = (text: string) => [ModelRequest.user(text)]

const weather: ModelRequest.Tool = {
  name: "get_weather",
  parameters: { type: "object", properties: { city: { type: "string" } } }
}
const time: ModelRequest.Tool = { name: "get_time", parameters: { type: "object", properties: {} } }

describe("Ollama", () => {
  const run = <A, E>(effect: Effect.Effect<A, E, ModelService>) => surface.run(surface.layers.ollama(), effect)
  const sent = () => {
    expect(surface.ollama.requests).toHaveLength(1)
    return surface.ollama.requests[0]?.body
  }

  it.effect("thinking level → think: the level; `thinking` comes back as thoughts, apart from the text", () =>
    run(Effect.gen(function*() {
      const request = { model: "gemma3:4b", contents: user("why blue"), thinking: { level: "high" } } as const
      const response = yield* generate(request)
      expect(sent()).toEqual({
        model: "gemma3:4b",
        messages: [{ role: "user", content: "why blue" }],
        stream: false,
        think: "high"
      })
      expect(response.text).toBe("Echo: why blue")
      expect(response.thoughts).toBe("Thinking about: why blue in depth")
      surface.ollama.reset()
      const chunks = yield* collect(request)
      expect(at(surface.ollama.requests[0]?.body, "think")).toBe("high")
      expect(chunks.map((c) => c.thoughtDelta ?? "").join("")).toBe("Thinking about: why blue in depth")
      expect(chunks.map((c) => c.textDelta).join("")).toBe("Echo: why blue")
      expect(ModelResponse.fromChunks(chunks).thoughts).toBe(response.thoughts)
    })))

  it.effect("includeThoughts true → think: true; false → think: false and no thoughts", () =>
    run(Effect.gen(function*() {
      const on = yield* generate({ model: "gemma3:4b", contents: user("x"), thinking: { includeThoughts: true } })
      expect(at(sent(), "think")).toBe(true)
      expect(on.thoughts).toBe("Thinking about: x")
      surface.ollama.reset()
      const off = yield* generate({ model: "gemma3:4b", contents: user("x"), thinking: { includeThoughts: false } })
      expect(at(sent(), "think")).toBe(false)
      expect(off.thoughts).toBeUndefined()
    })))

  it.effect("auto with allowedFunctionNames sends only the allowed tools; providerOptions.ollama merged into the body", () =>
    run(Effect.gen(function*() {
      const response = yield* generate({
        model: "gemma3:4b",
        contents: user("get_time please"),
        tools: [weather, time],
        toolChoice: { mode: "auto", allowedFunctionNames: ["get_time"] },
        generation: { temperature: 0 },
        providerOptions: { ollama: { keep_alive: "10m", options: { num_ctx: 8192 } }, gemini: { labels: { a: "b" } } }
      })
      expect(sent()).toEqual({
        model: "gemma3:4b",
        messages: [{ role: "user", content: "get_time please" }],
        stream: false,
        tools: [{ type: "function", function: { name: "get_time", parameters: time.parameters } }],
        options: { temperature: 0, num_ctx: 8192 },
        keep_alive: "10m"
      })
      expect(response.toolCalls.map((c) => c.name)).toEqual(["get_time"])
    })))
})

describe("vLLM (OpenAI-compatible)", () => {
  const run = <A, E>(effect: Effect.Effect<A, E, ModelService>) =>
    surface.run(surface.layers["openai-compatible"](), effect)
  const sent = () => {
    expect(surface.vllm.requests).toHaveLength(1)
    return surface.vllm.requests[0]?.body
  }

  it.effect("thinking → reasoning_effort, include_reasoning, thinking_token_budget; reasoning_content as thoughts; reasoning tokens", () =>
    run(Effect.gen(function*() {
      const request = {
        model: "google/gemma-3-4b-it",
        contents: user("why is it blue"),
        thinking: { level: "medium", includeThoughts: true, budget: 3 }
      } as const
      const response = yield* generate(request)
      expect(sent()).toEqual({
        model: "google/gemma-3-4b-it",
        messages: [{ role: "user", content: "why is it blue" }],
        stream: false,
        reasoning_effort: "medium",
        include_reasoning: true,
        thinking_token_budget: 3
      })
      expect(response.text).toBe("Echo: why is it blue")
      expect(response.thoughts).toBe("Thinking about: why")
      expect(response.usage).toMatchObject({ thoughtTokens: 3, outputTokens: 8 })
      surface.vllm.reset()
      const chunks = yield* collect(request)
      expect(at(surface.vllm.requests[0]?.body, "stream_options")).toEqual({ include_usage: true })
      expect(chunks.map((c) => c.thoughtDelta ?? "").join("")).toBe("Thinking about: why")
      expect(chunks.map((c) => c.textDelta).join("")).toBe("Echo: why is it blue")
      expect(chunks.at(-1)?.usage?.thoughtTokens).toBe(3)
    })))

  it.effect("include_reasoning false: the thinking is counted but not returned", () =>
    run(Effect.gen(function*() {
      const response = yield* generate({
        model: "google/gemma-3-4b-it",
        contents: user("x"),
        thinking: { level: "low", includeThoughts: false }
      })
      expect(sent()).toMatchObject({ reasoning_effort: "low", include_reasoning: false })
      expect(response.thoughts).toBeUndefined()
      expect(response.text).toBe("Echo: x")
      expect(response.usage.thoughtTokens).toBe(3)
    })))

  it.effect("a server answering in `reasoning` (vLLM's newer name): the same thoughts, generate and stream", () =>
    surface.run(
      surface.layers["openai-compatible-reasoning"](),
      Effect.gen(function*() {
        const request = { model: "google/gemma-3-4b-it", contents: user("hello"), thinking: { level: "high" } } as const
        const response = yield* generate(request)
        expect(at(surface.vllmReasoning.requests[0]?.body, "reasoning_effort")).toBe("high")
        expect(response.thoughts).toBe("Thinking about: hello in depth")
        expect(response.text).toBe("Echo: hello")
        const chunks = yield* collect(request)
        expect(chunks.map((c) => c.thoughtDelta ?? "").join("")).toBe("Thinking about: hello in depth")
        expect(chunks.map((c) => c.textDelta).join("")).toBe("Echo: hello")
      })
    ))

  it.effect("mode any with one allowed function names it; with several, required and only those tools", () =>
    run(Effect.gen(function*() {
      const one = yield* generate({
        model: "google/gemma-3-4b-it",
        contents: user("anything"),
        tools: [weather, time],
        toolChoice: { mode: "any", allowedFunctionNames: ["get_time"] }
      })
      expect(sent()).toMatchObject({
        tools: [{ type: "function", function: { name: "get_time" } }],
        tool_choice: { type: "function", function: { name: "get_time" } }
      })
      expect(one.toolCalls.map((c) => c.name)).toEqual(["get_time"])
      surface.vllm.reset()
      yield* generate({
        model: "google/gemma-3-4b-it",
        contents: user("anything"),
        tools: [weather, time, { ...time, name: "get_date" }],
        toolChoice: { mode: "any", allowedFunctionNames: ["get_time", "get_weather"] }
      })
      expect(at(sent(), "tool_choice")).toBe("required")
      expect(jsonNames(at(sent(), "tools"))).toEqual(["get_weather", "get_time"])
    })))

  it.effect("providerOptions.openai merged into the body: Qwen-style chat_template_kwargs turn reasoning on", () =>
    run(Effect.gen(function*() {
      const response = yield* generate({
        model: "google/gemma-3-4b-it",
        contents: user("q"),
        generation: { maxOutputTokens: 64 },
        providerOptions: { openai: { chat_template_kwargs: { enable_thinking: true }, repetition_penalty: 1.1 } }
      })
      expect(sent()).toEqual({
        model: "google/gemma-3-4b-it",
        messages: [{ role: "user", content: "q" }],
        stream: false,
        max_tokens: 64,
        chat_template_kwargs: { enable_thinking: true },
        repetition_penalty: 1.1
      })
      expect(response.thoughts).toBe("Thinking about: q")
    })))
})

/** A request asking for one feature a backend cannot honour. */
interface UnsupportedCase {
  readonly feature: ModelError.Feature
  readonly request: Partial<ModelRequest.ModelRequest>
}

const geminiOnly: ReadonlyArray<UnsupportedCase> = [
  { feature: "safety", request: { safety: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }] } },
  { feature: "cachedContent", request: { cachedContent: "cachedContents/abc" } },
  { feature: "serviceTier", request: { serviceTier: "flex" } },
  { feature: "labels", request: { labels: { team: "a" } } },
  { feature: "responseModalities", request: { responseModalities: ["text", "image"] } },
  { feature: "mediaResolution", request: { mediaResolution: "high" } },
  { feature: "googleSearch", request: { builtInTools: { googleSearch: true } } },
  { feature: "codeExecution", request: { builtInTools: { codeExecution: true } } },
  { feature: "urlContext", request: { builtInTools: { urlContext: true } } },
  { feature: "thinking.level", request: { thinking: { level: "minimal" } } },
  { feature: "toolChoice", request: { tools: [weather], toolChoice: { mode: "validated" } } }
]

const cases: ReadonlyArray<readonly [backend: "ollama" | "openai-compatible", UnsupportedCase]> = [
  ...geminiOnly.map((c) => ["openai-compatible", c] as const),
  ...geminiOnly.map((c) => ["ollama", c] as const),
  ["ollama", { feature: "thinking.budget", request: { thinking: { budget: 1024 } } }],
  ["ollama", { feature: "thinking.includeThoughts", request: { thinking: { level: "low", includeThoughts: false } } }],
  ["ollama", { feature: "toolChoice", request: { tools: [weather], toolChoice: "required" } }],
  ["ollama", { feature: "toolChoice", request: { tools: [weather], toolChoice: { tool: "get_weather" } } }]
]

describe("Unsupported before any request", () => {
  it.effect(`${cases.length} (backend, feature) cases: generate and stream fail with Unsupported, 0 requests sent`, () =>
    Effect.forEach(cases, ([backend, { feature, request }]) =>
      surface.run(
        surface.layers[backend](),
        Effect.gen(function*() {
          const model = yield* ModelService
          const full = {
            model: backend === "ollama" ? "gemma3:4b" : "google/gemma-3-4b-it",
            contents: user("x"),
            ...request
          }
          const generated = yield* Effect.flip(model.generate(full))
          const streamed = yield* Effect.flip(Stream.runCollect(model.stream(full)))
          for (const error of [generated, streamed]) {
            expect(error._tag, `${backend} ${feature}`).toBe("Unsupported")
            if (error._tag !== "Unsupported") continue
            expect({ backend: error.backend, feature: error.feature, model: error.model }).toEqual({
              backend,
              feature,
              model: full.model
            })
            expect(error.message).toContain(`providerOptions.${backend === "ollama" ? "ollama" : "openai"}`)
            expect(error.isRetryable).toBe(false)
          }
          expect(surface.requestCount(), `${backend} ${feature}`).toBe(0)
        })
      ), { discard: true }))
})

/** The function names of a recorded `tools` array. */
const jsonNames = (tools: unknown): ReadonlyArray<unknown> =>
  jsonArray(tools).map((tool) => at(tool, "function", "name"))
