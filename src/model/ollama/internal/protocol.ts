/**
 * Ollama's `/api/chat` (and `/api/generate`) wire format: hand-written Schemas for the
 * request fields we send and the response fields we read, the encoding of a request
 * and the normalisation of a response. Unknown response fields are ignored.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { decodeWire, frameJson, hasDefined, JsonObject, parseArguments, truncated } from "../../internal/common.js"
import { isObject, optional, own } from "../../internal/fastpath.js"
import * as Features from "../../internal/features.js"
import type * as Stream from "../../internal/stream.js"
import type * as ModelError from "../../ModelError.js"
import * as ModelRequest from "../../ModelRequest.js"
import * as ModelResponse from "../../ModelResponse.js"

const ToolCall = Schema.Struct({
  id: Schema.optional(Schema.String),
  function: Schema.Struct({
    index: Schema.optional(Schema.Number),
    name: Schema.String,
    // Ollama sends an object; some OpenAI-minded proxies a JSON string.
    arguments: Schema.optional(
      Schema.Union(JsonObject, Schema.String)
    )
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

/** A message of text and thinking (no tool calls). */
const isTextMessage = (u: unknown): boolean =>
  isObject(u) && optional(u, "role", u.role, "string") && optional(u, "content", u.content, "string") &&
  optional(u, "thinking", u.thinking, "string") && u.tool_calls === undefined

/**
 * The common line, checked by hand (`fastpath.ts`): a text or thinking message, `done`,
 * the finish fields and counts. Anything else (`false`: tool calls…) goes through
 * `decodeResponse` (the structural guard, then the Schema).
 *
 * @internal
 */
export const isCommonLine = (u: unknown): u is ChatResponse =>
  isObject(u) && typeof u.done === "boolean" && own(u, "done") &&
  (u.message === undefined || (isTextMessage(u.message) && own(u, "message"))) &&
  optional(u, "model", u.model, "string") && optional(u, "done_reason", u.done_reason, "string") &&
  optional(u, "response", u.response, "string") && optional(u, "thinking", u.thinking, "string") &&
  optional(u, "prompt_eval_count", u.prompt_eval_count, "number") && optional(u, "eval_count", u.eval_count, "number")

/** @internal */
export const decodeResponse = decodeWire(ChatResponse, "an Ollama chat response", isCommonLine)

/**
 * The text line Ollama writes for nearly every token of a chat stream, exactly as its
 * server prints it (Go's `encoding/json`: compact, fields in this order):
 * `{"model":"…","created_at":"…","message":{"role":"…","content":"…"},"done":false}`.
 * No string may hold a raw control character; `content` may hold JSON escapes (in the
 * linear "unrolled loop" form: no input makes it backtrack), the other three none (a line
 * whose model, timestamp or role needs an escape goes the general way).
 */
const textLinePattern = (() => {
  // raw characters of a JSON string: anything but `"`, `\` and the control characters
  const raw = String.raw`[^"\\\x00-\x1f]*`
  // a JSON string's content: raw runs between JSON escapes
  const escaped = String.raw`${raw}(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})${raw})*`
  return new RegExp(
    String
      .raw`^\{"model":"(${raw})","created_at":"(${raw})","message":\{"role":"(${raw})","content":"(${escaped})"\},"done":false\}$`
  )
})()

/** The longest line {@link textLine} reads (characters). */
const maxTextLine = 64 * 1024

/**
 * A stream line of the text shape ({@link textLinePattern}) read without `JSON.parse`
 * and without a check (the pattern admits only valid JSON of a valid line): the same
 * object `JSON.parse` returns, or `undefined` for any other line (which goes the
 * general way: `frameJson`, `decodeResponse`). `JSON.parse` builds every value of a
 * line and the check walks them; the pattern is one native scan (issue 14).
 *
 * @internal
 */
export const textLine = (line: string): ChatResponse | undefined => {
  // a token's line is a few hundred characters; a longer one goes the general way (V8
  // bounds a pattern's backtrack stack, one entry per escape: some 3.3 million escapes,
  // a line of ~7 MB, throw RangeError)
  if (line.length > maxTextLine) return undefined
  const match = textLinePattern.exec(line)
  if (match === null) return undefined
  const escaped = match[4]!
  // escapes are rare; the pattern has checked them, JSON decodes them
  const content: string = escaped.includes("\\") ? JSON.parse(`"${escaped}"`) : escaped
  // `created_at` too, as `JSON.parse` keeps it (the line is also the chunk's `raw`)
  const parsed = { model: match[1]!, created_at: match[2]!, message: { role: match[3]!, content }, done: false }
  return parsed
}

// -----------------------------------------------------------------------------
// Request
// -----------------------------------------------------------------------------

