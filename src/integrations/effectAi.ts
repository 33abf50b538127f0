/**
 * `@effect/ai` on ModelService: a Layer that provides @effect/ai's `LanguageModel`
 * from whichever backend provides our ModelService (Gemini on Vertex AI or the Gemini
 * API, Gemma on Ollama or vLLM on Cloud Run), so @effect/ai's `LanguageModel`,
 * `Chat` and `Toolkit` run keyless on every backend; and a Layer that provides
 * @effect/ai's `EmbeddingModel` from our EmbeddingService (`layerEmbedding`).
 *
 * @example
 * ```ts
 * import { LanguageModel } from "@effect/ai"
 * import { Effect, Layer } from "effect"
 * import * as EffectAi from "effect-adc/ai"
 * import { Ollama } from "effect-adc/model"
 *
 * const Gemma = EffectAi.layer({ model: "gemma3:4b" }).pipe(
 *   Layer.provide(Ollama.layer({ url: "https://gemma-abc-uc.a.run.app" }))
 * )
 * const program = LanguageModel.generateText({ prompt: "Why is the sky blue?" })
 * ```
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
import * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import * as IdGenerator from "@effect/ai/IdGenerator"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as AiModel from "@effect/ai/Model"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as EmbeddingRequest from "../model/embedding/EmbeddingRequest.js"
import { EmbeddingService } from "../model/embedding/EmbeddingService.js"
import { annotateCaller } from "../model/internal/telemetry.js"
import type * as ModelError from "../model/ModelError.js"
import * as ModelRequest from "../model/ModelRequest.js"
import * as ModelResponse from "../model/ModelResponse.js"
import { ModelService } from "../model/ModelService.js"

/**
 * The provider name of {@link model} (`@effect/ai`'s `Model.ProviderName`), also the
 * key of this adapter's provider metadata (Gemini thought signatures). It names the
 * adapter, not who answers: telemetry reports that as `gen_ai.provider.name` on
 * @effect/ai's `LanguageModel.*` span (`gcp.vertex_ai`, `gcp.gemini`, `ollama`, ...,
 * read from each response), with the request's model and settings and the response's
 * id, model and finish reason; token usage is on the client span beneath it.
 *
 * @since 0.1.0
 * @category Models
 */
export const providerName = "effect-adc"

/**
 * The request settings: the model name and what else goes into every ModelRequest.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The backend's model name (`gemini-2.5-flash`, `gemma3:4b`). */
  readonly model: string
  /** Sampling and length settings. */
  readonly generation?: ModelRequest.GenerationConfig | undefined
  /** Per-attempt timeout of each model call. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Extra request headers (never `authorization`: the transport sets it). */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * Per-request overrides of {@link Options}, read from the context of each
 * `LanguageModel` call (see {@link withConfigOverride}).
 *
 * @since 0.1.0
 * @category Context
 */
export class Config extends Context.Tag("effect-adc/ai/Config")<Config, Partial<Options>>() {}

/**
 * Runs `effect` with these settings merged over the layer's (generation settings
 * merged field by field).
 *
 * @example
 * ```ts
 * import { LanguageModel } from "@effect/ai"
 * import * as EffectAi from "effect-adc/ai"
 *
 * const precise = LanguageModel.generateText({ prompt: "2 + 2?" }).pipe(
 *   EffectAi.withConfigOverride({ generation: { temperature: 0 } })
 * )
 * ```
 *
 * @since 0.1.0
 * @category Configuration
 */
export const withConfigOverride: {
  (overrides: Partial<Options>): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, overrides: Partial<Options>): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, overrides: Partial<Options>): Effect.Effect<A, E, R> =>
    Effect.flatMap(
      Effect.serviceOption(Config),
      (current) => Effect.provideService(self, Config, merge(Option.getOrElse(current, () => ({})), overrides))
    )
)

const merge = <O extends Partial<Options>>(base: O, overrides: Partial<Options>): O => ({
  ...base,
  ...overrides,
  generation: base.generation === undefined && overrides.generation === undefined
    ? undefined
    : { ...base.generation, ...overrides.generation }
})

