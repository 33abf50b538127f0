/**
 * Ollama's `/api/chat` (and `/api/generate`) wire format: the request body and
 * hand-written Schemas for the fields we read. Unknown fields are ignored.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as ModelError from "../ModelError.js"
import * as ModelRequest from "../ModelRequest.js"
import type * as ModelResponse from "../ModelResponse.js"
import { decodeWire, defined, parseArguments } from "./common.js"
import { fromStreamError } from "./errors.js"

const backend = "ollama" as const

const ToolCall = Schema.Struct({
  id: Schema.optional(Schema.String),
  function: Schema.Struct({
    index: Schema.optional(Schema.Number),
    name: Schema.String,
    // Ollama sends an object; some OpenAI-minded proxies a JSON string.
    arguments: Schema.optional(Schema.Union(Schema.Record({ key: Schema.String, value: Schema.Unknown }), Schema.String))
  })
})

/**
 * One `/api/chat` response or NDJSON line; `/api/generate` lines carry `response`
 * instead of `message`.
 *
 * @internal
 */
export const ChatResponse = Schema.Struct({
  model: Schema.optional(Schema.String),
  message: Schema.optional(Schema.Struct({
    role: Schema.optional(Schema.String),
    content: Schema.optional(Schema.String),
    thinking: Schema.optional(Schema.String),
    tool_calls: Schema.optional(Schema.Array(ToolCall))
  })),
  response: Schema.optional(Schema.String),
  thinking: Schema.optional(Schema.String),
  done: Schema.Boolean,
  done_reason: Schema.optional(Schema.String),
  prompt_eval_count: Schema.optional(Schema.Number),
  eval_count: Schema.optional(Schema.Number)
})

/** @internal */
export type ChatResponse = typeof ChatResponse.Type

/** @internal */
export const decodeResponse = decodeWire(backend, ChatResponse, "an Ollama chat response")

// -----------------------------------------------------------------------------
// Request
// -----------------------------------------------------------------------------

/** The `/api/chat` body. @internal */
export const encodeRequest = (request: ModelRequest.ModelRequest<any>, stream: boolean): Record<string, unknown> => {
  const messages: Array<Record<string, unknown>> = []
  if (request.system !== undefined) messages.push({ role: "system", content: request.system })
  for (const content of request.contents) {
    const text = content.parts.flatMap((p) => p._tag === "text" && p.thought !== true ? [p.text] : []).join("")
    const images = content.parts.flatMap((p) => p._tag === "inlineData" ? [p.data] : [])
    const calls = content.parts.flatMap((p) =>
      p._tag === "functionCall" ? [{ function: { name: p.name, arguments: p.args } }] : []
    )
    const results = content.parts.filter((p): p is ModelRequest.FunctionResponsePart => p._tag === "functionResponse")
    for (const result of results) {
      messages.push({ role: "tool", tool_name: result.name, content: JSON.stringify(result.response) })
    }
    if (text !== "" || images.length > 0 || calls.length > 0) {
      messages.push(defined({
        role: content.role === "model" ? "assistant" : "user",
        content: text,
        images: images.length === 0 ? undefined : images,
        tool_calls: calls.length === 0 ? undefined : calls
      }))
    }
  }
  const g = request.generation
  const options = defined({
    temperature: g?.temperature,
    top_p: g?.topP,
    top_k: g?.topK,
    num_predict: g?.maxOutputTokens,
    stop: g?.stop,
    seed: g?.seed
  })
  const tools = request.toolChoice === "none" ? undefined : request.tools
  return defined({
    model: request.model,
    messages,
    stream,
    tools: tools === undefined || tools.length === 0 ? undefined : tools.map((tool) => ({
      type: "function",
      function: defined({
        name: tool.name,
        description: tool.description,
        parameters: ModelRequest.toolParameters(tool)
      })
    })),
    format: request.output === undefined ? undefined : ModelRequest.toJsonSchema(request.output.schema),
    options: Object.keys(options).length === 0 ? undefined : options
  })
}

// -----------------------------------------------------------------------------
// Response
// -----------------------------------------------------------------------------

