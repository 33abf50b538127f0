/**
 * The Gemini wire format (Generative Language API and Vertex AI share it): hand-written
 * Schemas for the request fields we send and the response fields we read, the encoding
 * of a request and the normalisation of a response. Unknown response fields are ignored.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { decodeWire, frameJson, hasDefined, JsonObject, truncated } from "../../internal/common.js"
import { everyOf, isObject, optional, own } from "../../internal/fastpath.js"
import * as Features from "../../internal/features.js"
import type * as Stream from "../../internal/stream.js"
import * as ModelError from "../../ModelError.js"
import * as ModelRequest from "../../ModelRequest.js"
import * as ModelResponse from "../../ModelResponse.js"

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
    args: Schema.optional(JsonObject),
    partialArgs: Schema.optional(Schema.Array(PartialArg)),
    willContinue: Schema.optional(Schema.Boolean)
  })),
  functionResponse: Schema.optional(Schema.Struct({
    id: Schema.optional(Schema.String),
    name: Schema.String,
    response: Schema.optional(JsonObject)
  })),
  executableCode: Schema.optional(Schema.Struct({
    language: Schema.optional(Schema.String),
    code: Schema.optional(Schema.String),
    id: Schema.optional(Schema.String)
  })),
  codeExecutionResult: Schema.optional(Schema.Struct({
    outcome: Schema.optional(Schema.String),
    output: Schema.optional(Schema.String),
    id: Schema.optional(Schema.String)
  }))
})

/** @internal */
export type Part = typeof Part.Type

const SafetyRating = Schema.Struct({
  category: Schema.String,
  probability: Schema.optional(Schema.String),
  blocked: Schema.optional(Schema.Boolean)
})

/** Search grounding (Google Search, Vertex AI Search): the fields we read; the rest is kept as received. */
const GroundingMetadata = Schema.Struct({
  webSearchQueries: Schema.optional(Schema.Array(Schema.String)),
  retrievalQueries: Schema.optional(Schema.Array(Schema.String)),
  searchEntryPoint: Schema.optional(Schema.Struct({
    renderedContent: Schema.optional(Schema.String),
    sdkBlob: Schema.optional(Schema.String)
  })),
  groundingChunks: Schema.optional(Schema.Array(Schema.Struct({
    web: Schema.optional(Schema.Struct({
      uri: Schema.optional(Schema.String),
      title: Schema.optional(Schema.String),
      domain: Schema.optional(Schema.String)
    })),
    retrievedContext: Schema.optional(Schema.Struct({
      uri: Schema.optional(Schema.String),
      title: Schema.optional(Schema.String),
      text: Schema.optional(Schema.String)
    }))
  }))),
  groundingSupports: Schema.optional(Schema.Array(Schema.Struct({
    segment: Schema.optional(Schema.Struct({
      startIndex: Schema.optional(Schema.Number),
      endIndex: Schema.optional(Schema.Number),
      partIndex: Schema.optional(Schema.Number),
      text: Schema.optional(Schema.String)
    })),
    groundingChunkIndices: Schema.optional(Schema.Array(Schema.Number)),
    confidenceScores: Schema.optional(Schema.Array(Schema.Number))
  })))
})

/** A citation: Vertex AI names the list `citations`, the Gemini API `citationSources`. */
const CitationWire = Schema.Struct({
  startIndex: Schema.optional(Schema.Number),
  endIndex: Schema.optional(Schema.Number),
  uri: Schema.optional(Schema.String),
  title: Schema.optional(Schema.String),
  license: Schema.optional(Schema.String)
})

const Candidate = Schema.Struct({
  content: Schema.optional(Schema.Struct({
    role: Schema.optional(Schema.String),
    parts: Schema.optional(Schema.Array(Part))
  })),
  finishReason: Schema.optional(Schema.String),
  finishMessage: Schema.optional(Schema.String),
  safetyRatings: Schema.optional(Schema.Array(SafetyRating)),
  groundingMetadata: Schema.optional(GroundingMetadata),
  citationMetadata: Schema.optional(Schema.Struct({
    citations: Schema.optional(Schema.Array(CitationWire)),
    citationSources: Schema.optional(Schema.Array(CitationWire))
  })),
  urlContextMetadata: Schema.optional(Schema.Struct({
    urlMetadata: Schema.optional(Schema.Array(Schema.Struct({
      retrievedUrl: Schema.optional(Schema.String),
      urlRetrievalStatus: Schema.optional(Schema.String)
    })))
  })),
  index: Schema.optional(Schema.Number)
})