const module_ = "effect-adc/ai"

const malformedInput = (method: string, description: string) =>
  new AiError.MalformedInput({ module: module_, method, description })

/**
 * A ModelError as an `AiError`: a response that does not decode is `MalformedOutput`,
 * everything else `UnknownError`. Either way the ModelError is the `cause` (with its
 * `isRetryable`, status and advice) and its message the description; neither contains
 * a token.
 *
 * @since 0.1.0
 * @category Errors
 */
export const toAiError = (method: string, error: ModelError.ModelError): AiError.AiError =>
  error._tag === "Decode"
    ? new AiError.MalformedOutput({ module: module_, method, description: error.message, cause: error })
    : new AiError.UnknownError({ module: module_, method, description: error.message, cause: error })

// -----------------------------------------------------------------------------
// Prompt → ModelRequest
// -----------------------------------------------------------------------------

/**
 * Gemini's thought signatures must go back with the function calls they came with;
 * @effect/ai's history (`Prompt.fromResponseParts`, used by Chat) drops response
 * metadata, so the layer remembers the last signatures by tool-call id.
 */
class Signatures {
  readonly #byId = new Map<string, string>()
  constructor(readonly capacity = 1024) {}
  set(id: string, signature: string | undefined): void {
    if (signature === undefined) return
    this.#byId.delete(id)
    this.#byId.set(id, signature)
    if (this.#byId.size > this.capacity) this.#byId.delete(this.#byId.keys().next().value!)
  }
  get(id: string): string | undefined {
    return this.#byId.get(id)
  }
}

const signatureOf = (options: Prompt.ProviderOptions): string | undefined => {
  const value = (options[providerName] as { readonly thoughtSignature?: unknown } | undefined)?.thoughtSignature
  return typeof value === "string" ? value : undefined
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const fileData = (
  method: string,
  part: Prompt.FilePart
): Effect.Effect<ModelRequest.InlineDataPart, AiError.AiError> => {
  const mimeType = part.mediaType === "image/*" ? "image/jpeg" : part.mediaType
  if (typeof part.data === "string") return Effect.succeed({ _tag: "inlineData", mimeType, data: part.data })
  if (part.data instanceof Uint8Array) {
    return Effect.succeed({ _tag: "inlineData", mimeType, data: Encoding.encodeBase64(part.data) })
  }
  const match = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(part.data.href)
  if (match !== null) {
    const data = match[2] === undefined ? Encoding.encodeBase64(decodeURIComponent(match[3]!)) : match[3]!
    return Effect.succeed({ _tag: "inlineData", mimeType: match[1] || mimeType, data })
  }
  return Effect.fail(malformedInput(
    method,
    `File part ${part.fileName ?? part.data.origin}: only inline bytes (base64, Uint8Array or a data: URL) are ` +
      "supported; fetch the file and pass its bytes"
  ))
}

/** What the prompt becomes: contents (consecutive turns of one role merged) and the system text. */
const prepareContents = (
  method: string,
  prompt: Prompt.Prompt,
  signatures: Signatures
): Effect.Effect<{ contents: Array<ModelRequest.Content>; system: string | undefined }, AiError.AiError> =>
  Effect.gen(function*() {
    const system: Array<string> = []
    const contents: Array<{ role: "user" | "model"; parts: Array<ModelRequest.Part> }> = []
    const push = (role: "user" | "model", parts: Array<ModelRequest.Part>) => {
      if (parts.length === 0) return
      const last = contents[contents.length - 1]
      if (last !== undefined && last.role === role) last.parts.push(...parts)
      else contents.push({ role, parts })
    }
    for (const message of prompt.content) {
      switch (message.role) {
        case "system": {
          system.push(message.content)
          break
        }
        case "user": {
          const parts: Array<ModelRequest.Part> = []
          for (const part of message.content) {
            if (part.type === "text") parts.push({ _tag: "text", text: part.text })
            else parts.push(yield* fileData(method, part))
          }
          push("user", parts)
          break
        }
        case "assistant": {
          const parts: Array<ModelRequest.Part> = []
          for (const part of message.content) {
            switch (part.type) {
              case "text":
              case "reasoning": {
                // a text part's thought signature goes back when the caller kept it in the part's options
                const thoughtSignature = signatureOf(part.options)
                if (part.text.length === 0 && thoughtSignature === undefined) break
                parts.push({
                  _tag: "text",
                  text: part.text,
                  ...(part.type === "reasoning" ? { thought: true } : {}),
                  ...(thoughtSignature === undefined ? {} : { thoughtSignature })
                })
                break
              }
              case "file": {
                parts.push(yield* fileData(method, part))
                break
              }
              case "tool-call": {
                if (part.providerExecuted) break
                const thoughtSignature = signatureOf(part.options) ?? signatures.get(part.id)
                parts.push({
                  _tag: "functionCall",
                  id: part.id,
                  name: part.name,
                  args: isRecord(part.params) ? part.params : {},
                  ...(thoughtSignature === undefined ? {} : { thoughtSignature })
                })
                break
              }
              case "tool-result":
                // provider-executed results stay with the provider
                break
            }
          }
          push("model", parts)
          break
        }
        case "tool": {
          push(
            "user",
            message.content.map((part): ModelRequest.Part => ({
              _tag: "functionResponse",
              id: part.id,
              name: part.name,
              // Gemini's convention: `output` for a result, `error` for a failure
              response: part.isFailure
                ? { error: part.result }
                : isRecord(part.result)
                ? part.result
                : { output: part.result }
            }))
          )
          break
        }
      }
    }
    return { contents, system: system.length === 0 ? undefined : system.join("\n\n") }
  })

const prepareTools = (
  method: string,
  options: LanguageModel.ProviderOptions
): Effect.Effect<Pick<ModelRequest.ModelRequest, "tools" | "toolChoice">, AiError.AiError> => {
  if (options.tools.length === 0) return Effect.succeed({})
  const provider = options.tools.find((tool) => Tool.isProviderDefined(tool))
  if (provider !== undefined) {
    return Effect.fail(malformedInput(
      method,
      `Provider-defined tool ${provider.name} is not supported: ModelService calls only user-defined tools`
    ))
  }
  const tools = options.tools.map((tool): ModelRequest.Tool => {
    // what Tool.getDescription / Tool.getJsonSchema read, taken from the `Tool.Any` the options carry
    const description = tool.description ?? Tool.getDescriptionFromSchemaAst(tool.parametersSchema.ast)
    return {
      name: tool.name,
      ...(description === undefined ? {} : { description }),
      // a fresh object literal: JSON Schema 7's interfaces fit the index-signature type without a cast
      parameters: { ...Tool.getJsonSchemaFromSchemaAst(tool.parametersSchema.ast) }
    }
  })
  const choice = options.toolChoice
  const toolChoice: ModelRequest.ToolChoice = typeof choice === "string"
    ? choice
    : "tool" in choice
    ? { tool: choice.tool }
    // `oneOf`: LanguageModel already narrowed `tools` to the allowed ones
    : choice.mode === "required"
    ? "required"
    : "auto"
  return Effect.succeed({ tools, toolChoice })
}

/**
 * Structured output: the JSON Schema @effect/ai derives for the schema (the same
 * derivation its Google provider uses) asks the backend for JSON; the backend only
 * checks that the text parses, and LanguageModel decodes it with the schema itself.
 */
const prepareOutput = (options: LanguageModel.ProviderOptions): ModelRequest.Output<unknown> | undefined => {
  const format = options.responseFormat
  if (format.type !== "json") return undefined
  const jsonSchema = Tool.getJsonSchemaFromSchemaAst(format.schema.ast)
  return { name: format.objectName, schema: Schema.Unknown.annotations({ jsonSchema }) }
}

// -----------------------------------------------------------------------------
// ModelResponse → @effect/ai parts
// -----------------------------------------------------------------------------

const usageOf = (usage: ModelResponse.Usage | undefined): typeof Response.Usage.Encoded => ({
  inputTokens: usage?.inputTokens,
  outputTokens: usage?.outputTokens,
  totalTokens: usage?.totalTokens,
  ...(usage?.thoughtTokens === undefined ? {} : { reasoningTokens: usage.thoughtTokens }),
  ...(usage?.cachedInputTokens === undefined ? {} : { cachedInputTokens: usage.cachedInputTokens })
})

const finishReasonOf = (reason: ModelResponse.FinishReason | undefined): Response.FinishReason => {
  switch (reason) {
    case undefined:
      return "unknown"
    case "malformed-tool-call":
      return "error"
    default:
      return reason
  }
}

/** Where a Gemini thought signature rides on a response part (read back by `signatureOf`). */
const signatureMetadata = (thoughtSignature: string) => ({ [providerName]: { thoughtSignature } })

const toolCallPart = (
  call: ModelResponse.ToolCall,
  id: string
): Response.ToolCallPartEncoded => ({
  type: "tool-call",
  id,
  name: call.name,
  params: call.args,
  ...(call.thoughtSignature === undefined ? {} : { metadata: signatureMetadata(call.thoughtSignature) })
})

const metadataPart = (modelId: string | undefined, id: string | undefined) =>
  Effect.map(DateTime.now, (now): Response.ResponseMetadataPartEncoded => ({
    type: "response-metadata",
    ...(id === undefined ? {} : { id }),
    ...(modelId === undefined ? {} : { modelId }),
    timestamp: DateTime.formatIso(now)
  }))

// -----------------------------------------------------------------------------
// The LanguageModel
// -----------------------------------------------------------------------------

/**
 * @effect/ai's `LanguageModel` over the ModelService in context. Prompt messages map
 * to ModelRequest contents (system messages joined into the system instruction, tool
 * results into function responses), a Toolkit's tools to function declarations with
 * their JSON Schemas, `toolChoice` one to one (`oneOf` narrows the tools), and
 * `generateObject`'s schema to structured output. Responses come back as text,
 * reasoning, tool calls (with fresh ids from @effect/ai's `IdGenerator`), response
 * metadata and a finish part with usage; streams as text / reasoning deltas and whole
 * tool calls.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options): Effect.Effect<LanguageModel.Service, never, ModelService> =>
  Effect.gen(function*() {
    const service = yield* ModelService
    const signatures = new Signatures()

    const makeRequest = (method: string, providerOptions: LanguageModel.ProviderOptions) =>
      Effect.gen(function*() {
        const config = merge(options, Option.getOrElse(yield* Effect.serviceOption(Config), () => ({})))
        const { contents, system } = yield* prepareContents(method, providerOptions.prompt, signatures)
        const tools = yield* prepareTools(method, providerOptions)
        const output = prepareOutput(providerOptions)
        const request: ModelRequest.ModelRequest<unknown> = {
          model: config.model,
          contents,
          ...(system === undefined ? {} : { system }),
          ...tools,
          ...(output === undefined ? {} : { output }),
          ...(config.generation === undefined ? {} : { generation: config.generation }),
          ...(config.timeout === undefined ? {} : { timeout: config.timeout }),
          ...(config.headers === undefined ? {} : { headers: config.headers })
        }
        return request
      })

    return yield* LanguageModel.make({
      generateText: (providerOptions) =>
        Effect.gen(function*() {
          const request = yield* makeRequest("generateText", providerOptions)
          const response = yield* service.generate(request).pipe(
            Effect.tapBoth({
              onFailure: (error) => Effect.sync(() => annotateCaller(providerOptions.span, request, false, { error })),
              onSuccess: (finish) => Effect.sync(() => annotateCaller(providerOptions.span, request, false, { finish }))
            }),
            Effect.mapError((e) => toAiError("generateText", e))
          )
          const ids = yield* IdGenerator.IdGenerator
          const parts: Array<Response.PartEncoded> = [yield* metadataPart(response.modelVersion, response.responseId)]
          // the model turn's text parts as received: a signed part keeps its signature
          for (const part of response.content.parts) {
            if (part._tag !== "text" || (part.text.length === 0 && part.thoughtSignature === undefined)) continue
            parts.push({
              type: part.thought === true ? "reasoning" : "text",
              text: part.text,
              ...(part.thoughtSignature === undefined ? {} : { metadata: signatureMetadata(part.thoughtSignature) })
            })
          }
          for (const call of response.toolCalls) {
            const id = yield* ids.generateId()
            signatures.set(id, call.thoughtSignature)
            parts.push(toolCallPart(call, id))
          }
          parts.push({
            type: "finish",
            reason: finishReasonOf(response.finishReason),
            usage: usageOf(response.usage)
          })
          return parts
        }),
      streamText: (providerOptions) =>
        Stream.unwrap(Effect.gen(function*() {
          const request = yield* makeRequest("streamText", providerOptions)
          const ids = yield* IdGenerator.IdGenerator
          let started = false
          let text: string | undefined
          let reasoning: string | undefined
          let block = 0
          const received: Array<ModelResponse.ModelStreamChunk> = []
          /** Ends the open block; a signed part's signature rides on its block's end. */
          const end = (parts: Array<Response.StreamPartEncoded>, signature?: string | undefined) => {
            const metadata = signature === undefined ? {} : { metadata: signatureMetadata(signature) }
            if (text !== undefined) parts.push({ type: "text-end", id: text, ...metadata })
            if (reasoning !== undefined) parts.push({ type: "reasoning-end", id: reasoning, ...metadata })
            text = reasoning = undefined
          }
          const textPart = (parts: Array<Response.StreamPartEncoded>, part: ModelRequest.TextPart) => {
            if (part.thought === true) {
              if (text !== undefined) end(parts)
              if (reasoning === undefined && (part.text.length > 0 || part.thoughtSignature !== undefined)) {
                reasoning = String(block++)
                parts.push({ type: "reasoning-start", id: reasoning })
              }
              if (reasoning !== undefined && part.text.length > 0) {
                parts.push({ type: "reasoning-delta", id: reasoning, delta: part.text })
              }
            } else {
              if (reasoning !== undefined) end(parts)
              if (text === undefined && (part.text.length > 0 || part.thoughtSignature !== undefined)) {
                text = String(block++)
                parts.push({ type: "text-start", id: text })
              }
              if (text !== undefined && part.text.length > 0) {
                parts.push({ type: "text-delta", id: text, delta: part.text })
              }
            }
            // a signed part goes back on its own (ModelResponse.appendPart): its block ends here
            if (part.thoughtSignature !== undefined) end(parts, part.thoughtSignature)
          }
          const step = (chunk: ModelResponse.ModelStreamChunk) =>
            Effect.gen(function*() {
              received.push(chunk)
              const parts: Array<Response.StreamPartEncoded> = []
              if (!started) {
                started = true
                parts.push(yield* metadataPart(chunk.modelVersion, undefined))
              }
              for (const part of chunk.parts) {
                if (part._tag === "text") textPart(parts, part)
              }
              for (const call of chunk.toolCalls) {
                const id = yield* ids.generateId()
                signatures.set(id, call.thoughtSignature)
                const tool = toolCallPart(call, id)
                parts.push({ type: "tool-params-start", id, name: call.name })
                parts.push({ type: "tool-params-delta", id, delta: JSON.stringify(call.args) })
                parts.push({ type: "tool-params-end", id })
                parts.push(tool)
              }
              if (chunk.finish !== undefined) {
                end(parts)
                // the turn as `generate` returns it: finish reason and usage of the folded stream
                const response = ModelResponse.fromChunks(received)
                annotateCaller(providerOptions.span, request, true, { finish: response })
                parts.push({
                  type: "finish",
                  reason: finishReasonOf(response.finishReason),
                  usage: usageOf(response.usage)
                })
              }
              return parts
            })
          return service.stream(request).pipe(
            Stream.tapError((error) =>
              Effect.sync(() => annotateCaller(providerOptions.span, request, true, { error }))
            ),
            Stream.mapError((e) => toAiError("streamText", e)),
            Stream.mapEffect(step),
            Stream.flattenIterables
          )
        }))
    })
  })

