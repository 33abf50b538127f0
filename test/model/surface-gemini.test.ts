/**
 * The request surface on the two Gemini backends, end to end through ModelService
 * against the Gemini emulator: each feature's exact wire body, and the normalised
 * answer (thoughts, grounding, code, images never in the text), in generate and stream.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import * as ModelResponse from "../../src/model/ModelResponse.js"
import type { ModelService } from "../../src/model/ModelService.js"
import { at } from "../support/json.js"
import { collect, generate, useSurface } from "./surfaceSupport.js"

const surface = useSurface()

const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

/** The body of the one request the Gemini emulator received. */
const sentBody = () => {
  expect(surface.gemini.requests).toHaveLength(1)
  return surface.gemini.requests[0]?.body
}

const user = (text: string) => [ModelRequest.user(text)]

describe.each(["gemini-api", "gemini-vertex"] as const)("%s", (backend) => {
  const run = <A, E>(effect: Effect.Effect<A, E, ModelService>) => surface.run(surface.layers[backend](), effect)

  it.effect("thinking: level and includeThoughts → thinkingConfig; thoughts apart from the text; thought tokens", () =>
    run(Effect.gen(function*() {
      const request = {
        model: "gemini-3-flash",
        contents: user("why is the sky blue"),
        thinking: { level: "high", includeThoughts: true }
      } as const
      const response = yield* generate(request)
      expect(sentBody()).toEqual({
        contents: [{ role: "user", parts: [{ text: "why is the sky blue" }] }],
        generationConfig: { thinkingConfig: { includeThoughts: true, thinkingLevel: "HIGH" } }
      })
      expect(response.text).toBe("Echo: why is the sky blue")
      expect(response.thoughts).toBe("Thinking about: why is the sky blue")
      expect(response.content.parts[0]).toEqual({
        _tag: "text",
        text: "Thinking about: why is the sky blue",
        thought: true
      })
      expect(response.usage.thoughtTokens).toBe(15)
      surface.gemini.reset()
      const chunks = yield* collect(request)
      expect(chunks[0]?.thoughtDelta).toBe("Thinking about: why is the sky blue")
      expect(chunks[0]?.textDelta).toBe("")
      expect(chunks.map((c) => c.textDelta).join("")).toBe("Echo: why is the sky blue")
      const folded = ModelResponse.fromChunks(chunks)
      expect(folded.thoughts).toBe(response.thoughts)
      expect(folded.usage.thoughtTokens).toBe(15)
    })))

  it.effect("thinking: a budget of 0 → thinkingBudget 0; no thoughts, no thought tokens", () =>
    run(Effect.gen(function*() {
      const response = yield* generate({ model: "gemini-2.5-flash", contents: user("hi"), thinking: { budget: 0 } })
      expect(sentBody()).toEqual({
        contents: [{ role: "user", parts: [{ text: "hi" }] }],
        generationConfig: { thinkingConfig: { thinkingBudget: 0 } }
      })
      expect(response.thoughts).toBeUndefined()
      expect(response.usage.thoughtTokens).toBeUndefined()
    })))

  it.effect("safety: safetySettings sent as given; BLOCK_NONE on hate speech lets the flagged prompt through", () =>
    run(Effect.gen(function*() {
      const blocked = yield* Effect.flip(generate({ model: "gemini-2.5-flash", contents: user("[[safety]] x") }))
      expect(blocked._tag).toBe("ContentBlocked")
      surface.gemini.reset()
      const safety = [
        { category: "HARM_CATEGORY_HATE_SPEECH", threshold: "BLOCK_NONE" },
        { category: "HARM_CATEGORY_DANGEROUS_CONTENT", threshold: "BLOCK_ONLY_HIGH", method: "SEVERITY" }
      ] as const
      const response = yield* generate({ model: "gemini-2.5-flash", contents: user("[[safety]] x"), safety })
      expect(sentBody()).toEqual({
        contents: [{ role: "user", parts: [{ text: "[[safety]] x" }] }],
        safetySettings: safety
      })
      expect(response.text).toBe("Echo: x")
    })))

  it.effect("cachedContent, serviceTier, labels, mediaResolution reach the body; the tier and cached tokens come back", () =>
    run(Effect.gen(function*() {
      const response = yield* generate({
        model: "gemini-2.5-flash",
        contents: user("summarise"),
        cachedContent: "cachedContents/abc123",
        serviceTier: "flex",
        labels: { team: "search", env: "test" },
        mediaResolution: "low"
      })
      expect(sentBody()).toEqual({
        contents: [{ role: "user", parts: [{ text: "summarise" }] }],
        cachedContent: "cachedContents/abc123",
        serviceTier: "flex",
        labels: { team: "search", env: "test" },
        generationConfig: { mediaResolution: "MEDIA_RESOLUTION_LOW" }
      })
      expect(response.serviceTier).toBe("flex")
      expect(response.usage.cachedInputTokens).toBe(1024)
    })))

  it.effect("responseModalities image: the image is an inline-data part with its signature, sent back verbatim", () =>
    run(Effect.gen(function*() {
      const request = {
        model: "gemini-3-pro-image",
        contents: user("draw a dot"),
        responseModalities: ["text", "image"]
      } as const
      const response = yield* generate(request)
      expect(at(sentBody(), "generationConfig")).toEqual({ responseModalities: ["TEXT", "IMAGE"] })
      expect(response.text).toBe("Echo: draw a dot")
      const image = { _tag: "inlineData", mimeType: "image/png", data: png, thoughtSignature: "ZW11bGF0b3ItaW1hZ2U" }
      expect(response.content.parts).toEqual([{ _tag: "text", text: "Echo: draw a dot" }, image])
      surface.gemini.reset()
      const chunks = yield* collect(request)
      expect(chunks.flatMap((c) => c.parts).filter((p) => p._tag === "inlineData")).toEqual([image])
      expect(chunks.map((c) => c.textDelta).join("")).toBe("Echo: draw a dot")
      surface.gemini.reset()
      yield* generate({
        model: "gemini-3-pro-image",
        contents: [...user("draw a dot"), response.content, ...user("again")]
      })
      expect(surface.gemini.requests[0]?.body).toMatchObject({
        contents: [{}, {
          role: "model",
          parts: [{ text: "Echo: draw a dot" }, {
            inlineData: { mimeType: "image/png", data: png },
            thoughtSignature: "ZW11bGF0b3ItaW1hZ2U"
          }]
        }, {}]
      })
    })))

  it.effect("Google Search grounding: googleSearch tool sent; queries, sources, supports and entry point normalised", () =>
    run(Effect.gen(function*() {
      const request = {
        model: "gemini-2.5-flash",
        contents: user("who won"),
        builtInTools: { googleSearch: { excludeDomains: ["example.org"] } }
      } as const
      const response = yield* generate(request)
      expect(sentBody()).toEqual({
        contents: [{ role: "user", parts: [{ text: "who won" }] }],
        tools: [{ googleSearch: { excludeDomains: ["example.org"] } }]
      })
      expect(response.text).toBe("Echo: who won")
      const grounding: ModelResponse.Grounding = {
        queries: ["who won"],
        sources: [{
          kind: "web",
          uri: "https://vertexaisearch.cloud.google.com/grounding-api-redirect/ZW11bGF0b3I",
          title: "example.com",
          domain: "example.com"
        }],
        supports: [{
          text: "Echo: who won",
          startIndex: 0,
          endIndex: 13,
          partIndex: undefined,
          sourceIndices: [0],
          confidenceScores: [0.9]
        }],
        searchEntryPoint: { renderedContent: "<div class=\"container\">who won</div>" },
        urls: []
      }
      expect(response.grounding).toEqual(grounding)
      expect(response.usage.toolUseInputTokens).toBe(12)
      surface.gemini.reset()
      const chunks = yield* collect(request)
      expect(chunks.at(-1)?.finish?.grounding).toEqual(grounding)
      expect(chunks.map((c) => c.textDelta).join("")).toBe("Echo: who won")
    })))

  it.effect("code execution: executableCode and codeExecutionResult parts, never in the text; sent back in history", () =>
    run(Effect.gen(function*() {
      const request = {
        model: "gemini-2.5-flash",
        contents: user("compute"),
        builtInTools: { codeExecution: true }
      } as const
      const response = yield* generate(request)
      expect(sentBody()).toEqual({
        contents: [{ role: "user", parts: [{ text: "compute" }] }],
        tools: [{ codeExecution: {} }]
      })
      expect(response.text).toBe("Echo: compute")
      expect(ModelResponse.codeExecutions(response.content.parts)).toEqual([{
        code: { _tag: "executableCode", language: "PYTHON", code: "print(\"Echo: compute\")" },
        results: [{ _tag: "codeExecutionResult", outcome: "OUTCOME_OK", output: "Echo: compute\n" }]
      }])
      surface.gemini.reset()
      const chunks = yield* collect(request)
      expect(chunks.map((c) => c.textDelta).join("")).toBe("Echo: compute")
      expect(ModelResponse.fromChunks(chunks).content).toEqual(response.content)
      surface.gemini.reset()
      yield* generate({ model: "gemini-2.5-flash", contents: [...user("compute"), response.content, ...user("more")] })
      expect(surface.gemini.requests[0]?.body).toMatchObject({
        contents: [{}, {
          role: "model",
          parts: [
            { executableCode: { language: "PYTHON", code: "print(\"Echo: compute\")" } },
            { codeExecutionResult: { outcome: "OUTCOME_OK", output: "Echo: compute\n" } },
            { text: "Echo: compute" }
          ]
        }, {}]
      })
    })))

  it.effect("URL context: urlContext tool sent; the URLs read and their status in grounding.urls", () =>
    run(Effect.gen(function*() {
      const response = yield* generate({
        model: "gemini-2.5-flash",
        contents: user("compare https://a.example/x and https://b.example/y"),
        builtInTools: { urlContext: true }
      })
      expect(sentBody()).toMatchObject({ tools: [{ urlContext: {} }] })
      expect(response.grounding?.urls).toEqual([
        { url: "https://a.example/x", status: "URL_RETRIEVAL_STATUS_SUCCESS" },
        { url: "https://b.example/y", status: "URL_RETRIEVAL_STATUS_SUCCESS" }
      ])
      expect(response.grounding?.sources).toEqual([])
    })))

  it.effect("function calling modes: validated and any with allowedFunctionNames reach toolConfig", () =>
    run(Effect.gen(function*() {
      const tools = [
        { name: "get_weather", parameters: Schema.Struct({ city: Schema.String }) },
        { name: "get_time", parameters: { type: "object", properties: {} } }
      ]
      const validated = yield* generate({
        model: "gemini-2.5-flash",
        contents: user("get_weather city=Oslo"),
        tools,
        toolChoice: { mode: "validated", allowedFunctionNames: ["get_weather"] }
      })
      expect(at(sentBody(), "toolConfig")).toEqual({
        functionCallingConfig: { mode: "VALIDATED", allowedFunctionNames: ["get_weather"] }
      })
      expect(validated.toolCalls.map((c) => [c.name, c.args])).toEqual([["get_weather", { city: "Oslo" }]])
      surface.gemini.reset()
      const forced = yield* generate({
        model: "gemini-2.5-flash",
        contents: user("anything"),
        tools,
        toolChoice: { mode: "any", allowedFunctionNames: ["get_time"] }
      })
      expect(at(sentBody(), "toolConfig")).toEqual({
        functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_time"] }
      })
      expect(forced.toolCalls.map((c) => c.name)).toEqual(["get_time"])
      surface.gemini.reset()
      yield* generate({ model: "gemini-2.5-flash", contents: user("x"), tools, toolChoice: { mode: "none" } })
      expect(at(sentBody(), "toolConfig")).toEqual({ functionCallingConfig: { mode: "NONE" } })
    })))

  it.effect("providerOptions.gemini is merged into the body (objects key by key); other backends' options are not sent", () =>
    run(Effect.gen(function*() {
      yield* generate({
        model: "gemini-2.5-flash",
        contents: user("hi"),
        generation: { temperature: 0.5 },
        providerOptions: {
          gemini: {
            generationConfig: { responseLogprobs: true, logprobs: 3 },
            toolConfig: { retrievalConfig: { languageCode: "en" } }
          },
          ollama: { keep_alive: "5m" },
          openai: { repetition_penalty: 1.1 }
        }
      })
      expect(sentBody()).toEqual({
        contents: [{ role: "user", parts: [{ text: "hi" }] }],
        generationConfig: { temperature: 0.5, responseLogprobs: true, logprobs: 3 },
        toolConfig: { retrievalConfig: { languageCode: "en" } }
      })
    })))
})