const finishReason = (raw: string | undefined, hasToolCalls: boolean): ModelResponse.FinishReason => {
  if (hasToolCalls) return "tool-calls"
  switch (raw) {
    case undefined:
      return "unknown"
    case "stop":
      return "stop"
    case "length":
      return "length"
    default:
      return "other"
  }
}

const toolCalls = (
  body: ChatResponse,
  offset: number
): Either.Either<Array<ModelResponse.ToolCall>, ModelError.Decode> =>
  Either.all((body.message?.tool_calls ?? []).map((call, i) => {
    const args = call.function.arguments
    const parsed = typeof args === "string"
      ? parseArguments(backend, call.function.name, args)
      : Either.right(args ?? {})
    return Either.map(parsed, (args) => ({ id: call.id ?? `call_${offset + i}`, name: call.function.name, args }))
  }))

const usage = (body: ChatResponse): ModelResponse.Usage => {
  const total = body.prompt_eval_count !== undefined && body.eval_count !== undefined
    ? body.prompt_eval_count + body.eval_count
    : undefined
  return defined({ inputTokens: body.prompt_eval_count, outputTokens: body.eval_count, totalTokens: total })
}

const build = (
  text: string,
  thoughts: string,
  calls: ReadonlyArray<ModelResponse.ToolCall>,
  last: ChatResponse,
  raw: unknown
): ModelResponse.ModelResponse => {
  const parts: Array<ModelRequest.Part> = []
  if (thoughts !== "") parts.push(ModelRequest.TextPart.make({ text: thoughts, thought: true }))
  if (text !== "") parts.push(ModelRequest.TextPart.make({ text }))
  for (const call of calls) parts.push(ModelRequest.FunctionCallPart.make({ id: call.id, name: call.name, args: call.args }))
  return defined({
    text,
    thoughts: thoughts === "" ? undefined : thoughts,
    content: { role: "model" as const, parts },
    toolCalls: calls,
    finishReason: last.done ? finishReason(last.done_reason, calls.length > 0) : "unknown",
    rawFinishReason: last.done_reason,
    usage: usage(last),
    modelVersion: last.model,
    raw
  }) as ModelResponse.ModelResponse
}

/** Normalise a non-streaming response. @internal */
export const normalise = (
  body: ChatResponse,
  raw: unknown
): Either.Either<ModelResponse.ModelResponse, ModelError.ModelError> =>
  Either.map(toolCalls(body, 0), (calls) =>
    build(
      body.message?.content ?? body.response ?? "",
      body.message?.thinking ?? body.thinking ?? "",
      calls,
      body,
      raw
    ))

/**
 * Folds NDJSON lines. A line `{"error": ...}` (Ollama's mid-stream error, HTTP 200)
 * fails the stream with ServerError.
 *
 * @internal
 */
export class StreamState {
  private text = ""
  private thoughts = ""
  private readonly calls: Array<ModelResponse.ToolCall> = []
  private last: ChatResponse = { done: false }
  private lastRaw: unknown = undefined

  /** One parsed line → one chunk. */
  step(line: unknown): Either.Either<ModelResponse.ModelStreamChunk, ModelError.ModelError> {
    const error = fromStreamError(backend, line)
    if (error !== undefined) return Either.left(error)
    return Either.flatMap(decodeResponse(line), (body) =>
      Either.map(toolCalls(body, this.calls.length), (calls) => {
        const textDelta = body.message?.content ?? body.response ?? ""
        const thoughtDelta = body.message?.thinking ?? body.thinking ?? ""
        this.text += textDelta
        this.thoughts += thoughtDelta
        this.calls.push(...calls)
        this.last = body
        this.lastRaw = line
        return defined({
          textDelta,
          thoughtDelta: thoughtDelta === "" ? undefined : thoughtDelta,
          toolCalls: calls,
          finishReason: body.done ? finishReason(body.done_reason, this.calls.length > 0) : undefined,
          usage: body.done ? usage(body) : undefined,
          modelVersion: body.model,
          raw: line
        }) as ModelResponse.ModelStreamChunk
      }))
  }

  /** The whole stream as one response. */
  finish(): ModelResponse.ModelResponse {
    return build(this.text, this.thoughts, this.calls, this.last, this.lastRaw)
  }
}
