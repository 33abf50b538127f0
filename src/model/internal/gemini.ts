/**
 * The Gemini wire format (Generative Language API and Vertex AI share it): the request
 * body we send, hand-written Schemas for the response fields we read, and their
 * normalisation. Unknown fields are ignored.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as ModelError from "../ModelError.js"
import * as ModelRequest from "../ModelRequest.js"
import type * as ModelResponse from "../ModelResponse.js"
import { decodeWire, defined } from "./common.js"
import { fromStreamError } from "./errors.js"

const Args = Schema.Record({ key: Schema.String, value: Schema.Unknown })

const PartialArg = Schema.Struct({
  jsonPath: Schema.String,
  stringValue: Schema.optional(Schema.String),
  numberValue: Schema.optional(Schema.Number),
  boolValue: Schema.optional(Schema.Boolean),
  nullValue: Schema.optional(Schema.Unknown),
  willContinue: Schema.optional(Schema.Boolean)
})

/** @internal */
export const Part = Schema.Struct({
  text: Schema.optional(Schema.String),
  thought: Schema.optional(Schema.Boolean),
  thoughtSignature: Schema.optional(Schema.String),
  inlineData: Schema.optional(Schema.Struct({ mimeType: Schema.String, data: Schema.String })),
  functionCall: Schema.optional(Schema.Struct({
    id: Schema.optional(Schema.String),
    name: Schema.optional(Schema.String),
    args: Schema.optional(Args),
    partialArgs: Schema.optional(Schema.Array(PartialArg)),
    willContinue: Schema.optional(Schema.Boolean)
  })),
  functionResponse: Schema.optional(Schema.Struct({
    id: Schema.optional(Schema.String),
    name: Schema.String,
    response: Schema.optional(Args)
  }))
})

/** @internal */
export type Part = typeof Part.Type

const Candidate = Schema.Struct({
  content: Schema.optional(Schema.Struct({
    role: Schema.optional(Schema.String),
    parts: Schema.optional(Schema.Array(Part))
  })),
  finishReason: Schema.optional(Schema.String),
  finishMessage: Schema.optional(Schema.String),
  index: Schema.optional(Schema.Number)
})

const UsageMetadata = Schema.Struct({
  promptTokenCount: Schema.optional(Schema.Number),
  candidatesTokenCount: Schema.optional(Schema.Number),
  thoughtsTokenCount: Schema.optional(Schema.Number),
  cachedContentTokenCount: Schema.optional(Schema.Number),
  totalTokenCount: Schema.optional(Schema.Number)
})

/** @internal */
export const GenerateContentResponse = Schema.Struct({
  candidates: Schema.optional(Schema.Array(Candidate)),
  promptFeedback: Schema.optional(Schema.Struct({
    blockReason: Schema.optional(Schema.String),
    blockReasonMessage: Schema.optional(Schema.String)
  })),
  usageMetadata: Schema.optional(UsageMetadata),
  modelVersion: Schema.optional(Schema.String),
  responseId: Schema.optional(Schema.String)
})

/** @internal */
export type GenerateContentResponse = typeof GenerateContentResponse.Type

/** @internal */
export const CountTokensResponse = Schema.Struct({
  totalTokens: Schema.Number,
  cachedContentTokenCount: Schema.optional(Schema.Number),
  totalBillableCharacters: Schema.optional(Schema.Number)
})

/** @internal */
export const decodeResponse = (backend: ModelError.Backend) =>
  decodeWire(backend, GenerateContentResponse, "a generateContent response")

/** @internal */
export const decodeCountTokens = (backend: ModelError.Backend) =>
  decodeWire(backend, CountTokensResponse, "a countTokens response")

// -----------------------------------------------------------------------------
// Request
// -----------------------------------------------------------------------------

const encodePart = (part: ModelRequest.Part): Record<string, unknown> => {
  switch (part._tag) {
    case "text":
      return defined({ text: part.text, thought: part.thought, thoughtSignature: part.thoughtSignature })
    case "inlineData":
      return { inlineData: { mimeType: part.mimeType, data: part.data } }
    case "functionCall":
      return defined({
        functionCall: { id: part.id, name: part.name, args: part.args },
        thoughtSignature: part.thoughtSignature
      })
    case "functionResponse":
      return { functionResponse: { id: part.id, name: part.name, response: part.response } }
  }
}

