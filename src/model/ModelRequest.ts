/**
 * The one request type of ModelService, the same for every backend: contents made of
 * parts (text, inline data, function call, function response), a system instruction,
 * tools, tool choice, structured output from an Effect Schema, generation settings and
 * per-request timeout and headers.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as JSONSchema from "effect/JSONSchema"
import * as Schema from "effect/Schema"

/**
 * Plain text. `thought` marks a model's thought summary; `thoughtSignature` is Gemini's
 * opaque signature, sent back verbatim on the next turn to the same model.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const TextPart = Schema.TaggedStruct("text", {
  text: Schema.String,
  thought: Schema.optional(Schema.Boolean),
  thoughtSignature: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export type TextPart = typeof TextPart.Type

/**
 * Bytes inline (base64), e.g. an image — in a prompt, or an image the model generated
 * (`responseModalities: ["text", "image"]`). `thoughtSignature` is Gemini's signature
 * on a generated image, sent back verbatim on the next turn.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const InlineDataPart = Schema.TaggedStruct("inlineData", {
  mimeType: Schema.String,
  data: Schema.String,
  thoughtSignature: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export type InlineDataPart = typeof InlineDataPart.Type

/**
 * A tool call the model made (in a model turn of the history).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const FunctionCallPart = Schema.TaggedStruct("functionCall", {
  id: Schema.String,
  name: Schema.String,
  args: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  thoughtSignature: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export type FunctionCallPart = typeof FunctionCallPart.Type

/**
 * The result of a tool call, matched to the call by `id` (and `name`).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const FunctionResponsePart = Schema.TaggedStruct("functionResponse", {
  id: Schema.String,
  name: Schema.String,
  response: Schema.Record({ key: Schema.String, value: Schema.Unknown })
})

/**
 * @since 0.1.0
 * @category Models
 */
export type FunctionResponsePart = typeof FunctionResponsePart.Type

/**
 * Code the model wrote and ran with the code execution tool (Gemini `executableCode`):
 * never part of the answer's text. `language` is the backend's (`PYTHON`).
 *
 * @since 0.3.0
 * @category Schemas
 */
export const ExecutableCodePart = Schema.TaggedStruct("executableCode", {
  language: Schema.String,
  code: Schema.String,
  id: Schema.optional(Schema.String),
  thoughtSignature: Schema.optional(Schema.String)
})

/**
 * @since 0.3.0
 * @category Models
 */
export type ExecutableCodePart = typeof ExecutableCodePart.Type

/**
 * The result of running an `executableCode` part (Gemini `codeExecutionResult`):
 * `outcome` is the backend's (`OUTCOME_OK`, `OUTCOME_FAILED`,
 * `OUTCOME_DEADLINE_EXCEEDED`), `output` the program's output or error. Never part of
 * the answer's text.
 *
 * @since 0.3.0
 * @category Schemas
 */
export const CodeExecutionResultPart = Schema.TaggedStruct("codeExecutionResult", {
  outcome: Schema.String,
  output: Schema.optional(Schema.String),
  id: Schema.optional(Schema.String)
})

/**
 * @since 0.3.0
 * @category Models
 */
export type CodeExecutionResultPart = typeof CodeExecutionResultPart.Type

/**
 * @since 0.1.0
 * @category Schemas
 */
export const Part = Schema.Union(
  TextPart,
  InlineDataPart,
  FunctionCallPart,
  FunctionResponsePart,
  ExecutableCodePart,
  CodeExecutionResultPart
)

/**
 * @since 0.1.0
 * @category Models
 */
export type Part = typeof Part.Type

/**
 * One turn. Function responses go in a `user` turn (Gemini's convention; the OpenAI
 * and Ollama backends turn them into `tool` messages).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Content = Schema.Struct({
  role: Schema.Literal("user", "model"),
  parts: Schema.Array(Part)
})

/**
 * @since 0.1.0
 * @category Models
 */
export type Content = typeof Content.Type

/**
 * A function the model may call. `parameters` is a JSON Schema object, or an Effect
 * Schema that is turned into one (see {@link toolParameters}).
 *
 * @since 0.1.0
 * @category Models
 */
export interface Tool {
  readonly name: string
  readonly description?: string
  readonly parameters: JsonSchemaObject | Schema.Schema.AnyNoContext
}

/**
 * A JSON Schema, as an object.
 *
 * @since 0.1.0
 * @category Models
 */
