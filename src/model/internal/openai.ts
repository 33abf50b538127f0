/**
 * The OpenAI-compatible `/v1/chat/completions` wire format as vLLM serves it: the
 * request body and hand-written Schemas for the fields we read. Unknown fields are
 * ignored; vLLM's extension fields (`stop_reason`, `reasoning_content`, ...) are
 * tolerated.
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

const backend = "openai-compatible" as const

const UsageWire = Schema.Struct({
  prompt_tokens: Schema.optional(Schema.Number),
  completion_tokens: Schema.optional(Schema.Number),
  total_tokens: Schema.optional(Schema.Number),
  prompt_tokens_details: Schema.optional(Schema.NullOr(Schema.Struct({
    cached_tokens: Schema.optional(Schema.NullOr(Schema.Number))
  }))),
  completion_tokens_details: Schema.optional(Schema.NullOr(Schema.Struct({
    reasoning_tokens: Schema.optional(Schema.NullOr(Schema.Number))
  })))
})

const Reasoning = {
  reasoning_content: Schema.optional(Schema.NullOr(Schema.String)),
  reasoning: Schema.optional(Schema.NullOr(Schema.String))
}

/** @internal */
export const ChatCompletion = Schema.Struct({
  id: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  choices: Schema.Array(Schema.Struct({
    index: Schema.optional(Schema.Number),
    message: Schema.Struct({
      role: Schema.optional(Schema.String),
      content: Schema.optional(Schema.NullOr(Schema.String)),
      ...Reasoning,
      tool_calls: Schema.optional(Schema.NullOr(Schema.Array(Schema.Struct({
        id: Schema.optional(Schema.String),
        function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
      }))))
    }),
    finish_reason: Schema.optional(Schema.NullOr(Schema.String))
  })),
  usage: Schema.optional(Schema.NullOr(UsageWire))
})

/** @internal */
export type ChatCompletion = typeof ChatCompletion.Type

/** @internal */
export const ChatCompletionChunk = Schema.Struct({
  id: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  choices: Schema.Array(Schema.Struct({
    index: Schema.optional(Schema.Number),
    delta: Schema.Struct({
      role: Schema.optional(Schema.NullOr(Schema.String)),
      content: Schema.optional(Schema.NullOr(Schema.String)),
      ...Reasoning,
      tool_calls: Schema.optional(Schema.NullOr(Schema.Array(Schema.Struct({
        index: Schema.Number,
        id: Schema.optional(Schema.NullOr(Schema.String)),
        function: Schema.optional(Schema.Struct({
          name: Schema.optional(Schema.NullOr(Schema.String)),
          arguments: Schema.optional(Schema.NullOr(Schema.String))
        }))
      }))))
    }),
    finish_reason: Schema.optional(Schema.NullOr(Schema.String))
  })),
  usage: Schema.optional(Schema.NullOr(UsageWire))
})

/** @internal */
export type ChatCompletionChunk = typeof ChatCompletionChunk.Type

/** @internal */
export const decodeResponse = decodeWire(backend, ChatCompletion, "a chat completion")

/** @internal */
export const decodeChunk = decodeWire(backend, ChatCompletionChunk, "a chat completion chunk")

// -----------------------------------------------------------------------------
// Request
// -----------------------------------------------------------------------------