const UsageMetadata = Schema.Struct({
  promptTokenCount: Schema.optional(Schema.Number),
  candidatesTokenCount: Schema.optional(Schema.Number),
  thoughtsTokenCount: Schema.optional(Schema.Number),
  cachedContentTokenCount: Schema.optional(Schema.Number),
  toolUsePromptTokenCount: Schema.optional(Schema.Number),
  totalTokenCount: Schema.optional(Schema.Number),
  serviceTier: Schema.optional(Schema.String)
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

/** A text part: `text`, maybe `thought` and `thoughtSignature`, no other field the Schema knows. */
const isTextPart = (u: unknown): boolean =>
  isObject(u) && typeof u.text === "string" && own(u, "text") &&
  optional(u, "thought", u.thought, "boolean") && optional(u, "thoughtSignature", u.thoughtSignature, "string") &&
  u.inlineData === undefined && u.functionCall === undefined && u.functionResponse === undefined &&
  u.executableCode === undefined && u.codeExecutionResult === undefined

/** A content of text parts. */
const isTextContent = (u: unknown): boolean =>
  isObject(u) && optional(u, "role", u.role, "string") &&
  (u.parts === undefined || (everyOf(u.parts, isTextPart) && own(u, "parts")))

/** A candidate of text parts, maybe its finish reason and index. */
const isTextCandidate = (u: unknown): boolean =>
  isObject(u) && (u.content === undefined || (isTextContent(u.content) && own(u, "content"))) &&
  optional(u, "finishReason", u.finishReason, "string") && optional(u, "index", u.index, "number") &&
  u.finishMessage === undefined && u.safetyRatings === undefined && u.groundingMetadata === undefined &&
  u.citationMetadata === undefined && u.urlContextMetadata === undefined

/** Token counts (numbers) and the service tier (a string). */
const isUsage = (u: unknown): boolean =>
  isObject(u) && optional(u, "promptTokenCount", u.promptTokenCount, "number") &&
  optional(u, "candidatesTokenCount", u.candidatesTokenCount, "number") &&
  optional(u, "thoughtsTokenCount", u.thoughtsTokenCount, "number") &&
  optional(u, "cachedContentTokenCount", u.cachedContentTokenCount, "number") &&
  optional(u, "toolUsePromptTokenCount", u.toolUsePromptTokenCount, "number") &&
  optional(u, "totalTokenCount", u.totalTokenCount, "number") && optional(u, "serviceTier", u.serviceTier, "string")

/**
 * The common stream event, checked by hand (`fastpath.ts`): at most one candidate, of
 * text parts; usage; model version; response id. Anything else (`false`) goes through
 * `decodeResponse` (the structural guard, then the Schema).
 *
 * @internal
 */
export const isCommonEvent = (u: unknown): u is GenerateContentResponse => {
  if (!isObject(u)) return false
  const candidates = u.candidates
  return (candidates === undefined ||
    (Array.isArray(candidates) && candidates.length <= 1 &&
      (candidates.length === 0 || isTextCandidate(candidates[0])) && own(u, "candidates"))) &&
    (u.usageMetadata === undefined || (isUsage(u.usageMetadata) && own(u, "usageMetadata"))) &&
    optional(u, "modelVersion", u.modelVersion, "string") && optional(u, "responseId", u.responseId, "string") &&
    u.promptFeedback === undefined
}

const responseWhat = "a generateContent response"

/** @internal */
export const decodeResponse = decodeWire(GenerateContentResponse, responseWhat, isCommonEvent)

/** A body `isCommonEvent` has already refused: the structural guard, then the Schema. */
const decodeUncommon = decodeWire(GenerateContentResponse, responseWhat)

/** @internal */
export const decodeCountTokens = decodeWire(CountTokensResponse, "a countTokens response")

// -----------------------------------------------------------------------------
// Request
// -----------------------------------------------------------------------------

/** A content part we send: text (or a thought), inline data, a function call or its response. */
const RequestPart = Schema.Union(
  Schema.Struct({
    text: Schema.String,
    thought: Schema.optional(Schema.Boolean),
    thoughtSignature: Schema.optional(Schema.String)
  }),
  Schema.Struct({
    inlineData: Schema.Struct({ mimeType: Schema.String, data: Schema.String }),
    thoughtSignature: Schema.optional(Schema.String)
  }),
  Schema.Struct({
    functionCall: Schema.Struct({ id: Schema.optional(Schema.String), name: Schema.String, args: JsonObject }),
    thoughtSignature: Schema.optional(Schema.String)
  }),
  Schema.Struct({
    functionResponse: Schema.Struct({ id: Schema.optional(Schema.String), name: Schema.String, response: JsonObject })
  }),
  Schema.Struct({
    executableCode: Schema.Struct({ language: Schema.String, code: Schema.String, id: Schema.optional(Schema.String) }),
    thoughtSignature: Schema.optional(Schema.String)
  }),
  Schema.Struct({
    codeExecutionResult: Schema.Struct({
      outcome: Schema.String,
      output: Schema.optional(Schema.String),
      id: Schema.optional(Schema.String)
    })
  })
)

const Content = Schema.Struct({ role: Schema.Literal("user", "model"), parts: Schema.Array(RequestPart) })

const SystemInstruction = Schema.Struct({ parts: Schema.Array(RequestPart) })

const GenerationConfig = Schema.Struct({
  temperature: Schema.optional(Schema.Number),
  topP: Schema.optional(Schema.Number),
  topK: Schema.optional(Schema.Number),
  maxOutputTokens: Schema.optional(Schema.Number),
  stopSequences: Schema.optional(Schema.Array(Schema.String)),
  seed: Schema.optional(Schema.Number),
  responseMimeType: Schema.optional(Schema.String),
  responseJsonSchema: Schema.optional(JsonObject),
  responseModalities: Schema.optional(Schema.Array(Schema.Literal("TEXT", "IMAGE", "AUDIO"))),
  mediaResolution: Schema.optional(
    Schema.Literal("MEDIA_RESOLUTION_LOW", "MEDIA_RESOLUTION_MEDIUM", "MEDIA_RESOLUTION_HIGH")
  ),
  thinkingConfig: Schema.optional(Schema.Struct({
    includeThoughts: Schema.optional(Schema.Boolean),
    thinkingBudget: Schema.optional(Schema.Number),
    thinkingLevel: Schema.optional(Schema.Literal("MINIMAL", "LOW", "MEDIUM", "HIGH"))
  }))
})

/** One entry of `tools`: function declarations, or a tool Gemini runs itself. */
const ToolWire = Schema.Union(
  Schema.Struct({
    functionDeclarations: Schema.Array(Schema.Struct({
      name: Schema.String,
      description: Schema.optional(Schema.String),
      parametersJsonSchema: JsonObject
    }))
  }),
  Schema.Struct({
    googleSearch: Schema.Struct({ excludeDomains: Schema.optional(Schema.Array(Schema.String)) })
  }),
  Schema.Struct({ codeExecution: JsonObject }),
  Schema.Struct({ urlContext: JsonObject })
)

/**
 * The `generateContent` / `streamGenerateContent` body (`model` goes in the URL): the
 * fields we send. An absent or `undefined` field is not sent.
 *
 * @internal
 */
export const GenerateContentRequest = Schema.Struct({
  contents: Schema.Array(Content),
  systemInstruction: Schema.optional(SystemInstruction),
  tools: Schema.optional(Schema.Array(ToolWire)),
  toolConfig: Schema.optional(Schema.Struct({
    functionCallingConfig: Schema.Struct({
      mode: Schema.Literal("AUTO", "ANY", "NONE", "VALIDATED"),
      allowedFunctionNames: Schema.optional(Schema.Array(Schema.String))
    })
  })),
  safetySettings: Schema.optional(Schema.Array(Schema.Struct({
    category: Schema.String,
    threshold: Schema.String,
    method: Schema.optional(Schema.String)
  }))),
  cachedContent: Schema.optional(Schema.String),
  serviceTier: Schema.optional(Schema.Literal("standard", "flex", "priority")),
  labels: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  generationConfig: Schema.optional(GenerationConfig)
})

/** @internal */
export type GenerateContentRequest = typeof GenerateContentRequest.Encoded

/**
 * The `countTokens` body: the contents, and on Vertex AI the system instruction (the
 * Gemini API takes only contents).
 *
 * @internal
 */
export const CountTokensRequest = GenerateContentRequest.pick("contents", "systemInstruction")

/** @internal */
export type CountTokensRequest = typeof CountTokensRequest.Encoded

const encodePart = (part: ModelRequest.Part): typeof RequestPart.Encoded => {
  switch (part._tag) {
    case "text":
      return { text: part.text, thought: part.thought, thoughtSignature: part.thoughtSignature }
    case "inlineData":
      return { inlineData: { mimeType: part.mimeType, data: part.data }, thoughtSignature: part.thoughtSignature }
    case "functionCall":
      return {
        functionCall: { id: part.id, name: part.name, args: part.args },
        thoughtSignature: part.thoughtSignature
      }
    case "functionResponse":
      return { functionResponse: { id: part.id, name: part.name, response: part.response } }
    case "executableCode":
      return {
        executableCode: { language: part.language, code: part.code, id: part.id },
        thoughtSignature: part.thoughtSignature
      }
    case "codeExecutionResult":
      return { codeExecutionResult: { outcome: part.outcome, output: part.output, id: part.id } }
  }
}

const thinkingLevels = { minimal: "MINIMAL", low: "LOW", medium: "MEDIUM", high: "HIGH" } as const

const mediaResolutions = {
  low: "MEDIA_RESOLUTION_LOW",
  medium: "MEDIA_RESOLUTION_MEDIUM",
  high: "MEDIA_RESOLUTION_HIGH"
} as const

const modalities = { text: "TEXT", image: "IMAGE", audio: "AUDIO" } as const

const callingModes = { auto: "AUTO", any: "ANY", none: "NONE", validated: "VALIDATED" } as const

/** `tools`: the function declarations, then the built-in tools asked for. */
const encodeTools = <A>(request: ModelRequest.ModelRequest<A>): Array<typeof ToolWire.Encoded> | undefined => {
  const tools: Array<typeof ToolWire.Encoded> = []
  if (request.tools !== undefined && request.tools.length > 0) {
    tools.push({
      functionDeclarations: request.tools.map((tool) => ({
        name: tool.name,
        description: tool.description,
        parametersJsonSchema: ModelRequest.toolParameters(tool)
      }))
    })
  }
  const builtIn = request.builtInTools
  const search = builtIn?.googleSearch
  if (search !== undefined && search !== false) {
    tools.push({ googleSearch: search === true ? {} : { excludeDomains: search.excludeDomains } })
  }
  if (builtIn?.codeExecution === true) tools.push({ codeExecution: {} })
  if (builtIn?.urlContext === true) tools.push({ urlContext: {} })
  return tools.length === 0 ? undefined : tools
}

/** The `generateContent` body for a request (`model` goes in the URL). @internal */
export const encodeRequest = <A>(request: ModelRequest.ModelRequest<A>): GenerateContentRequest => {
  const generation = request.generation
  const generationConfig: typeof GenerationConfig.Encoded = {
    temperature: generation?.temperature,
    topP: generation?.topP,
    topK: generation?.topK,
    maxOutputTokens: generation?.maxOutputTokens,
    stopSequences: generation?.stop,
    seed: generation?.seed,
    ...(request.output === undefined ? {} : {
      responseMimeType: "application/json",
      responseJsonSchema: ModelRequest.toJsonSchema(request.output.schema)
    }),
    responseModalities: request.responseModalities?.map((modality) => modalities[modality]),
    mediaResolution: request.mediaResolution === undefined ? undefined : mediaResolutions[request.mediaResolution],
    thinkingConfig: request.thinking === undefined ? undefined : {
      includeThoughts: request.thinking.includeThoughts,
      thinkingBudget: request.thinking.budget,
      thinkingLevel: request.thinking.level === undefined ? undefined : thinkingLevels[request.thinking.level]
    }
  }
  const mode = request.toolChoice === undefined ? undefined : Features.callingMode(request.toolChoice)
  return {
    contents: request.contents.map((content) => ({ role: content.role, parts: content.parts.map(encodePart) })),
    systemInstruction: request.system === undefined ? undefined : { parts: [{ text: request.system }] },
    tools: encodeTools(request),
    toolConfig: mode === undefined ? undefined : {
      functionCallingConfig: {
        mode: callingModes[mode.mode],
        allowedFunctionNames: mode.allowedFunctionNames === undefined || mode.allowedFunctionNames.length === 0
          ? undefined
          : mode.allowedFunctionNames
      }
    },
    safetySettings: request.safety === undefined || request.safety.length === 0 ? undefined : request.safety,
    cachedContent: request.cachedContent,
    serviceTier: request.serviceTier,
    labels: request.labels,
    generationConfig: hasDefined(generationConfig) ? generationConfig : undefined
  }
}

/**
 * What the Gemini backends cannot honour: nothing this API models (both Gemini
 * backends have every feature).
 *
 * @internal
 */
export const rules: Features.Rules = {}

// -----------------------------------------------------------------------------
// Response
// -----------------------------------------------------------------------------

const filterFinishReasons = new Set([
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
      return filterFinishReasons.has(raw) ? "content-filter" : "other"
  }
}

const usage = (metadata: typeof UsageMetadata.Type | undefined): ModelResponse.Usage =>
  metadata === undefined ? {} : {
    inputTokens: metadata.promptTokenCount,
    outputTokens: metadata.candidatesTokenCount,
    thoughtTokens: metadata.thoughtsTokenCount,
    cachedInputTokens: metadata.cachedContentTokenCount,
    toolUseInputTokens: metadata.toolUsePromptTokenCount,
    totalTokens: metadata.totalTokenCount
  }

/** A prompt blocked before any candidate: the one content filter that is an error. */
const promptBlocked = (
  context: ModelError.Context,
  body: GenerateContentResponse
): ModelError.ContentBlocked | undefined => {
  const feedback = body.promptFeedback
  if (
    feedback?.blockReason === undefined || feedback.blockReason === "BLOCKED_REASON_UNSPECIFIED" ||
    (body.candidates !== undefined && body.candidates.length > 0)
  ) return undefined
  const counted = body.usageMetadata
  return new ModelError.ContentBlocked({
    ...context,
    where: "prompt",
    blockReason: feedback.blockReason,
    detail: feedback.blockReasonMessage ?? "",
    usage: counted === undefined ? undefined : {
      inputTokens: counted.promptTokenCount,
      totalTokens: counted.totalTokenCount
    }
  })
}

/** A wire part as a content part (`callId` numbers calls without an id). */
const toRequestPart = (part: Part, callId: () => string): ModelRequest.Part | undefined => {
  if (part.functionCall !== undefined && part.functionCall.name !== undefined) {
    return ({
      _tag: "functionCall",
      id: part.functionCall.id ?? callId(),
      name: part.functionCall.name,
      args: part.functionCall.args ?? {},
      thoughtSignature: part.thoughtSignature
    })
  }
  if (part.inlineData !== undefined) {
    return {
      _tag: "inlineData",
      mimeType: part.inlineData.mimeType,
      data: part.inlineData.data,
      thoughtSignature: part.thoughtSignature
    }
  }
  if (part.executableCode !== undefined) {
    return {
      _tag: "executableCode",
      language: part.executableCode.language ?? "LANGUAGE_UNSPECIFIED",
      code: part.executableCode.code ?? "",
      id: part.executableCode.id,
      thoughtSignature: part.thoughtSignature
    }
  }
  if (part.codeExecutionResult !== undefined) {
    return {
      _tag: "codeExecutionResult",
      outcome: part.codeExecutionResult.outcome ?? "OUTCOME_UNSPECIFIED",
      output: part.codeExecutionResult.output,
      id: part.codeExecutionResult.id
    }
  }
  if (part.text !== undefined) return textPart(part.text, part)
  return undefined
}

/** A text part (maybe a thought) as the request's part. */
const textPart = (text: string, part: Part): ModelRequest.Part => ({
  _tag: "text",
  text,
  thought: part.thought,
  thoughtSignature: part.thoughtSignature
})

type Candidate = typeof Candidate.Type

/** Search grounding and URL context metadata, normalised; `undefined` when the candidate has neither. */
const groundingOf = (candidate: Candidate | undefined): ModelResponse.Grounding | undefined => {
  const metadata = candidate?.groundingMetadata
  const urlMetadata = candidate?.urlContextMetadata?.urlMetadata
  if (metadata === undefined && urlMetadata === undefined) return undefined
  return {
    queries: [...(metadata?.webSearchQueries ?? []), ...(metadata?.retrievalQueries ?? [])],
    sources: (metadata?.groundingChunks ?? []).map((chunk): ModelResponse.GroundingSource =>
      chunk.web !== undefined
        ? { kind: "web", uri: chunk.web.uri, title: chunk.web.title, domain: chunk.web.domain }
        : chunk.retrievedContext !== undefined
        ? { kind: "retrievedContext", uri: chunk.retrievedContext.uri, title: chunk.retrievedContext.title }
        : { kind: "other" }
    ),
    supports: (metadata?.groundingSupports ?? []).map((support) => ({
      text: support.segment?.text,
      startIndex: support.segment?.startIndex,
      endIndex: support.segment?.endIndex,
      partIndex: support.segment?.partIndex,
      sourceIndices: support.groundingChunkIndices ?? [],
      confidenceScores: support.confidenceScores
    })),
    searchEntryPoint: metadata?.searchEntryPoint,
    urls: (urlMetadata ?? []).flatMap((entry) =>
      entry.retrievedUrl === undefined ? [] : [{ url: entry.retrievedUrl, status: entry.urlRetrievalStatus }]
    )
  }
}

const citationsOf = (candidate: Candidate | undefined): ReadonlyArray<ModelResponse.Citation> | undefined => {
  const metadata = candidate?.citationMetadata
  if (metadata === undefined) return undefined
  return [...(metadata.citations ?? []), ...(metadata.citationSources ?? [])]
}

const finishOf = (
  candidate: Candidate | undefined,
  body: GenerateContentResponse,
  hasToolCalls: boolean
): ModelResponse.Finish => ({
  finishReason: finishReason(candidate?.finishReason, hasToolCalls),
  rawFinishReason: candidate?.finishReason,
  finishMessage: candidate?.finishMessage,
  safetyRatings: candidate?.safetyRatings,
  groundingMetadata: candidate?.groundingMetadata,
  grounding: groundingOf(candidate),
  citations: citationsOf(candidate),
  serviceTier: body.usageMetadata?.serviceTier,
  usage: usage(body.usageMetadata),
  modelVersion: body.modelVersion,
  responseId: body.responseId
})

/**
 * Normalise a decoded non-streaming response. A candidate a filter stopped keeps its
 * content (`finishReason: "content-filter"`); only a prompt blocked with no candidate
 * fails, with ContentBlocked.
 *
 * @internal
 */
export const normalise = (
  context: ModelError.Context,
  body: GenerateContentResponse,
  raw: unknown
): Either.Either<ModelResponse.ModelResponse, ModelError.ModelError> => {
  const block = promptBlocked(context, body)
  if (block !== undefined) return Either.left(block)
  const candidate = body.candidates?.[0]
  let calls = 0
  const parts: Array<ModelRequest.Part> = []
  for (const part of candidate?.content?.parts ?? []) {
    const converted = toRequestPart(part, () => `call_${calls++}`)
    if (converted !== undefined) parts.push(converted)
  }
  const hasToolCalls = parts.some((part) => part._tag === "functionCall")
  return Either.right(ModelResponse.make(parts, finishOf(candidate, body, hasToolCalls), raw))
}

// -----------------------------------------------------------------------------
// Streaming
// -----------------------------------------------------------------------------

interface PendingCall {
  readonly name: string
  readonly id: string | undefined
  readonly thoughtSignature: string | undefined
  readonly args: Record<string, unknown>
}

/**
 * Folds `streamGenerateContent?alt=sse` events: every event is a whole
 * GenerateContentResponse with new parts only. Function calls streamed as
 * `partialArgs` (Gemini 3 `streamFunctionCallArguments`) are assembled and emitted
 * once complete. The event with the candidate's `finishReason` is the end marker: its
 * chunk is held until the body ends (later events only add usage) and carries the
 * finish; a body that ends without it fails with StreamTruncated.
 *
 * @internal
 */
export class StreamState implements Stream.Protocol {
  private pending: PendingCall | undefined = undefined
  private calls = 0
  private hasToolCalls = false
  // what the final chunk reports: the latest of each (merged field by field, in place)
  private usageMetadata: GenerateContentResponse["usageMetadata"] = undefined
  private modelVersion: string | undefined = undefined
  private responseId: string | undefined = undefined
  private candidate: { -readonly [K in keyof Candidate]: Candidate[K] } | undefined = undefined
  private readonly callId = () => this.nextId()
  private finished = false
  private readonly held: Array<ModelRequest.Part> = []
  private heldRaw: unknown = undefined
  constructor(readonly context: ModelError.Context) {}

  step(frame: Stream.Frame, out: Array<ModelResponse.ModelStreamChunk>): ModelError.ModelError | undefined {
    const json = frameJson(this.context, frame)
    if (json === undefined) return undefined
    if (Either.isLeft(json)) return json.left
    const body = json.right
    // the check runs once: a body it refuses is decoded without asking it again
    if (!isCommonEvent(body)) {
      const decoded = decodeUncommon(this.context, body)
      if (Either.isLeft(decoded)) return decoded.left
      return this.event(decoded.right, body, out)
    }
    return this.finished || this.pending !== undefined || body.candidates?.[0]?.finishReason !== undefined
      ? this.event(body, body, out)
      : this.textEvent(body, out)
  }

  /**
   * A common event (`isCommonEvent`) before the finish, no call pending: what `event`
   * does with it, without the work that is none for it (no prompt feedback, text parts
   * only, nothing of the candidate to keep: the finish keeps it). Most events of a long
   * answer are these.
   */
  private textEvent(body: GenerateContentResponse, out: Array<ModelResponse.ModelStreamChunk>): undefined {
    this.envelope(body)
    const parts: Array<ModelRequest.Part> = []
    for (const part of body.candidates?.[0]?.content?.parts ?? []) {
      if (part.text !== undefined) parts.push(textPart(part.text, part))
    }
    out.push(ModelResponse.chunk(parts, body, undefined, body.modelVersion))
    return undefined
  }

  /** The latest usage, model version and response id the finish reports. */
  private envelope(body: GenerateContentResponse): void {
    if (body.usageMetadata !== undefined) this.usageMetadata = body.usageMetadata
    if (body.modelVersion !== undefined) this.modelVersion = body.modelVersion
    if (body.responseId !== undefined) this.responseId = body.responseId
  }

  /** One decoded event. */
  event(
    body: GenerateContentResponse,
    raw: unknown,
    out: Array<ModelResponse.ModelStreamChunk>
  ): ModelError.ModelError | undefined {
    const block = promptBlocked(this.context, body)
    if (block !== undefined) return block
    this.envelope(body)
    const candidate = body.candidates?.[0]
    const parts: Array<ModelRequest.Part> = []
    for (const part of candidate?.content?.parts ?? []) {
      if (part.functionCall !== undefined) {
        this.onFunctionCall(part, parts)
        continue
      }
      const converted = toRequestPart(part, this.callId)
      if (converted !== undefined) parts.push(converted)
    }
    if (candidate !== undefined) this.keep(candidate)
    if (candidate?.finishReason !== undefined) {
      if (this.pending !== undefined) parts.push(this.complete())
      this.finished = true
    }
    if (this.finished) {
      this.held.push(...parts)
      this.heldRaw = raw
      return undefined
    }
    out.push(ModelResponse.chunk(parts, raw, undefined, body.modelVersion))
    return undefined
  }

  end(out: Array<ModelResponse.ModelStreamChunk>): ModelError.ModelError | undefined {
    if (!this.finished) return truncated(this.context, "a finishReason")
    if (this.pending !== undefined) this.held.push(this.complete())
    const last: GenerateContentResponse = {
      usageMetadata: this.usageMetadata,
      modelVersion: this.modelVersion,
      responseId: this.responseId
    }
    out.push(ModelResponse.chunk(this.held, this.heldRaw, finishOf(this.candidate, last, this.hasToolCalls)))
    return undefined
  }

  /** The latest of each candidate field the finish reports (a text event sets none but the finish reason). */
  private keep(candidate: Candidate): void {
    const kept = this.candidate ??= {}
    if (candidate.finishReason !== undefined) kept.finishReason = candidate.finishReason
    if (candidate.finishMessage !== undefined) kept.finishMessage = candidate.finishMessage
    if (candidate.safetyRatings !== undefined) kept.safetyRatings = candidate.safetyRatings
    if (candidate.groundingMetadata !== undefined) kept.groundingMetadata = candidate.groundingMetadata
    if (candidate.citationMetadata !== undefined) kept.citationMetadata = candidate.citationMetadata
    if (candidate.urlContextMetadata !== undefined) kept.urlContextMetadata = candidate.urlContextMetadata
  }

  private nextId(): string {
    return `call_${this.calls++}`
  }

  private onFunctionCall(part: Part, parts: Array<ModelRequest.Part>): void {
    const call = part.functionCall!
    if (call.name !== undefined) {
      // a new call starts: an open one is complete
      if (this.pending !== undefined) parts.push(this.complete())
      const args = call.args === undefined ? {} : { ...call.args }
      this.pending = { name: call.name, id: call.id, thoughtSignature: part.thoughtSignature, args }
      applyPartialArgs(args, call.partialArgs ?? [])
    } else if (this.pending !== undefined) {
      applyPartialArgs(this.pending.args, call.partialArgs ?? [])
    } else {
      return
    }
    if (call.willContinue !== true) parts.push(this.complete())
  }

  private complete(): ModelRequest.FunctionCallPart {
    const pending = this.pending!
    this.pending = undefined
    this.hasToolCalls = true
    return ({
      _tag: "functionCall",
      id: pending.id ?? this.nextId(),
      name: pending.name,
      args: pending.args,
      thoughtSignature: pending.thoughtSignature
    })
  }
}

/** Apply `partialArgs` (`$.a.b[0]` paths; string values concatenate). */
const applyPartialArgs = (target: Record<string, unknown>, partials: ReadonlyArray<typeof PartialArg.Type>) => {
  for (const partial of partials) {
    const path = [...partial.jsonPath.replace(/^\$/, "").matchAll(/\.([^.[\]]+)|\[(\d+)\]/g)].map((m) =>
      m[1] ?? Number(m[2])
    )
    if (path.length === 0) continue
    // an object or an array, read and written by key or index
    let node: object = target
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i]!
      const child: unknown = Reflect.get(node, key)
      const next = typeof child === "object" && child !== null ? child : typeof path[i + 1] === "number" ? [] : {}
      Reflect.set(node, key, next)
      node = next
    }
    const key = path[path.length - 1]!
    const current: unknown = Reflect.get(node, key)
    if (partial.stringValue !== undefined) {
      Reflect.set(node, key, typeof current === "string" ? current + partial.stringValue : partial.stringValue)
    } else if (partial.numberValue !== undefined) Reflect.set(node, key, partial.numberValue)
    else if (partial.boolValue !== undefined) Reflect.set(node, key, partial.boolValue)
    else if ("nullValue" in partial) Reflect.set(node, key, null)
  }
}
