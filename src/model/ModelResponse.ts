/**
 * The normalised response of every backend: the model turn as content parts (text
 * with its thought signature, thoughts, tool calls with ids, inline data), the text
 * and tool calls read from them, finish reason, token usage, model version, and the
 * raw backend body. A stream yields `ModelStreamChunk`s carrying the same parts;
 * `fromChunks` folds them into the response `generate` returns for the same answer.
 *
 * @since 0.1.0
 */
import type * as ModelRequest from "./ModelRequest.js"

/**
 * Why the model stopped:
 * - `stop`: natural end or a stop sequence;
 * - `length`: the output token limit;
 * - `tool-calls`: the model wants tools called;
 * - `content-filter`: safety, recitation or a blocklist stopped the answer (what was
 *   produced before is kept; `rawFinishReason` names the filter);
 * - `malformed-tool-call`: the model produced a tool call that could not be parsed;
 * - `other`: anything else (`rawFinishReason` says what);
 * - `unknown`: the backend did not say.
 *
 * @since 0.1.0
 * @category Models
 */
export type FinishReason =
  | "stop"
  | "length"
  | "tool-calls"
  | "content-filter"
  | "malformed-tool-call"
  | "other"
  | "unknown"

/**
 * A tool call. `id` is the backend's when it sent one; otherwise a stable `call_N`
 * (N = position in the response). Gemini's `thoughtSignature` rides along, to be sent
 * back verbatim on the next turn.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ToolCall {
  readonly id: string
  readonly name: string
  readonly args: Readonly<Record<string, unknown>>
  readonly thoughtSignature?: string | undefined
}

/**
 * Token counts, as reported. Missing counts are absent, not zero.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Usage {
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
  readonly thoughtTokens?: number | undefined
  readonly cachedInputTokens?: number | undefined
  /** Prompt tokens of built-in tool use (Gemini `toolUsePromptTokenCount`: search results, code output). */
  readonly toolUseInputTokens?: number | undefined
  readonly totalTokens?: number | undefined
}

/**
 * A source an answer was grounded in (Google Search result, retrieved document).
 * `uri` of a web source is Google's redirect URL; `domain` the site's.
 *
 * @since 0.3.0
 * @category Models
 */
export interface GroundingSource {
  readonly kind: "web" | "retrievedContext" | "other"
  readonly uri?: string | undefined
  readonly title?: string | undefined
  readonly domain?: string | undefined
}

/**
 * A piece of the answer and the sources that support it: `text` with its offsets in
 * the answer, `sourceIndices` into `Grounding.sources`, and their confidence scores.
 *
 * @since 0.3.0
 * @category Models
 */
export interface GroundingSupport {
  readonly text?: string | undefined
  readonly startIndex?: number | undefined
  readonly endIndex?: number | undefined
  readonly partIndex?: number | undefined
  readonly sourceIndices: ReadonlyArray<number>
  readonly confidenceScores?: ReadonlyArray<number> | undefined
}

/**
 * How an answer was grounded (Gemini with Google Search or URL context): the search
 * queries the model ran, the sources, which parts of the answer each supports, the
 * search entry point Google requires you to show with grounded answers (HTML in
 * `renderedContent`), and the status of each URL read by URL context.
 *
 * @since 0.3.0
 * @category Models
 */
export interface Grounding {
  readonly queries: ReadonlyArray<string>
  readonly sources: ReadonlyArray<GroundingSource>
  readonly supports: ReadonlyArray<GroundingSupport>
  readonly searchEntryPoint?: {
    readonly renderedContent?: string | undefined
    readonly sdkBlob?: string | undefined
  } | undefined
  readonly urls: ReadonlyArray<{ readonly url: string; readonly status?: string | undefined }>
}

/**
 * A passage of the answer that recites a source (Gemini `citationMetadata`): its
 * offsets in the answer and what the source is, as far as the backend says.
 *
 * @since 0.3.0
 * @category Models
 */
export interface Citation {
  readonly startIndex?: number | undefined
  readonly endIndex?: number | undefined
  readonly uri?: string | undefined
  readonly title?: string | undefined
  readonly license?: string | undefined
}

/**
 * A safety rating of the answer (Gemini), as the server sent it.
 *
 * @since 0.2.0
 * @category Models
 */
