/**
 * The OpenAI-compatible `/v1/chat/completions` wire format as vLLM serves it:
 * hand-written Schemas for the request fields we send and the response fields we read,
 * the encoding of a request and the normalisation of a response. Unknown response
 * fields are ignored; vLLM's extension fields (`stop_reason`, `reasoning_content`, ...)
 * are tolerated.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { decodeWire, frameJson, JsonObject, parseArguments, truncated } from "../../internal/common.js"
import { everyOf, isObject, optional, optionalText, own } from "../../internal/fastpath.js"
import * as Features from "../../internal/features.js"
import type * as Stream from "../../internal/stream.js"
import type * as ModelError from "../../ModelError.js"
import * as ModelRequest from "../../ModelRequest.js"
import * as ModelResponse from "../../ModelResponse.js"

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
export const decodeResponse = decodeWire(ChatCompletion, "a chat completion")

/** A delta of text and reasoning (no tool call fragments). */
const isTextDelta = (u: unknown): boolean =>
  isObject(u) && optionalText(u, "content", u.content) && optionalText(u, "role", u.role) &&
  optionalText(u, "reasoning_content", u.reasoning_content) && optionalText(u, "reasoning", u.reasoning) &&
  (u.tool_calls === undefined || u.tool_calls === null)

/** A choice with a text delta, maybe its index and finish reason. */
const isTextChoice = (u: unknown): boolean =>
  isObject(u) && isTextDelta(u.delta) && own(u, "delta") && optional(u, "index", u.index, "number") &&
  optionalText(u, "finish_reason", u.finish_reason)

/**
 * The common chunk, checked by hand (`fastpath.ts`): text or reasoning deltas, id,
 * model, no usage. Anything else (`false`: tool call fragments, the usage event…) goes
 * through `decodeChunk` (the structural guard, then the Schema).
 *
 * @internal
 */
export const isCommonChunk = (u: unknown): u is ChatCompletionChunk =>
  isObject(u) && everyOf(u.choices, isTextChoice) && own(u, "choices") &&
  optional(u, "id", u.id, "string") && optional(u, "model", u.model, "string") &&
  (u.usage === undefined || u.usage === null)

/** @internal */
export const decodeChunk = decodeWire(ChatCompletionChunk, "a chat completion chunk", isCommonChunk)

// -----------------------------------------------------------------------------
// Request
// -----------------------------------------------------------------------------

const ContentPart = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }),
  // an image as a `data:` URL
  Schema.Struct({ type: Schema.Literal("image_url"), image_url: Schema.Struct({ url: Schema.String }) })
)

const ToolCallRequest = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("function"),
  /** `arguments` is a JSON text. */
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
})

const Message = Schema.Union(
  Schema.Struct({ role: Schema.Literal("system"), content: Schema.String }),
  Schema.Struct({ role: Schema.Literal("user"), content: Schema.Union(Schema.String, Schema.Array(ContentPart)) }),
  Schema.Struct({
    role: Schema.Literal("assistant"),
    content: Schema.NullOr(Schema.String),
    tool_calls: Schema.optional(Schema.Array(ToolCallRequest))
  }),
  Schema.Struct({ role: Schema.Literal("tool"), tool_call_id: Schema.String, content: Schema.String })
)

/**
 * The `/v1/chat/completions` body: the fields we send (`top_k` is vLLM's extension).
 * `stream` is required (the response's shape depends on it). An absent or `undefined`
 * field is not sent.
 *
 * @internal
 */