/**
 * Provides @effect/ai's `LanguageModel` from the ModelService in context.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<LanguageModel.LanguageModel, never, ModelService> =>
  Layer.effect(LanguageModel.LanguageModel, make(options))

/**
 * The same as an @effect/ai `Model` (provider `"effect-adc"`), for `ExecutionPlan`s and
 * `Effect.provide` of several models.
 *
 * @since 0.1.0
 * @category Layers
 */
export const model = (
  name: string,
  options: Omit<Options, "model"> = {}
): AiModel.Model<typeof providerName, LanguageModel.LanguageModel, ModelService> =>
  AiModel.make(providerName, layer({ ...options, model: name }))

// -----------------------------------------------------------------------------
// EmbeddingModel
// -----------------------------------------------------------------------------

/**
 * The settings of {@link layerEmbedding}: the model and what goes into every
 * EmbeddingRequest, and how @effect/ai batches and caches.
 *
 * @since 0.3.0
 * @category Models
 */
export interface EmbeddingOptions {
  /** The backend's embedding model (`gemini-embedding-001`, `text-embedding-005`, `embeddinggemma`). */
  readonly model: string
  readonly taskType?: EmbeddingRequest.TaskType | undefined
  readonly dimensions?: number | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /**
   * Texts @effect/ai gathers into one `embed` call; default: all the concurrent ones
   * (EmbeddingService still splits each call to the API's limit).
   */
  readonly maxBatchSize?: number | undefined
  /** @effect/ai's request cache (same text, same vector, without a call). */
  readonly cache?: { readonly capacity: number; readonly timeToLive: Duration.DurationInput } | undefined
}