const Message = Schema.Struct({
  role: Schema.Literal("system", "user", "assistant", "tool"),
  /** A `tool` message: the name of the tool whose result `content` is. */
  tool_name: Schema.optional(Schema.String),
  content: Schema.String,
  /** Base64 images (multimodal models). */
  images: Schema.optional(Schema.Array(Schema.String)),
  tool_calls: Schema.optional(Schema.Array(Schema.Struct({
    function: Schema.Struct({ name: Schema.String, arguments: JsonObject })
  })))
})

/** Sampling and length settings; the wire takes other runtime options too (`num_ctx`, ...). */
const Options = Schema.Struct({
  temperature: Schema.optional(Schema.Number),
  top_p: Schema.optional(Schema.Number),
  top_k: Schema.optional(Schema.Number),
  num_predict: Schema.optional(Schema.Number),
  stop: Schema.optional(Schema.Array(Schema.String)),
  seed: Schema.optional(Schema.Number)
}, JsonObject)

/**
 * The `/api/chat` body: the fields we send. `stream` is required (Ollama streams when
 * it is absent). An absent or `undefined` field is not sent.
 *
 * @internal
 */
export const ChatRequest = Schema.Struct({
  model: Schema.String,
  messages: Schema.Array(Message),
  stream: Schema.Boolean,
  tools: Schema.optional(Schema.Array(Schema.Struct({
    type: Schema.Literal("function"),
    function: Schema.Struct({
      name: Schema.String,
      description: Schema.optional(Schema.String),
      parameters: JsonObject
    })
  }))),
  /** Structured output: a JSON Schema (or `"json"` for any JSON). */
  format: Schema.optional(Schema.Union(Schema.Literal("json"), JsonObject)),
  /** Thinking models: think (and return `thinking`), at a level for models that have levels. */
  think: Schema.optional(Schema.Union(Schema.Boolean, Schema.Literal("low", "medium", "high"))),
  options: Schema.optional(Options)
})

/** @internal */
export type ChatRequest = typeof ChatRequest.Encoded

/** The `/api/chat` body. @internal */
export const encodeRequest = <A>(request: ModelRequest.ModelRequest<A>, stream: boolean): ChatRequest => {
  const messages: Array<typeof Message.Encoded> = []
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
      messages.push({
        role: content.role === "model" ? "assistant" : "user",
        content: text,
        images: images.length === 0 ? undefined : images,
        tool_calls: calls.length === 0 ? undefined : calls
      })
    }
  }
  const g = request.generation
  const options: typeof Options.Encoded = {
    temperature: g?.temperature,
    top_p: g?.topP,
    top_k: g?.topK,
    num_predict: g?.maxOutputTokens,
    stop: g?.stop,
    seed: g?.seed
  }
  const choice = request.toolChoice
  const mode = choice === undefined ? undefined : Features.callingMode(choice)
  const tools = mode?.mode === "none" ? undefined : Features.allowedTools(request.tools, mode)
  const thinking = request.thinking
  const level = thinking?.level === undefined || thinking.level === "minimal" ? undefined : thinking.level
  return {
    model: request.model,
    messages,
    stream,
    tools: tools === undefined || tools.length === 0 ? undefined : tools.map((tool) => ({
      type: "function",
      function: {
        name: tool.name,
        description: tool.description,
        parameters: ModelRequest.toolParameters(tool)
      }
    })),
    format: request.output === undefined ? undefined : ModelRequest.toJsonSchema(request.output.schema),
    think: level ?? thinking?.includeThoughts,
    options: hasDefined(options) ? options : undefined
  }
}

const geminiOnly = (what: string) => () => `${what} is a Gemini feature; Ollama has none`

/**
 * What Ollama's `/api/chat` cannot honour, and why.
 *
 * @internal
 */