/** The `/v1/chat/completions` body. @internal */
export const encodeRequest = (request: ModelRequest.ModelRequest<any>, stream: boolean): Record<string, unknown> => {
  const messages: Array<Record<string, unknown>> = []
  if (request.system !== undefined) messages.push({ role: "system", content: request.system })
  for (const content of request.contents) {
    const results = content.parts.filter((p): p is ModelRequest.FunctionResponsePart => p._tag === "functionResponse")
    for (const result of results) {
      messages.push({ role: "tool", tool_call_id: result.id, content: JSON.stringify(result.response) })
    }
    const calls = content.parts.flatMap((p) =>
      p._tag === "functionCall"
        ? [{ id: p.id, type: "function", function: { name: p.name, arguments: JSON.stringify(p.args) } }]
        : []
    )
    type Piece = { type: "text"; text: string } | { type: "image_url"; image_url: { url: string } }
    const pieces = content.parts.flatMap((p): Array<Piece> =>
      p._tag === "text" && p.thought !== true
        ? [{ type: "text", text: p.text }]
        : p._tag === "inlineData"
        ? [{ type: "image_url", image_url: { url: `data:${p.mimeType};base64,${p.data}` } }]
        : []
    )
    if (content.role === "model") {
      if (pieces.length > 0 || calls.length > 0) {
        messages.push(defined({
          role: "assistant",
          content: pieces.length === 0 ? null : pieces.map((p) => p.type === "text" ? p.text : "").join(""),
          tool_calls: calls.length === 0 ? undefined : calls
        }))
      }
    } else if (pieces.length > 0) {
      messages.push({
        role: "user",
        content: pieces.every((p) => p.type === "text")
          ? pieces.map((p) => p.type === "text" ? p.text : "").join("")
          : pieces
      })
    }
  }
  const g = request.generation
  const choice = request.toolChoice
  return defined({
    model: request.model,
    messages,
    stream,
    stream_options: stream ? { include_usage: true } : undefined,
    tools: request.tools === undefined || request.tools.length === 0 ? undefined : request.tools.map((tool) => ({
      type: "function",
      function: defined({
        name: tool.name,
        description: tool.description,
        parameters: ModelRequest.toolParameters(tool)
      })
    })),
    tool_choice: choice === undefined
      ? undefined
      : typeof choice === "object"
      ? { type: "function", function: { name: choice.tool } }
      : choice,
    response_format: request.output === undefined ? undefined : {
      type: "json_schema",
      json_schema: {
        name: request.output.name ?? "response",
        schema: ModelRequest.toJsonSchema(request.output.schema)
      }
    },
    temperature: g?.temperature,
    top_p: g?.topP,
    top_k: g?.topK,
    max_tokens: g?.maxOutputTokens,
    stop: g?.stop,
    seed: g?.seed
  })
}

// -----------------------------------------------------------------------------
// Response
// -----------------------------------------------------------------------------

const finishReason = (raw: string | null | undefined): ModelResponse.FinishReason => {
  switch (raw) {
    case undefined:
    case null:
      return "unknown"
    case "stop":
      return "stop"
    case "length":
      return "length"
    case "tool_calls":
    case "function_call":
      return "tool-calls"
    case "content_filter":
      return "content-filter"
    default:
      return "other"
  }
}

const usage = (wire: typeof UsageWire.Type | null | undefined): ModelResponse.Usage =>
  wire == null ? {} : defined({
    inputTokens: wire.prompt_tokens,
    outputTokens: wire.completion_tokens,
    totalTokens: wire.total_tokens,
    cachedInputTokens: wire.prompt_tokens_details?.cached_tokens ?? undefined,
    thoughtTokens: wire.completion_tokens_details?.reasoning_tokens ?? undefined
  })

const build = (options: {
  readonly text: string
  readonly thoughts: string
  readonly calls: ReadonlyArray<ModelResponse.ToolCall>
  readonly finish: string | null | undefined
  readonly usage: typeof UsageWire.Type | null | undefined
  readonly model: string | undefined
  readonly id: string | undefined
  readonly raw: unknown
}): ModelResponse.ModelResponse => {
  const parts: Array<ModelRequest.Part> = []
  if (options.thoughts !== "") parts.push(ModelRequest.TextPart.make({ text: options.thoughts, thought: true }))
  if (options.text !== "") parts.push(ModelRequest.TextPart.make({ text: options.text }))
  for (const call of options.calls) {
    parts.push(ModelRequest.FunctionCallPart.make({ id: call.id, name: call.name, args: call.args }))
  }
  return defined({
    text: options.text,
    thoughts: options.thoughts === "" ? undefined : options.thoughts,
    content: { role: "model" as const, parts },
    toolCalls: options.calls,
    finishReason: finishReason(options.finish),
    rawFinishReason: options.finish ?? undefined,
    usage: usage(options.usage),
    modelVersion: options.model,
    responseId: options.id,
    raw: options.raw
  }) as ModelResponse.ModelResponse
}

