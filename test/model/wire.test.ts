import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Gemini from "../../src/model/gemini/internal/protocol.js"
import { withValue } from "../../src/model/internal/common.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import type * as ModelResponse from "../../src/model/ModelResponse.js"
import * as Ollama from "../../src/model/ollama/internal/protocol.js"
import * as OpenAI from "../../src/model/openai/internal/protocol.js"
import { at, jsonArray } from "../support/json.js"

const Weather = Schema.Struct({ city: Schema.String })
const Answer = Schema.Struct({ age: Schema.Number, available: Schema.Boolean })

const request: ModelRequest.ModelRequest<typeof Answer.Type> = {
  model: "m",
  system: "be brief",
  contents: [
    ModelRequest.user("weather in Tokyo?"),
    {
      role: "model",
      parts: [ModelRequest.FunctionCallPart.make({
        id: "call_0",
        name: "get_weather",
        args: { city: "Tokyo" },
        thoughtSignature: "sig"
      })]
    },
    {
      role: "user",
      parts: [ModelRequest.FunctionResponsePart.make({ id: "call_0", name: "get_weather", response: { temp: 21 } })]
    }
  ],
  tools: [{ name: "get_weather", description: "Weather for a city", parameters: Weather }],
  toolChoice: "required",
  output: { schema: Answer },
  generation: { temperature: 0.2, maxOutputTokens: 64, stop: ["END"], seed: 7 }
}

describe("request encoding", () => {
  it("Gemini: contents, thought signature echoed, tools as JSON Schema, responseJsonSchema", () => {
    const body = Gemini.encodeRequest(request)
    expect(body["systemInstruction"]).toEqual({ parts: [{ text: "be brief" }] })
    expect(at(body, "contents", 1, "parts", 0)).toEqual({
      functionCall: { id: "call_0", name: "get_weather", args: { city: "Tokyo" } },
      thoughtSignature: "sig"
    })
    expect(at(body, "contents", 2, "parts", 0, "functionResponse")).toEqual({
      id: "call_0",
      name: "get_weather",
      response: { temp: 21 }
    })
    expect(at(body, "tools", 0, "functionDeclarations", 0, "parametersJsonSchema")).toMatchObject({
      type: "object",
      required: ["city"],
      properties: { city: { type: "string" } }
    })
    expect(body["toolConfig"]).toEqual({ functionCallingConfig: { mode: "ANY" } })
    expect(body["generationConfig"]).toMatchObject({
      temperature: 0.2,
      maxOutputTokens: 64,
      stopSequences: ["END"],
      seed: 7,
      responseMimeType: "application/json"
    })
    expect(at(body, "generationConfig", "responseJsonSchema", "$schema")).toBeUndefined()
    expect(at(body, "generationConfig", "responseJsonSchema", "required")).toEqual(["age", "available"])
  })

  it("Ollama: system message, tool message, format, options", () => {
    const body = Ollama.encodeRequest(request, true)
    expect(jsonArray(body["messages"]).map((m) => at(m, "role"))).toEqual(["system", "user", "assistant", "tool"])
    expect(at(body, "messages", 2, "tool_calls")).toEqual([{
      function: { name: "get_weather", arguments: { city: "Tokyo" } }
    }])
    expect(at(body, "messages", 3)).toEqual({ role: "tool", tool_name: "get_weather", content: "{\"temp\":21}" })
    expect(at(body, "format", "required")).toEqual(["age", "available"])
    expect(body["options"]).toEqual({ temperature: 0.2, num_predict: 64, stop: ["END"], seed: 7 })
    expect(body["stream"]).toBe(true)
  })

  it("OpenAI-compatible: tool_calls with string arguments, tool_call_id, response_format json_schema", () => {
    const body = OpenAI.encodeRequest(request, true)
    expect(at(body, "messages", 2)).toEqual({
      role: "assistant",
      content: null,
      tool_calls: [{
        id: "call_0",
        type: "function",
        function: { name: "get_weather", arguments: "{\"city\":\"Tokyo\"}" }
      }]
    })
    expect(at(body, "messages", 3)).toEqual({ role: "tool", tool_call_id: "call_0", content: "{\"temp\":21}" })
    expect(body["tool_choice"]).toBe("required")
    expect(at(body, "response_format", "type")).toBe("json_schema")
    expect(at(body, "response_format", "json_schema", "name")).toBe("response")
    expect(body["stream_options"]).toEqual({ include_usage: true })
    expect(body["max_tokens"]).toBe(64)
  })

  it("a named tool choice", () => {
    const named = { ...request, toolChoice: { tool: "get_weather" } } as const
    expect(at(Gemini.encodeRequest(named), "toolConfig", "functionCallingConfig")).toEqual({
      mode: "ANY",
      allowedFunctionNames: ["get_weather"]
    })
    expect(OpenAI.encodeRequest(named, false)["tool_choice"]).toEqual({
      type: "function",
      function: { name: "get_weather" }
    })
  })
})

describe("structured output", () => {
  const response = (text: string) => ({
    text,
    content: { role: "model" as const, parts: [] },
    toolCalls: [],
    finishReason: "stop" as const,
    usage: {},
    raw: null
  })
  it("decodes the text with the request's schema into value", () => {
    const result = withValue({ backend: "ollama" }, response("{\"age\": 22, \"available\": false}"), { schema: Answer })
    expect(Either.getOrThrow(result).value).toEqual({ age: 22, available: false })
  })
  it("a mismatch is a Decode error saying what did not match", () => {
    const result = withValue({ backend: "ollama" }, response("{\"age\": \"old\"}"), { schema: Answer })
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left._tag).toBe("Decode")
      expect(result.left.detail).toContain("age")
    }
    const notJson = withValue({ backend: "ollama" }, response("sure! here"), { schema: Answer })
    expect(Either.isLeft(notJson) && notJson.left.detail).toMatch(/not JSON/)
  })
})

describe("Gemini stream payloads", () => {
  it("an error event after output fails the stream with the translated error; the output before it is delivered", () => {
    const state = new Gemini.StreamState({ backend: "gemini-api" })
    const out: Array<ModelResponse.ModelStreamChunk> = []
    expect(state.step(JSON.stringify({ candidates: [{ content: { parts: [{ text: "Hel" }], role: "model" } }] }), out))
      .toBeUndefined()
    expect(out[0]?.textDelta).toBe("Hel")
    const failed = state.step(
      JSON.stringify({
        error: { code: 503, message: "The model is overloaded. Please try again later.", status: "UNAVAILABLE" }
      }),
      out
    )
    expect(failed?._tag).toBe("Unavailable")
  })
})