export type JsonSchemaObject = { readonly [key: string]: unknown }

/**
 * How the model may call functions:
 * - `auto` (default): text or calls, as the model decides;
 * - `none`: no calls;
 * - `required` (the same as mode `any`): some call;
 * - `{ tool }`: this one;
 * - `{ mode, allowedFunctionNames? }`: Gemini's function calling modes `auto`, `any`,
 *   `none` and `validated` (text or calls, and calls are checked against their schema),
 *   with the functions the model may call.
 *
 * @since 0.1.0
 * @category Models
 */
export type ToolChoice =
  | "auto"
  | "none"
  | "required"
  | { readonly tool: string }
  | FunctionCallingMode

/**
 * A function calling mode with the functions the model may call (all when absent).
 *
 * @since 0.3.0
 * @category Models
 */
export interface FunctionCallingMode {
  readonly mode: "auto" | "any" | "none" | "validated"
  readonly allowedFunctionNames?: ReadonlyArray<string>
}

/**
 * How much a model thinks, and whether its thought summaries come back:
 * - `level`: Gemini 3 `thinkingLevel`, Ollama `think`, vLLM `reasoning_effort`;
 * - `budget`: thinking tokens (Gemini 2.5 `thinkingBudget`, `0` turns thinking off,
 *   `-1` lets the model decide; vLLM `thinking_token_budget`);
 * - `includeThoughts`: return thought summaries (Gemini `includeThoughts`, vLLM
 *   `include_reasoning`, Ollama `think`). They come back as `thought` text parts, in
 *   `response.thoughts` / `chunk.thoughtDelta`, never in the answer's text.
 *
 * @since 0.3.0
 * @category Models
 */
export interface Thinking {
  readonly level?: ThinkingLevel
  readonly budget?: number
  readonly includeThoughts?: boolean
}

/**
 * Gemini 3's thinking levels (`MINIMAL` … `HIGH` on the wire).
 *
 * @since 0.3.0
 * @category Models
 */
export type ThinkingLevel = "minimal" | "low" | "medium" | "high"

/**
 * A harm category of Gemini's safety filters, as the wire names it.
 *
 * @since 0.3.0
 * @category Models
 */
export type HarmCategory =
  | "HARM_CATEGORY_HARASSMENT"
  | "HARM_CATEGORY_HATE_SPEECH"
  | "HARM_CATEGORY_SEXUALLY_EXPLICIT"
  | "HARM_CATEGORY_DANGEROUS_CONTENT"
  | "HARM_CATEGORY_CIVIC_INTEGRITY"
  | "HARM_CATEGORY_IMAGE_HATE"
  | "HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT"
  | "HARM_CATEGORY_IMAGE_HARASSMENT"
  | "HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT"

/**
 * One Gemini safety setting (`safetySettings[]`): block answers of `category` at or
 * above `threshold`; `method` (Vertex AI) scores by probability or severity.
 *
 * @since 0.3.0
 * @category Models
 */
export interface SafetySetting {
  readonly category: HarmCategory
  readonly threshold:
    | "BLOCK_LOW_AND_ABOVE"
    | "BLOCK_MEDIUM_AND_ABOVE"
    | "BLOCK_ONLY_HIGH"
    | "BLOCK_NONE"
    | "OFF"
  readonly method?: "SEVERITY" | "PROBABILITY"
}

/**
 * Tools the backend runs itself (Gemini): Google Search grounding (the answer's
 * sources in `response.grounding`), code execution (`executableCode` /
 * `codeExecutionResult` parts) and URL context (the URLs in the prompt are read; their
 * status in `response.grounding.urls`).
 *
 * @since 0.3.0
 * @category Models
 */
export interface BuiltInTools {
  readonly googleSearch?: boolean | { readonly excludeDomains?: ReadonlyArray<string> }
  readonly codeExecution?: boolean
  readonly urlContext?: boolean
}

/**
 * An open JSON object: what a pass-through merges into a wire body.
 *
 * @since 0.3.0
 * @category Models
 */
export type JsonObject = { readonly [key: string]: unknown }

/**
 * Wire fields this API does not model, per backend, merged into the body that backend
 * sends (objects merge key by key, anything else replaces; the pass-through wins).
 * Only the key of the backend that answers is used: a request routed to several
 * backends can carry each one's options.
 *
 * @since 0.3.0
 * @category Models
 */
