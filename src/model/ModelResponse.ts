/**
 * The normalised response of every backend: text, tool calls with ids, finish reason,
 * token usage, model version, and the raw backend body.
 *
 * @since 0.1.0
 */
import type * as ModelRequest from "./ModelRequest.js"

/**
 * Why the model stopped:
 * - `stop`: natural end or a stop sequence;
 * - `length`: the output token limit;
 * - `tool-calls`: the model wants tools called;
 * - `content-filter`: safety or recitation filters (a blocked response normally fails
 *   with `ContentBlocked` instead);
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
  readonly thoughtSignature?: string
}

/**
 * Token counts, as reported. Missing counts are absent, not zero.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Usage {
  readonly inputTokens?: number
  readonly outputTokens?: number
  readonly thoughtTokens?: number
  readonly cachedInputTokens?: number
  readonly totalTokens?: number
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface ModelResponse<A = unknown> {
  /** The answer's text (thought summaries excluded). */
  readonly text: string
  /** Thought summaries, when the model returned any. */
  readonly thoughts?: string
  /** The model turn, ready to append to the history of the next request. */
  readonly content: ModelRequest.Content
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly finishReason: FinishReason
  /** The backend's own finish reason string. */
  readonly rawFinishReason?: string
  readonly usage: Usage
  readonly modelVersion?: string
  readonly responseId?: string
  /** The structured output decoded with the request's `output.schema`. */
  readonly value?: A
  /** The backend's body as received (the last event's, for streams). */
  readonly raw: unknown
}

/**
 * One element of `ModelService.stream`: new text, new tool calls once complete, and on
 * the last chunk the finish reason and usage.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ModelStreamChunk {
  readonly textDelta: string
  readonly thoughtDelta?: string
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly finishReason?: FinishReason
  readonly usage?: Usage
  readonly modelVersion?: string
  readonly raw: unknown
}