export interface SafetyRating {
  readonly category: string
  readonly probability?: string | undefined
  readonly blocked?: boolean | undefined
}

/**
 * What ends an answer, on `ModelResponse` and on the last chunk of a stream: why it
 * finished, in our words and the provider's, and the provider's notes about it.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Finish {
  readonly finishReason: FinishReason
  /** The backend's own finish reason string (`RECITATION`, `SAFETY`, `tool_calls`...). */
  readonly rawFinishReason?: string | undefined
  /** The backend's explanation of the finish (Gemini's `finishMessage`). */
  readonly finishMessage?: string | undefined
  readonly safetyRatings?: ReadonlyArray<SafetyRating> | undefined
  /** Gemini's `groundingMetadata`, as received. */
  readonly groundingMetadata?: unknown
  /** Search grounding and URL context, normalised (Gemini). */
  readonly grounding?: Grounding | undefined
  /** Passages that recite a source (Gemini). */
  readonly citations?: ReadonlyArray<Citation> | undefined
  /** The service tier that served the request, when the backend says (Gemini `usageMetadata.serviceTier`). */
  readonly serviceTier?: string | undefined
  readonly usage: Usage
  readonly modelVersion?: string | undefined
  readonly responseId?: string | undefined
  /**
   * Who answered, as OpenTelemetry's `gen_ai.provider.name` says it (`gcp.vertex_ai`,
   * `gcp.gemini`, `ollama`, `openai-compatible` or the name given to that backend); set
   * by every backend layer, so that a Router's caller knows which backend answered.
   */
  readonly provider?: string | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface ModelResponse<A = unknown> extends Finish {
  /** The answer's text (thought summaries excluded). */
  readonly text: string
  /** Thought summaries, when the model returned any. */
  readonly thoughts?: string | undefined
  /** The model turn, ready to append to the history of the next request. */
  readonly content: ModelRequest.Content
  readonly toolCalls: ReadonlyArray<ToolCall>
  /** The structured output decoded with the request's `output.schema`. */
  readonly value?: A | undefined
  /** The backend's body as received (the last event's, for streams). */
  readonly raw: unknown
}

/**
 * One element of `ModelService.stream`. `parts` are the new content parts (text with
 * its thought signature, thoughts, tool calls once complete, inline data);
 * `textDelta`, `thoughtDelta` and `toolCalls` read them for convenience. The last
 * chunk of every stream, on every backend, carries `finish` (finish reason, usage and
 * the provider's notes); no other chunk does. A stream that ends without it failed
 * (`StreamTruncated` or the error the server reported).
 *
 * @since 0.1.0
 * @category Models
 */
export interface ModelStreamChunk {
  readonly parts: ReadonlyArray<ModelRequest.Part>
  readonly textDelta: string
  readonly thoughtDelta?: string | undefined
  readonly toolCalls: ReadonlyArray<ToolCall>
  /** On the last chunk only. */
  readonly finish?: Finish | undefined
  /** The same as `finish.finishReason` (on the last chunk). */
  readonly finishReason?: FinishReason | undefined
  /** The same as `finish.usage` (on the last chunk). */
  readonly usage?: Usage | undefined
  readonly modelVersion?: string | undefined
  readonly raw: unknown
}

/**
 * Appends a part to a model turn the way every backend does: a text part joins the
 * previous text part when both are of the same kind (thought or not) and neither
 * carries a thought signature (a signed part is sent back verbatim, on its own);
 * an empty unsigned text part is dropped.
 *
 * @since 0.2.0
 * @category Utils
 */
export const appendPart = (parts: Array<ModelRequest.Part>, part: ModelRequest.Part): void => {
  if (part._tag === "text") {
    if (part.text === "" && part.thoughtSignature === undefined) return
    const last = parts[parts.length - 1]
    if (
      last !== undefined && last._tag === "text" && last.thoughtSignature === undefined &&
      part.thoughtSignature === undefined && (last.thought === true) === (part.thought === true)
    ) {
      parts[parts.length - 1] = { ...last, text: last.text + part.text }
      return
    }
  }
  parts.push(part)
}

/**
 * The code a model turn ran with the code execution tool, each with the results that
 * followed it (one run can report several), in order. Never part of the answer's text.
 *
 * @since 0.3.0
 * @category Utils
 */
