/**
 * The exported request Schemas of the wire clients describe what the protocols'
 * encoders send: every field of a rich request's body (tools, structured output, inline
 * data, system instruction, generation settings, a tool-call turn) decodes, with no
 * field the Schema does not name, and a field of the wrong type is rejected.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as GeminiClient from "../../src/model/gemini/GeminiClient.js"
import * as Gemini from "../../src/model/gemini/internal/protocol.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import * as Ollama from "../../src/model/ollama/internal/protocol.js"
import * as OllamaClient from "../../src/model/ollama/OllamaClient.js"
import * as OpenAI from "../../src/model/openai/internal/protocol.js"
import * as OpenAICompatibleClient from "../../src/model/openai/OpenAICompatibleClient.js"
import { at, jsonArray, jsonObject } from "../support/json.js"

const Answer = Schema.Struct({ name: Schema.String, age: Schema.Number })

const rich: ModelRequest.ModelRequest<typeof Answer.Type> = {
  model: "m",
  system: "be brief",
  contents: [
    {
      role: "user",
      parts: [
        ModelRequest.TextPart.make({ text: "who is in this picture? " }),
        ModelRequest.InlineDataPart.make({ mimeType: "image/png", data: "iVBORw0KGgo=" })
      ]
    },
    {
      role: "model",
      parts: [
        ModelRequest.TextPart.make({ text: "let me look", thought: true, thoughtSignature: "t1" }),
        ModelRequest.TextPart.make({ text: "checking" }),
        ModelRequest.FunctionCallPart.make({ id: "call_0", name: "lookup", args: { q: "Ada" }, thoughtSignature: "s1" })
      ]
    },
    {
      role: "user",
      parts: [ModelRequest.FunctionResponsePart.make({ id: "call_0", name: "lookup", response: { age: 36 } })]
    }
  ],
  tools: [
    { name: "lookup", description: "Find a person", parameters: Schema.Struct({ q: Schema.String }) },
    { name: "now", parameters: { type: "object", properties: {} } }
  ],
  toolChoice: { tool: "lookup" },
  output: { schema: Answer, name: "person" },
  generation: { temperature: 0.2, topP: 0.9, topK: 40, maxOutputTokens: 64, stop: ["END"], seed: 7 }
}

/** The rich request with the whole request surface: thinking, Gemini settings, built-in tools, code in history. */
const surface: ModelRequest.ModelRequest<typeof Answer.Type> = {
  ...rich,
  contents: [
    ...rich.contents,
    {
      role: "model",
      parts: [
        ModelRequest.ExecutableCodePart.make({ language: "PYTHON", code: "print(1)", thoughtSignature: "c1" }),
        ModelRequest.CodeExecutionResultPart.make({ outcome: "OUTCOME_OK", output: "1\n" }),
        ModelRequest.InlineDataPart.make({ mimeType: "image/png", data: "iVBORw0KGgo=", thoughtSignature: "i1" })
      ]
    }
  ],
  toolChoice: { mode: "validated", allowedFunctionNames: ["lookup"] },
  thinking: { level: "high", budget: 512, includeThoughts: true },
  safety: [{ category: "HARM_CATEGORY_HATE_SPEECH", threshold: "BLOCK_ONLY_HIGH", method: "SEVERITY" }],
  cachedContent: "cachedContents/abc",
  serviceTier: "priority",
  labels: { team: "search" },
  responseModalities: ["text", "image"],
  mediaResolution: "medium",
  builtInTools: { googleSearch: { excludeDomains: ["example.org"] }, codeExecution: true, urlContext: true }
}

/** The body as the server receives it. */
const wire = (body: unknown): unknown => JSON.parse(JSON.stringify(body))

/** A copy of a JSON body with the value at `path` replaced. */
const replaced = (body: unknown, path: ReadonlyArray<string | number>, value: unknown): unknown => {
  const copy = wire(body)
  const parent = at(copy, ...path.slice(0, -1))
  const last = path[path.length - 1]!
  if (typeof last === "number") Reflect.set(jsonArray(parent), last, value)
  else jsonObject(parent)[last] = value
  return copy
}