/** The `generateContent` body for a request (`model` goes in the URL). @internal */
export const encodeRequest = (request: ModelRequest.ModelRequest<any>): Record<string, unknown> => {
  const generation = request.generation
  const generationConfig = defined({
    temperature: generation?.temperature,
    topP: generation?.topP,
    topK: generation?.topK,
    maxOutputTokens: generation?.maxOutputTokens,
    stopSequences: generation?.stop,
    seed: generation?.seed,
    ...(request.output === undefined ? {} : {
      responseMimeType: "application/json",
      responseJsonSchema: ModelRequest.toJsonSchema(request.output.schema)
    })
  })
  const choice = request.toolChoice
  const toolConfig = choice === undefined ? undefined : {
    functionCallingConfig: typeof choice === "object"
      ? { mode: "ANY", allowedFunctionNames: [choice.tool] }
      : { mode: choice === "required" ? "ANY" : choice === "none" ? "NONE" : "AUTO" }
  }
  return defined({
    contents: request.contents.map((content) => ({ role: content.role, parts: content.parts.map(encodePart) })),
    systemInstruction: request.system === undefined ? undefined : { parts: [{ text: request.system }] },
    tools: request.tools === undefined || request.tools.length === 0 ? undefined : [{
      functionDeclarations: request.tools.map((tool) =>
        defined({
          name: tool.name,
          description: tool.description,
          parametersJsonSchema: ModelRequest.toolParameters(tool)
        })
      )
    }],
    toolConfig,
    generationConfig: Object.keys(generationConfig).length === 0 ? undefined : generationConfig
  })
}

// -----------------------------------------------------------------------------
// Response
// -----------------------------------------------------------------------------

const blockedFinishReasons = new Set([
  "SAFETY",
  "RECITATION",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION"
])

const finishReason = (raw: string | undefined, hasToolCalls: boolean): ModelResponse.FinishReason => {
  switch (raw) {
    case undefined:
      return hasToolCalls ? "tool-calls" : "unknown"
    case "STOP":
      return hasToolCalls ? "tool-calls" : "stop"
    case "MAX_TOKENS":
      return "length"
    case "MALFORMED_FUNCTION_CALL":
    case "UNEXPECTED_TOOL_CALL":
    case "TOO_MANY_TOOL_CALLS":
      return "malformed-tool-call"
    default:
      return blockedFinishReasons.has(raw) ? "content-filter" : "other"
  }
}

const usage = (metadata: typeof UsageMetadata.Type | undefined): ModelResponse.Usage =>
  metadata === undefined ? {} : defined({
    inputTokens: metadata.promptTokenCount,
    outputTokens: metadata.candidatesTokenCount,
    thoughtTokens: metadata.thoughtsTokenCount,
    cachedInputTokens: metadata.cachedContentTokenCount,
    totalTokens: metadata.totalTokenCount
  })

/** A prompt block or a blocked candidate, as ContentBlocked. */
const blocked = (
  backend: ModelError.Backend,
  body: GenerateContentResponse
): ModelError.ContentBlocked | undefined => {
  const feedback = body.promptFeedback
  if (feedback?.blockReason !== undefined && feedback.blockReason !== "BLOCKED_REASON_UNSPECIFIED") {
    return new ModelError.ContentBlocked({
      backend,
      where: "prompt",
      blockReason: feedback.blockReason,
      detail: feedback.blockReasonMessage ?? ""
    })
  }
  const candidate = body.candidates?.[0]
  if (candidate?.finishReason !== undefined && blockedFinishReasons.has(candidate.finishReason)) {
    return new ModelError.ContentBlocked({
      backend,
      where: "response",
      blockReason: candidate.finishReason,
      detail: candidate.finishMessage ?? ""
    })
  }
  return undefined
}