export interface ProviderOptions {
  /** Merged into the Gemini `generateContent` body (Gemini API and Vertex AI). */
  readonly gemini?: JsonObject
  /** Merged into the Ollama `/api/chat` body (e.g. `{ keep_alive: "10m", options: { num_ctx: 8192 } }`). */
  readonly ollama?: JsonObject
  /** Merged into the `/v1/chat/completions` body (e.g. vLLM's `{ repetition_penalty: 1.1 }`). */
  readonly openai?: JsonObject
}

/**
 * Sampling and length settings; each backend maps the ones it has.
 *
 * @since 0.1.0
 * @category Models
 */
export interface GenerationConfig {
  readonly temperature?: number
  readonly topP?: number
  readonly topK?: number
  readonly maxOutputTokens?: number
  readonly stop?: ReadonlyArray<string>
  readonly seed?: number
}

/**
 * Structured output: the model is asked for JSON matching `schema` (as JSON Schema),
 * and the response's `value` is the text decoded with it.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Output<A> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the encoded side is left open (Schema is invariant in it, TypeScript has no existential type): the schema only decodes `unknown` JSON to `A` and derives JSON Schema, so no `any` reaches a caller
  readonly schema: Schema.Schema<A, any, never>
  /** A name for the schema (OpenAI's `json_schema.name`). Defaults to `response`. */
  readonly name?: string
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface ModelRequest<A = unknown> {
  readonly model: string
  readonly contents: ReadonlyArray<Content>
  readonly system?: string
  readonly tools?: ReadonlyArray<Tool>
  readonly toolChoice?: ToolChoice
  readonly output?: Output<A>
  readonly generation?: GenerationConfig
  /** Thinking level, budget and thought summaries. */
  readonly thinking?: Thinking
  /** Gemini `safetySettings`. */
  readonly safety?: ReadonlyArray<SafetySetting>
  /** A Gemini context cache to answer from: `cachedContents/…` (API) or `projects/…/cachedContents/…` (Vertex). */
  readonly cachedContent?: string
  /** Gemini's service tier: `flex` (cheaper, slower), `standard`, `priority` (latency-bound). */
  readonly serviceTier?: "standard" | "flex" | "priority"
  /** Gemini billing labels (`labels`): key/value pairs reported with the request's cost. */
  readonly labels?: Readonly<Record<string, string>>
  /** What the answer may contain; `image` returns generated images as `inlineData` parts. */
  readonly responseModalities?: ReadonlyArray<"text" | "image" | "audio">
  /** Gemini `mediaResolution` for images and video in the prompt. */
  readonly mediaResolution?: "low" | "medium" | "high"
  /** Tools the backend runs itself: Google Search, code execution, URL context. */
  readonly builtInTools?: BuiltInTools
  /** Wire fields this API does not model, per backend. */
  readonly providerOptions?: ProviderOptions
  /** Per-attempt timeout (until the response opens; for `generate`, its whole body). */
  readonly timeout?: Duration.DurationInput
  /** Streams: the longest wait for the first data after the response opened (default: the timeout). */
  readonly firstChunkTimeout?: Duration.DurationInput
  /** Streams: the longest silence between two reads (default 60 seconds). */
  readonly idleTimeout?: Duration.DurationInput
  /** Extra request headers (never `authorization`: the transport sets it). */
  readonly headers?: Readonly<Record<string, string>>
}

/**
 * A user turn with one text part.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const user = (text: string): Content => ({ role: "user", parts: [TextPart.make({ text })] })

/**
 * A model turn with one text part.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const model = (text: string): Content => ({ role: "model", parts: [TextPart.make({ text })] })

/**
 * The JSON Schema of a tool's parameters or of a structured output. Effect Schemas go
 * through `JSONSchema.make` (draft 7), and the `$schema` key is dropped.
 *
 * @since 0.1.0
 * @category Utils
 */
export const toJsonSchema = (schema: JsonSchemaObject | Schema.Schema.AnyNoContext): JsonSchemaObject => {
  if (!Schema.isSchema(schema)) return schema
  const { $schema: _, ...rest } = JSONSchema.make(schema, { target: "jsonSchema7" }) as unknown as Record<
    string,
    unknown
  >
  return rest
}

/**
 * The JSON Schema of a tool's parameters.
 *
 * @since 0.1.0
 * @category Utils
 */
export const toolParameters = (tool: Tool): JsonSchemaObject => toJsonSchema(tool.parameters)
