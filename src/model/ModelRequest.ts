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
 * Bytes inline (base64), e.g. an image.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const InlineDataPart = Schema.TaggedStruct("inlineData", {
  mimeType: Schema.String,
  data: Schema.String
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
 * @since 0.1.0
 * @category Schemas
 */
export const Part = Schema.Union(TextPart, InlineDataPart, FunctionCallPart, FunctionResponsePart)

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
 * `auto` (default), `none`, `required` (some tool), or one named tool.
 *
 * @since 0.1.0
 * @category Models
 */
export type ToolChoice = "auto" | "none" | "required" | { readonly tool: string }

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