const toRequestPart = (part: Part, callIndex: () => number): ModelRequest.Part | undefined => {
  if (part.functionCall !== undefined && part.functionCall.name !== undefined) {
    return ModelRequest.FunctionCallPart.make(defined({
      id: part.functionCall.id ?? `call_${callIndex()}`,
      name: part.functionCall.name,
      args: part.functionCall.args ?? {},
      thoughtSignature: part.thoughtSignature
    }) as ModelRequest.FunctionCallPart)
  }
  if (part.inlineData !== undefined) return ModelRequest.InlineDataPart.make(part.inlineData)
  if (part.text !== undefined) {
    if (part.text === "" && part.thoughtSignature === undefined) return undefined
    return ModelRequest.TextPart.make(defined({
      text: part.text,
      thought: part.thought,
      thoughtSignature: part.thoughtSignature
    }) as ModelRequest.TextPart)
  }
  return undefined
}

/** Normalise a decoded non-streaming response (or a stream folded into one). @internal */
export const normalise = (
  backend: ModelError.Backend,
  body: GenerateContentResponse,
  raw: unknown
): Either.Either<ModelResponse.ModelResponse, ModelError.ModelError> => {
  const block = blocked(backend, body)
  if (block !== undefined) return Either.left(block)
  const candidate = body.candidates?.[0]
  let calls = 0
  const parts = (candidate?.content?.parts ?? []).flatMap((part) => {
    const converted = toRequestPart(part, () => calls++)
    return converted === undefined ? [] : [converted]
  })
  const toolCalls: Array<ModelResponse.ToolCall> = parts.flatMap((part) =>
    part._tag === "functionCall"
      ? [defined({ id: part.id, name: part.name, args: part.args, thoughtSignature: part.thoughtSignature }) as ModelResponse.ToolCall]
      : []
  )
  const texts = parts.filter((part): part is ModelRequest.TextPart => part._tag === "text")
  const thoughts = texts.filter((part) => part.thought === true).map((part) => part.text).join("")
  return Either.right(defined({
    text: texts.filter((part) => part.thought !== true).map((part) => part.text).join(""),
    thoughts: thoughts === "" ? undefined : thoughts,
    content: { role: "model" as const, parts },
    toolCalls,
    finishReason: finishReason(candidate?.finishReason, toolCalls.length > 0),
    rawFinishReason: candidate?.finishReason,
    usage: usage(body.usageMetadata),
    modelVersion: body.modelVersion,
    responseId: body.responseId,
    raw
  }) as ModelResponse.ModelResponse)
}

// -----------------------------------------------------------------------------
// Streaming
// -----------------------------------------------------------------------------

interface PendingCall {
  readonly name: string
  readonly id: string | undefined
  readonly thoughtSignature: string | undefined
  args: Record<string, unknown>
}

/**
 * Folds `streamGenerateContent?alt=sse` events: every event is a whole
 * GenerateContentResponse with new parts only. Function calls streamed as
 * `partialArgs` (Gemini 3 `streamFunctionCallArguments`) are assembled and emitted
 * once complete.
 *
 * @internal
 */
export class StreamState {
  private readonly parts: Array<Part> = []
  private pending: PendingCall | undefined = undefined
  private last: GenerateContentResponse = {}
  private lastRaw: unknown = undefined
  private calls = 0
  constructor(readonly backend: ModelError.Backend) {}

  /** One decoded event → one chunk, or the error the event reports. */
  step(body: GenerateContentResponse, raw: unknown): Either.Either<ModelResponse.ModelStreamChunk, ModelError.ModelError> {
    const block = blocked(this.backend, body)
    if (block !== undefined) return Either.left(block)
    this.lastRaw = raw
    this.last = {
      ...this.last,
      ...defined({ usageMetadata: body.usageMetadata, modelVersion: body.modelVersion, responseId: body.responseId })
    }
    const candidate = body.candidates?.[0]
    let textDelta = ""
    let thoughtDelta = ""
    const toolCalls: Array<ModelResponse.ToolCall> = []
    for (const part of candidate?.content?.parts ?? []) {
      const call = part.functionCall
      if (call !== undefined) {
        const done = this.onFunctionCall(part)
        if (done !== undefined) toolCalls.push(done)
        continue
      }
      this.parts.push(part)
      if (part.text !== undefined) {
        if (part.thought === true) thoughtDelta += part.text
        else textDelta += part.text
      }
    }
    if (candidate?.finishReason !== undefined) {
      this.last = { ...this.last, candidates: [{ finishReason: candidate.finishReason }] }
      if (this.pending !== undefined) toolCalls.push(this.complete())
    }
    const finished = candidate?.finishReason
    return Either.right(defined({
      textDelta,
      thoughtDelta: thoughtDelta === "" ? undefined : thoughtDelta,
      toolCalls,
      finishReason: finished === undefined
        ? undefined
        : finishReason(finished, this.parts.some((part) => part.functionCall !== undefined)),
      usage: finished === undefined ? undefined : usage(this.last.usageMetadata),
      modelVersion: body.modelVersion,
      raw
    }) as ModelResponse.ModelStreamChunk)
  }