export const ChatCompletionRequest = Schema.Struct({
  model: Schema.String,
  messages: Schema.Array(Message),
  stream: Schema.Boolean,
  stream_options: Schema.optional(Schema.Struct({ include_usage: Schema.Boolean })),
  tools: Schema.optional(Schema.Array(Schema.Struct({
    type: Schema.Literal("function"),
    function: Schema.Struct({
      name: Schema.String,
      description: Schema.optional(Schema.String),
      parameters: JsonObject
    })
  }))),
  tool_choice: Schema.optional(Schema.Union(
    Schema.Literal("auto", "none", "required"),
    Schema.Struct({ type: Schema.Literal("function"), function: Schema.Struct({ name: Schema.String }) })
  )),
  response_format: Schema.optional(Schema.Struct({
    type: Schema.Literal("json_schema"),
    json_schema: Schema.Struct({ name: Schema.String, schema: JsonObject })
  })),
  temperature: Schema.optional(Schema.Number),
  top_p: Schema.optional(Schema.Number),
  top_k: Schema.optional(Schema.Number),
  max_tokens: Schema.optional(Schema.Number),
  stop: Schema.optional(Schema.Array(Schema.String)),
  seed: Schema.optional(Schema.Number),
  /** How hard a reasoning model thinks (vLLM, OpenAI). */
  reasoning_effort: Schema.optional(Schema.Literal("low", "medium", "high")),
  /** vLLM: return the reasoning (`reasoning_content` / `reasoning`); default true. */
  include_reasoning: Schema.optional(Schema.Boolean),
  /** vLLM: the most tokens a reasoning model may think for. */
  thinking_token_budget: Schema.optional(Schema.Number)
})

/** @internal */
export type ChatCompletionRequest = typeof ChatCompletionRequest.Encoded

type ContentPart = typeof ContentPart.Encoded

/** The text of the text pieces. */
const joinText = (pieces: ReadonlyArray<ContentPart>): string =>
  pieces.map((p) => p.type === "text" ? p.text : "").join("")

/** The `/v1/chat/completions` body. @internal */
export const encodeRequest = <A>(request: ModelRequest.ModelRequest<A>, stream: boolean): ChatCompletionRequest => {
  const messages: Array<typeof Message.Encoded> = []
  if (request.system !== undefined) messages.push({ role: "system", content: request.system })
  for (const content of request.contents) {
    const results = content.parts.filter((p): p is ModelRequest.FunctionResponsePart => p._tag === "functionResponse")
    for (const result of results) {
      messages.push({ role: "tool", tool_call_id: result.id, content: JSON.stringify(result.response) })
    }
    const calls = content.parts.flatMap((p): Array<typeof ToolCallRequest.Encoded> =>
      p._tag === "functionCall"
        ? [{ id: p.id, type: "function", function: { name: p.name, arguments: JSON.stringify(p.args) } }]
        : []
    )
    const pieces = content.parts.flatMap((p): Array<ContentPart> =>
      p._tag === "text" && p.thought !== true
        ? [{ type: "text", text: p.text }]
        : p._tag === "inlineData"
        ? [{ type: "image_url", image_url: { url: `data:${p.mimeType};base64,${p.data}` } }]
        : []
    )
    if (content.role === "model") {
      if (pieces.length > 0 || calls.length > 0) {
        messages.push({
          role: "assistant",
          content: pieces.length === 0 ? null : joinText(pieces),
          tool_calls: calls.length === 0 ? undefined : calls
        })
      }
    } else if (pieces.length > 0) {
      messages.push({
        role: "user",
        content: pieces.every((p) => p.type === "text") ? joinText(pieces) : pieces
      })
    }
  }
  const g = request.generation
  const choice = request.toolChoice
  // a calling mode object narrows the tools to the ones it allows; `{ tool }` names one
  const mode = choice === undefined || typeof choice !== "object" || "tool" in choice ? undefined : choice
  const tools = Features.allowedTools(request.tools, mode)
  const allowed = mode?.allowedFunctionNames ?? []
  const thinking = request.thinking
  return {
    model: request.model,
    messages,
    stream,
    stream_options: stream ? { include_usage: true } : undefined,
    tools: tools === undefined || tools.length === 0 ? undefined : tools.map((tool) => ({
      type: "function",
      function: {
        name: tool.name,
        description: tool.description,
        parameters: ModelRequest.toolParameters(tool)
      }
    })),
    tool_choice: choice === undefined
      ? undefined
      : typeof choice !== "object"
      ? choice
      : "tool" in choice
      ? { type: "function", function: { name: choice.tool } }
      : choice.mode === "any" && allowed.length === 1
      ? { type: "function", function: { name: allowed[0]! } }
      : choice.mode === "any"
      ? "required"
      : choice.mode === "none"
      ? "none"
      : "auto",
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
    seed: g?.seed,
    reasoning_effort: thinking?.level === undefined || thinking.level === "minimal" ? undefined : thinking.level,
    include_reasoning: thinking?.includeThoughts,
    thinking_token_budget: thinking?.budget
  }
}