const strict = { onExcessProperty: "error" } as const

interface Case {
  readonly protocol: string
  /** The exported Schema's decoder; an excess property is an error (the Schema covers the whole body). */
  readonly decode: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly body: unknown
  /** Paths whose value must reach the wire (the rich request's features). */
  readonly sent: ReadonlyArray<ReadonlyArray<string | number>>
  /** A field set to a value of the wrong type. */
  readonly wrong: ReadonlyArray<readonly [path: ReadonlyArray<string | number>, value: unknown]>
}

const cases: Array<Case> = [
  {
    protocol: "Gemini generateContent",
    decode: Schema.decodeUnknownEither(GeminiClient.GenerateContentRequest, strict),
    body: Gemini.encodeRequest(rich),
    sent: [
      ["systemInstruction", "parts", 0, "text"],
      ["contents", 0, "parts", 1, "inlineData", "data"],
      ["contents", 1, "parts", 0, "thoughtSignature"],
      ["contents", 1, "parts", 2, "functionCall", "args", "q"],
      ["contents", 2, "parts", 0, "functionResponse", "response", "age"],
      ["tools", 0, "functionDeclarations", 1, "parametersJsonSchema", "type"],
      ["toolConfig", "functionCallingConfig", "allowedFunctionNames", 0],
      ["generationConfig", "responseJsonSchema", "required"],
      ["generationConfig", "stopSequences", 0]
    ],
    wrong: [
      [["generationConfig", "temperature"], "hot"],
      [["contents", 0, "role"], "assistant"],
      [["toolConfig", "functionCallingConfig", "mode"], "SOMETIMES"],
      [["contents", 1, "parts", 2, "functionCall", "args"], "{\"q\":\"Ada\"}"],
      [["tools", 0, "functionDeclarations", 0, "name"], 7]
    ]
  },
  {
    protocol: "Gemini countTokens",
    decode: Schema.decodeUnknownEither(GeminiClient.CountTokensRequest, strict),
    body: (({ contents, systemInstruction }) => ({ contents, systemInstruction }))(Gemini.encodeRequest(rich)),
    sent: [["systemInstruction", "parts", 0, "text"], ["contents", 0, "parts", 1, "inlineData", "mimeType"]],
    wrong: [[["contents"], { role: "user", parts: [] }], [["contents", 0, "parts", 0, "text"], 1]]
  },
  {
    protocol: "Ollama /api/chat",
    decode: Schema.decodeUnknownEither(OllamaClient.ChatRequest, strict),
    body: Ollama.encodeRequest(rich, true),
    sent: [
      ["messages", 0, "content"],
      ["messages", 1, "images", 0],
      ["messages", 2, "tool_calls", 0, "function", "arguments", "q"],
      ["messages", 3, "tool_name"],
      ["tools", 0, "function", "parameters", "type"],
      ["format", "required"],
      ["options", "num_predict"],
      ["options", "stop", 0]
    ],
    wrong: [
      [["options", "temperature"], "hot"],
      [["stream"], "yes"],
      [["messages", 0, "role"], "developer"],
      [["messages", 1, "images"], "iVBORw0KGgo="],
      [["messages", 2, "tool_calls", 0, "function", "arguments"], "{\"q\":\"Ada\"}"]
    ]
  },
  {
    protocol: "OpenAI-compatible /v1/chat/completions",
    decode: Schema.decodeUnknownEither(OpenAICompatibleClient.ChatCompletionRequest, strict),
    body: OpenAI.encodeRequest(rich, true),
    sent: [
      ["messages", 0, "content"],
      ["messages", 1, "content", 1, "image_url", "url"],
      ["messages", 2, "tool_calls", 0, "function", "arguments"],
      ["messages", 3, "tool_call_id"],
      ["tools", 1, "function", "parameters", "type"],
      ["tool_choice", "function", "name"],
      ["response_format", "json_schema", "schema", "required"],
      ["stream_options", "include_usage"],
      ["top_k"],
      ["stop", 0]
    ],
    wrong: [
      [["max_tokens"], "64"],
      [["messages", 2, "content"], 0],
      [["messages", 3, "role"], "function"],
      [["messages", 2, "tool_calls", 0, "function", "arguments"], { q: "Ada" }],
      [["tool_choice"], "any"]
    ]
  }
]