/**
 * @effect/ai's `EmbeddingModel` over the EmbeddingService in context: `embed` and
 * `embedMany` batch through @effect/ai's resolver into EmbeddingService calls (split to
 * each API's limit, retried per call, vectors in order). Failures are `AiError`s whose
 * cause is the ModelError (see {@link toAiError}).
 *
 * @since 0.3.0
 * @category Constructors
 */
export const makeEmbedding = (
  options: EmbeddingOptions
): Effect.Effect<EmbeddingModel.Service, never, EmbeddingService> =>
  Effect.flatMap(EmbeddingService, (service) =>
    EmbeddingModel.make({
      embedMany: (inputs) =>
        service.embed({
          model: options.model,
          inputs,
          taskType: options.taskType,
          dimensions: options.dimensions,
          timeout: options.timeout,
          headers: options.headers
        }).pipe(
          Effect.map((response) => response.embeddings.map((vector, index) => ({ index, embeddings: [...vector] }))),
          Effect.mapError((error) => toAiError("embedMany", error))
        ),
      ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
      ...(options.cache === undefined ? {} : { cache: options.cache })
    }))

/**
 * Provides @effect/ai's `EmbeddingModel` from the EmbeddingService in context.
 *
 * @example
 * ```ts
 * import { EmbeddingModel } from "@effect/ai"
 * import { Effect, Layer } from "effect"
 * import * as EffectAi from "effect-adc/ai"
 * import { GeminiVertexEmbeddings } from "effect-adc/embedding"
 *
 * const Embeddings = EffectAi.layerEmbedding({ model: "text-embedding-005", taskType: "RETRIEVAL_DOCUMENT" }).pipe(
 *   Layer.provide(GeminiVertexEmbeddings.layer({ project: "my-project", location: "us-central1" }))
 * )
 * const program = Effect.flatMap(EmbeddingModel.EmbeddingModel, (model) => model.embedMany(["a", "b"]))
 * ```
 *
 * @since 0.3.0
 * @category Layers
 */
export const layerEmbedding = (
  options: EmbeddingOptions
): Layer.Layer<EmbeddingModel.EmbeddingModel, never, EmbeddingService> =>
  Layer.effect(EmbeddingModel.EmbeddingModel, makeEmbedding(options))