  /** The whole stream as one response. */
  finish(): Either.Either<ModelResponse.ModelResponse, ModelError.ModelError> {
    if (this.pending !== undefined) this.complete()
    const finish = this.last.candidates?.[0]?.finishReason
    return normalise(this.backend, {
      ...this.last,
      candidates: [defined({ content: { role: "model", parts: this.parts }, finishReason: finish })]
    }, this.lastRaw)
  }

  private onFunctionCall(part: Part): ModelResponse.ToolCall | undefined {
    const call = part.functionCall!
    if (call.name !== undefined) {
      if (this.pending !== undefined) this.complete()
      const args = call.args === undefined ? {} : { ...call.args }
      this.pending = { name: call.name, id: call.id, thoughtSignature: part.thoughtSignature, args }
      applyPartialArgs(args, call.partialArgs ?? [])
      return call.willContinue === true ? undefined : this.complete()
    }
    if (this.pending === undefined) return undefined
    applyPartialArgs(this.pending.args, call.partialArgs ?? [])
    return call.willContinue === true ? undefined : this.complete()
  }

  private complete(): ModelResponse.ToolCall {
    const pending = this.pending!
    this.pending = undefined
    const id = pending.id ?? `call_${this.calls}`
    this.calls++
    this.parts.push(defined({
      functionCall: { id, name: pending.name, args: pending.args },
      thoughtSignature: pending.thoughtSignature
    }) as Part)
    return defined({ id, name: pending.name, args: pending.args, thoughtSignature: pending.thoughtSignature }) as ModelResponse.ToolCall
  }
}

/** Apply `partialArgs` (`$.a.b[0]` paths; string values concatenate). */
const applyPartialArgs = (target: Record<string, unknown>, partials: ReadonlyArray<typeof PartialArg.Type>) => {
  for (const partial of partials) {
    const path = [...partial.jsonPath.replace(/^\$/, "").matchAll(/\.([^.[\]]+)|\[(\d+)\]/g)].map((m) =>
      m[1] ?? Number(m[2])
    )
    if (path.length === 0) continue
    let node: any = target
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i]!
      if (node[key] === undefined || typeof node[key] !== "object") {
        node[key] = typeof path[i + 1] === "number" ? [] : {}
      }
      node = node[key]
    }
    const key = path[path.length - 1]!
    if (partial.stringValue !== undefined) {
      node[key] = typeof node[key] === "string" ? node[key] + partial.stringValue : partial.stringValue
    } else if (partial.numberValue !== undefined) node[key] = partial.numberValue
    else if (partial.boolValue !== undefined) node[key] = partial.boolValue
    else if ("nullValue" in partial) node[key] = null
  }
}

/**
 * One parsed SSE payload through the state: an `{"error": {...}}` event (Google sends
 * one when a stream fails after it started) fails the stream.
 *
 * @internal
 */
export const stepPayload = (
  state: StreamState,
  json: unknown
): Either.Either<ModelResponse.ModelStreamChunk, ModelError.ModelError> => {
  if (typeof json === "object" && json !== null && "error" in json) {
    const error = fromStreamError(state.backend, json)
    if (error !== undefined) return Either.left(error)
  }
  return Either.flatMap(decodeResponse(state.backend)(json), (body) => state.step(body, json))
}