/** Normalise a non-streaming completion. @internal */
export const normalise = (
  body: ChatCompletion,
  raw: unknown
): Either.Either<ModelResponse.ModelResponse, ModelError.ModelError> => {
  const choice = body.choices[0]
  const message = choice?.message
  return Either.map(
    Either.all((message?.tool_calls ?? []).map((call, i) =>
      Either.map(parseArguments(backend, call.function.name, call.function.arguments), (args) => ({
        id: call.id ?? `call_${i}`,
        name: call.function.name,
        args
      }))
    )),
    (calls) =>
      build({
        text: message?.content ?? "",
        thoughts: message?.reasoning_content ?? message?.reasoning ?? "",
        calls,
        finish: choice?.finish_reason,
        usage: body.usage,
        model: body.model,
        id: body.id,
        raw
      })
  )
}

interface PendingCall {
  id: string | undefined
  name: string
  arguments: string
}

/**
 * Folds SSE `data:` payloads (the caller stops at `[DONE]`). Tool calls arrive as
 * fragments keyed by `index` and are emitted when the choice finishes. An event that
 * carries an error body fails the stream.
 *
 * @internal
 */
export class StreamState {
  private text = ""
  private thoughts = ""
  private readonly pending = new Map<number, PendingCall>()
  private readonly calls: Array<ModelResponse.ToolCall> = []
  private finish: string | null | undefined = undefined
  private usageWire: typeof UsageWire.Type | null | undefined = undefined
  private model: string | undefined = undefined
  private id: string | undefined = undefined
  private lastRaw: unknown = undefined

  /** One parsed event payload → one chunk. */
  step(payload: unknown): Either.Either<ModelResponse.ModelStreamChunk, ModelError.ModelError> {
    const error = fromStreamError(backend, payload)
    if (error !== undefined) return Either.left(error)
    return Either.flatMap(decodeChunk(payload), (chunk) => {
      this.lastRaw = payload
      this.model = chunk.model ?? this.model
      this.id = chunk.id ?? this.id
      if (chunk.usage != null) this.usageWire = chunk.usage
      const choice = chunk.choices[0]
      const delta = choice?.delta
      const textDelta = delta?.content ?? ""
      const thoughtDelta = delta?.reasoning_content ?? delta?.reasoning ?? ""
      this.text += textDelta
      this.thoughts += thoughtDelta
      for (const fragment of delta?.tool_calls ?? []) {
        const current = this.pending.get(fragment.index)
        if (current === undefined) {
          this.pending.set(fragment.index, {
            id: fragment.id ?? undefined,
            name: fragment.function?.name ?? "",
            arguments: fragment.function?.arguments ?? ""
          })
        } else {
          if (fragment.id != null) current.id = fragment.id
          if (fragment.function?.name != null) current.name += fragment.function.name
          current.arguments += fragment.function?.arguments ?? ""
        }
      }
      const finished = choice?.finish_reason
      const completed = finished == null ? Either.right([]) : this.flush()
      return Either.map(completed, (toolCalls) => {
        if (finished != null) this.finish = finished
        return defined({
          textDelta,
          thoughtDelta: thoughtDelta === "" ? undefined : thoughtDelta,
          toolCalls,
          finishReason: finished == null ? undefined : finishReason(finished),
          usage: finished == null && chunk.usage == null ? undefined : usage(this.usageWire),
          modelVersion: chunk.model,
          raw: payload
        }) as ModelResponse.ModelStreamChunk
      })
    })
  }

  /** The whole stream as one response. */
  finishResponse(): Either.Either<ModelResponse.ModelResponse, ModelError.ModelError> {
    return Either.map(this.flush(), () =>
      build({
        text: this.text,
        thoughts: this.thoughts,
        calls: this.calls,
        finish: this.finish,
        usage: this.usageWire,
        model: this.model,
        id: this.id,
        raw: this.lastRaw
      }))
  }

  private flush(): Either.Either<Array<ModelResponse.ToolCall>, ModelError.Decode> {
    // a fragment without a name (a stream whose head we never saw) cannot be called
    const entries = [...this.pending.entries()].filter(([, call]) => call.name !== "").sort(([a], [b]) => a - b)
    this.pending.clear()
    return Either.map(
      Either.all(entries.map(([index, call]) =>
        Either.map(parseArguments(backend, call.name, call.arguments), (args) => ({
          id: call.id ?? `call_${index}`,
          name: call.name,
          args
        }))
      )),
      (calls) => {
        this.calls.push(...calls)
        return calls
      }
    )
  }
}