cases.push(
  {
    protocol: "Gemini generateContent with the request surface",
    decode: Schema.decodeUnknownEither(GeminiClient.GenerateContentRequest, strict),
    body: Gemini.encodeRequest(surface),
    sent: [
      ["contents", 3, "parts", 0, "executableCode", "code"],
      ["contents", 3, "parts", 0, "thoughtSignature"],
      ["contents", 3, "parts", 1, "codeExecutionResult", "outcome"],
      ["contents", 3, "parts", 2, "thoughtSignature"],
      ["generationConfig", "thinkingConfig", "thinkingLevel"],
      ["generationConfig", "thinkingConfig", "thinkingBudget"],
      ["generationConfig", "thinkingConfig", "includeThoughts"],
      ["generationConfig", "responseModalities", 1],
      ["generationConfig", "mediaResolution"],
      ["safetySettings", 0, "method"],
      ["cachedContent"],
      ["serviceTier"],
      ["labels", "team"],
      ["tools", 1, "googleSearch", "excludeDomains", 0],
      ["tools", 2, "codeExecution"],
      ["tools", 3, "urlContext"],
      ["toolConfig", "functionCallingConfig", "allowedFunctionNames", 0]
    ],
    wrong: [
      [["generationConfig", "thinkingConfig", "thinkingLevel"], "EXTREME"],
      [["generationConfig", "responseModalities", 0], "SMELL"],
      [["serviceTier"], "gold"],
      [["labels", "team"], 1],
      [["tools", 2, "codeExecution"], true]
    ]
  },
  {
    protocol: "Ollama /api/chat with thinking",
    decode: Schema.decodeUnknownEither(OllamaClient.ChatRequest, strict),
    body: Ollama.encodeRequest({ ...rich, thinking: { level: "medium" } }, false),
    sent: [["think"]],
    wrong: [[["think"], "max"]]
  },
  {
    protocol: "OpenAI-compatible /v1/chat/completions with thinking",
    decode: Schema.decodeUnknownEither(OpenAICompatibleClient.ChatCompletionRequest, strict),
    body: OpenAI.encodeRequest({ ...rich, thinking: { level: "low", budget: 64, includeThoughts: false } }, false),
    sent: [["reasoning_effort"], ["thinking_token_budget"], ["include_reasoning"]],
    wrong: [[["reasoning_effort"], "max"], [["include_reasoning"], "no"]]
  }
)

describe.each(cases)("$protocol request Schema", ({ body, decode, sent, wrong }) => {
  it("decodes the encoded rich request, naming every field sent", () => {
    const json = wire(body)
    for (const path of sent) expect(at(json, ...path), path.join(".")).toBeDefined()
    expect(decode(json)).toEqual(Either.right(json))
  })

  it.each(wrong)("rejects %j set to %j", (path, value) => {
    expect(Either.isLeft(decode(replaced(body, path, value)))).toBe(true)
  })
})

describe("request Schemas and the client bodies", () => {
  it("Ollama options stay open to other runtime options, typed where we send them", () => {
    const body: OllamaClient.ChatRequest = {
      model: "gemma3:4b",
      messages: [{ role: "user", content: "hi" }],
      stream: false,
      options: { temperature: 0, num_ctx: 8192 }
    }
    expect(Schema.decodeUnknownSync(OllamaClient.ChatRequest)(wire(body))).toEqual(body)
  })

  it("an undefined field is not sent", () => {
    const body = Gemini.encodeRequest({ model: "m", contents: [ModelRequest.user("hi")] })
    expect(JSON.stringify(body)).toBe("{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}")
    expect(Schema.decodeUnknownSync(GeminiClient.GenerateContentRequest)(wire(body))).toEqual(wire(body))
  })
})