const geminiOnly = (what: string) => () => `${what} is a Gemini feature; vLLM's OpenAI-compatible API has none`

/**
 * What the OpenAI-compatible API (as vLLM serves it) cannot honour, and why.
 *
 * @internal
 */
export const rules: Features.Rules = {
  "thinking.level": (request) =>
    request.thinking?.level === "minimal" ? "reasoning_effort takes low, medium or high, not minimal" : undefined,
  safety: geminiOnly("safetySettings"),
  cachedContent: geminiOnly("cachedContent (a Gemini context cache)"),
  serviceTier: () =>
    "vLLM has no service tiers (a server that has them takes service_tier through providerOptions.openai)",
  labels: geminiOnly("labels"),
  responseModalities: () => "chat completions answer in text only",
  mediaResolution: geminiOnly("mediaResolution"),
  googleSearch: geminiOnly("Google Search grounding"),
  codeExecution: geminiOnly("code execution"),
  urlContext: geminiOnly("URL context"),
  toolChoice: (request) =>
    typeof request.toolChoice === "object" && "mode" in request.toolChoice &&
      request.toolChoice.mode === "validated"
      ? "tool_choice has no validated mode (use mode any with allowedFunctionNames, or auto)"
      : undefined
}

// -----------------------------------------------------------------------------
// Response
// -----------------------------------------------------------------------------

const finishReason = (raw: string | null | undefined, hasToolCalls: boolean): ModelResponse.FinishReason => {
  switch (raw) {
    case undefined:
    case null:
      return hasToolCalls ? "tool-calls" : "unknown"
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
  wire == null ? {} : {
    inputTokens: wire.prompt_tokens,
    outputTokens: wire.completion_tokens,
    totalTokens: wire.total_tokens,
    cachedInputTokens: wire.prompt_tokens_details?.cached_tokens ?? undefined,
    thoughtTokens: wire.completion_tokens_details?.reasoning_tokens ?? undefined
  }

const textParts = (thoughts: string, text: string): Array<ModelRequest.Part> => {
  const parts: Array<ModelRequest.Part> = []
  if (thoughts !== "") parts.push({ _tag: "text", text: thoughts, thought: true })
  if (text !== "") parts.push({ _tag: "text", text })
  return parts
}

const finishOf = (options: {
  readonly finish: string | null | undefined
  readonly hasToolCalls: boolean
  readonly usage: typeof UsageWire.Type | null | undefined
  readonly model: string | undefined
  readonly id: string | undefined
}): ModelResponse.Finish => ({
  finishReason: finishReason(options.finish, options.hasToolCalls),
  rawFinishReason: options.finish ?? undefined,
  usage: usage(options.usage),
  modelVersion: options.model,
  responseId: options.id
})

/** Normalise a non-streaming completion. @internal */
export const normalise = (
  context: ModelError.Context,
  body: ChatCompletion,
  raw: unknown
): Either.Either<ModelResponse.ModelResponse, ModelError.ModelError> => {
  const choice = body.choices[0]
  const message = choice?.message
  const parts = textParts(message?.reasoning_content ?? message?.reasoning ?? "", message?.content ?? "")
  const calls = message?.tool_calls ?? []
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i]!
    const args = parseArguments(context, call.function.name, call.function.arguments)
    if (Either.isLeft(args)) return Either.left(args.left)
    parts.push({ _tag: "functionCall", id: call.id ?? `call_${i}`, name: call.function.name, args: args.right })
  }
  return Either.right(ModelResponse.make(
    parts,
    finishOf({
      finish: choice?.finish_reason,
      hasToolCalls: calls.length > 0,
      usage: body.usage,
      model: body.model,
      id: body.id
    }),
    raw
  ))
}