export const rules: Features.Rules = {
  "thinking.level": (request) =>
    request.thinking?.level === "minimal" ? "think takes true, false, low, medium or high, not minimal" : undefined,
  "thinking.budget": () => "Ollama has no thinking budget (think takes a level: low, medium or high)",
  "thinking.includeThoughts": (request) =>
    request.thinking?.includeThoughts === false && request.thinking.level !== undefined
      ? "a model Ollama lets think returns its thinking; leave level out with includeThoughts false to turn " +
        "thinking off"
      : undefined,
  safety: geminiOnly("safetySettings"),
  cachedContent: geminiOnly("cachedContent (a Gemini context cache)"),
  serviceTier: geminiOnly("serviceTier"),
  labels: geminiOnly("labels"),
  responseModalities: () => "Ollama's chat answers in text only",
  mediaResolution: geminiOnly("mediaResolution"),
  googleSearch: geminiOnly("Google Search grounding"),
  codeExecution: geminiOnly("code execution"),
  urlContext: geminiOnly("URL context"),
  toolChoice: (request) => {
    const choice = request.toolChoice
    const mode = choice === undefined ? undefined : Features.callingMode(choice).mode
    return mode === "any" || mode === "validated"
      ? "Ollama cannot force or validate a tool call (use auto, optionally with allowedFunctionNames to narrow the " +
        "tools, or none)"
      : undefined
  }
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

const usage = (body: ChatResponse): ModelResponse.Usage => ({
  inputTokens: body.prompt_eval_count,
  outputTokens: body.eval_count,
  totalTokens: body.prompt_eval_count !== undefined && body.eval_count !== undefined
    ? body.prompt_eval_count + body.eval_count
    : undefined
})

/** The parts one body or line holds: thinking, text, tool calls (`call_N` ids from `offset`). */
const partsOf = (
  context: ModelError.Context,
  body: ChatResponse,
  offset: number
): Either.Either<Array<ModelRequest.Part>, ModelError.Decode | ModelError.PrototypePolluted> => {
  const parts: Array<ModelRequest.Part> = []
  const thinking = body.message?.thinking ?? body.thinking ?? ""
  const text = body.message?.content ?? body.response ?? ""
  if (thinking !== "") parts.push({ _tag: "text", text: thinking, thought: true })
  if (text !== "") parts.push({ _tag: "text", text })
  const calls = body.message?.tool_calls ?? []
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i]!
    const args = call.function.arguments
    const parsed = typeof args === "string"
      ? parseArguments(context, call.function.name, args)
      : Either.right(args ?? {})
    if (Either.isLeft(parsed)) return Either.left(parsed.left)
    parts.push(
      { _tag: "functionCall", id: call.id ?? `call_${offset + i}`, name: call.function.name, args: parsed.right }
    )
  }
  return Either.right(parts)
}

const finishOf = (last: ChatResponse, hasToolCalls: boolean): ModelResponse.Finish => ({
  finishReason: last.done ? finishReason(last.done_reason, hasToolCalls) : "unknown",
  rawFinishReason: last.done_reason,
  usage: usage(last),
  modelVersion: last.model
})

/** Normalise a non-streaming response. @internal */
export const normalise = (
  context: ModelError.Context,
  body: ChatResponse,
  raw: unknown
): Either.Either<ModelResponse.ModelResponse, ModelError.ModelError> =>
  Either.map(
    partsOf(context, body, 0),
    (parts) => ModelResponse.make(parts, finishOf(body, parts.some((part) => part._tag === "functionCall")), raw)
  )

/**
 * Folds NDJSON lines. A line `{"error": ...}` (Ollama's mid-stream error, HTTP 200)
 * fails the stream with ServerError; the `done: true` line is the end marker and
 * carries the finish; a body that ends without it fails with StreamTruncated.
 *
 * @internal
 */
export class StreamState implements Stream.Protocol {
  private calls = 0
  private done:
    | { readonly parts: Array<ModelRequest.Part>; readonly body: ChatResponse; readonly raw: unknown }
    | undefined
  constructor(readonly context: ModelError.Context) {}

  step(frame: Stream.Frame, out: Array<ModelResponse.ModelStreamChunk>): ModelError.ModelError | undefined {
    if (this.done !== undefined) return undefined
    // the text line needs neither JSON.parse nor the check; any other goes the general way
    const line = typeof frame === "string" ? textLine(frame) : undefined
    if (line !== undefined) return this.line(line, line, out)
    const json = frameJson(this.context, frame)
    if (json === undefined) return undefined
    if (Either.isLeft(json)) return json.left
    const decoded = decodeResponse(this.context, json.right)
    if (Either.isLeft(decoded)) return decoded.left
    return this.line(decoded.right, json.right, out)
  }

  /** A decoded line: its chunk, or (the `done` line) the finish kept for the end. */
  private line(
    body: ChatResponse,
    raw: unknown,
    out: Array<ModelResponse.ModelStreamChunk>
  ): ModelError.ModelError | undefined {
    const parts = partsOf(this.context, body, this.calls)
    if (Either.isLeft(parts)) return parts.left
    for (const part of parts.right) if (part._tag === "functionCall") this.calls++
    if (body.done) this.done = { parts: parts.right, body, raw }
    else out.push(ModelResponse.chunk(parts.right, raw, undefined, body.model))
    return undefined
  }

  end(out: Array<ModelResponse.ModelStreamChunk>): ModelError.ModelError | undefined {
    if (this.done === undefined) return truncated(this.context, "its `done: true` line")
    out.push(ModelResponse.chunk(this.done.parts, this.done.raw, finishOf(this.done.body, this.calls > 0)))
    return undefined
  }
}