export const codeExecutions = (parts: ReadonlyArray<ModelRequest.Part>): ReadonlyArray<{
  readonly code: ModelRequest.ExecutableCodePart
  readonly results: ReadonlyArray<ModelRequest.CodeExecutionResultPart>
}> => {
  const out: Array<{ code: ModelRequest.ExecutableCodePart; results: Array<ModelRequest.CodeExecutionResultPart> }> = []
  for (const part of parts) {
    if (part._tag === "executableCode") out.push({ code: part, results: [] })
    else if (part._tag === "codeExecutionResult") out[out.length - 1]?.results.push(part)
  }
  return out
}

/**
 * The text, thoughts and tool calls a model turn's parts hold.
 *
 * @since 0.2.0
 * @category Utils
 */
export const readParts = (parts: ReadonlyArray<ModelRequest.Part>): {
  readonly text: string
  readonly thoughts: string | undefined
  readonly toolCalls: ReadonlyArray<ToolCall>
} => {
  let text = ""
  let thoughts = ""
  const toolCalls: Array<ToolCall> = []
  for (const part of parts) {
    if (part._tag === "text") {
      if (part.thought === true) thoughts += part.text
      else text += part.text
    } else if (part._tag === "functionCall") {
      toolCalls.push(
        part.thoughtSignature === undefined
          ? { id: part.id, name: part.name, args: part.args }
          : { id: part.id, name: part.name, args: part.args, thoughtSignature: part.thoughtSignature }
      )
    }
  }
  return { text, thoughts: thoughts === "" ? undefined : thoughts, toolCalls }
}

/**
 * A response from a model turn's parts and its finish.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (parts: ReadonlyArray<ModelRequest.Part>, finish: Finish, raw: unknown): ModelResponse => {
  const merged: Array<ModelRequest.Part> = []
  for (const part of parts) appendPart(merged, part)
  const read = readParts(merged)
  return {
    ...finish,
    text: read.text,
    thoughts: read.thoughts,
    content: { role: "model", parts: merged },
    toolCalls: read.toolCalls,
    raw
  }
}

/**
 * A chunk from its new parts (and, on the last chunk, the finish).
 *
 * @since 0.2.0
 * @category Constructors
 */
export const chunk = (
  parts: ReadonlyArray<ModelRequest.Part>,
  raw: unknown,
  finish?: Finish | undefined,
  modelVersion?: string | undefined
): ModelStreamChunk => {
  const read = readParts(parts)
  return {
    parts,
    textDelta: read.text,
    thoughtDelta: read.thoughts,
    toolCalls: read.toolCalls,
    finish,
    finishReason: finish?.finishReason,
    usage: finish?.usage,
    modelVersion: modelVersion ?? finish?.modelVersion,
    raw
  }
}

/**
 * Folds the chunks of a stream into the response `generate` returns for the same
 * answer: the same content parts, text, thoughts, tool calls, finish and usage (`raw`
 * is the last chunk's). A stream without its last chunk (no `finish`) folds into a
 * response with `finishReason: "unknown"`.
 *
 * @example
 * ```ts
 * import { Chunk, Effect, Stream } from "effect"
 * import { ModelResponse, ModelService } from "effect-adc/model"
 *
 * const answer = Effect.gen(function*() {
 *   const model = yield* ModelService.ModelService
 *   const chunks = yield* Stream.runCollect(model.stream({ model: "gemini-2.5-flash", contents: [] }))
 *   return ModelResponse.fromChunks(Chunk.toArray(chunks))
 * })
 * ```
 *
 * @since 0.2.0
 * @category Constructors
 */
export const fromChunks = (chunks: Iterable<ModelStreamChunk>): ModelResponse => {
  const parts: Array<ModelRequest.Part> = []
  let finish: Finish | undefined
  let raw: unknown = undefined
  let modelVersion: string | undefined
  for (const c of chunks) {
    for (const part of c.parts) appendPart(parts, part)
    if (c.finish !== undefined) finish = c.finish
    if (c.modelVersion !== undefined) modelVersion = c.modelVersion
    raw = c.raw
  }
  return make(parts, finish ?? { finishReason: "unknown", usage: {}, modelVersion }, raw)
}