interface PendingCall {
  id: string | undefined
  name: string
  arguments: string
}

/**
 * Folds SSE `data:` payloads. Text and reasoning deltas are emitted as they come;
 * tool calls arrive as fragments keyed by `index` (with or without ids: vLLM sends
 * none on some parsers) and are assembled at the end of the stream, with or without a
 * `finish_reason`. The end marker is `[DONE]` or a `finish_reason`; the chunk that
 * carries the finish, usage (sent in a later event with `include_usage`) and the
 * assembled tool calls is the last one. A body that ends with neither fails with
 * StreamTruncated.
 *
 * @internal
 */
export class StreamState implements Stream.Protocol {
  private readonly pending = new Map<number, PendingCall>()
  private finish: string | null | undefined = undefined
  private sawDone = false
  private usageWire: typeof UsageWire.Type | null | undefined = undefined
  private model: string | undefined = undefined
  private id: string | undefined = undefined
  private lastRaw: unknown = undefined
  private held: Array<ModelRequest.Part> = []
  constructor(readonly context: ModelError.Context) {}

  step(frame: Stream.Frame, out: Array<ModelResponse.ModelStreamChunk>): ModelError.ModelError | undefined {
    if (frame === "[DONE]" || (typeof frame === "string" && frame.trim() === "[DONE]")) {
      this.sawDone = true
      return undefined
    }
    if (this.sawDone) return undefined
    const json = frameJson(this.context, frame)
    if (json === undefined) return undefined
    if (Either.isLeft(json)) return json.left
    const decoded = decodeChunk(this.context, json.right)
    if (Either.isLeft(decoded)) return decoded.left
    const chunk = decoded.right
    this.lastRaw = json.right
    this.model = chunk.model ?? this.model
    this.id = chunk.id ?? this.id
    if (chunk.usage != null) this.usageWire = chunk.usage
    const choice = chunk.choices[0]
    const delta = choice?.delta
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
    const parts = textParts(delta?.reasoning_content ?? delta?.reasoning ?? "", delta?.content ?? "")
    if (choice?.finish_reason != null) this.finish = choice.finish_reason
    if (this.finish !== undefined) this.held.push(...parts)
    else if (choice !== undefined || parts.length > 0) {
      out.push(ModelResponse.chunk(parts, json.right, undefined, chunk.model))
    }
    return undefined
  }

  end(out: Array<ModelResponse.ModelStreamChunk>): ModelError.ModelError | undefined {
    if (!this.sawDone && this.finish === undefined) return truncated(this.context, "a finish_reason or `data: [DONE]`")
    // a fragment without a name (a stream whose head we never saw) cannot be called
    const entries = [...this.pending.entries()].filter(([, call]) => call.name !== "").sort(([a], [b]) => a - b)
    const parts = this.held
    for (const [index, call] of entries) {
      const args = parseArguments(this.context, call.name, call.arguments)
      if (Either.isLeft(args)) return args.left
      parts.push({ _tag: "functionCall", id: call.id ?? `call_${index}`, name: call.name, args: args.right })
    }
    out.push(ModelResponse.chunk(
      parts,
      this.lastRaw,
      finishOf({
        finish: this.finish,
        hasToolCalls: entries.length > 0,
        usage: this.usageWire,
        model: this.model,
        id: this.id
      })
    ))
    return undefined
  }
}
