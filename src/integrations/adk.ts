/**
 * Google's Agent Development Kit for TypeScript (`@google/adk`) on ModelService: a
 * `BaseLlm` that serves any backend (Gemma on Ollama or vLLM on Cloud Run, Gemini on
 * Vertex AI) keyless, with tokens from our cache. The TypeScript version of the
 * Python ADK + LiteLLM + Gemma-on-Cloud-Run setup, without a LiteLLM hop or an
 * access token sent where Cloud Run needs an ID token.
 *
 * @example
 * ```ts
 * import { InMemoryRunner, LlmAgent, MCPToolset } from "@google/adk"
 * import { AuthClient } from "effect-adc/auth"
 * import * as Adk from "effect-adc/adk"
 * import * as Mcp from "effect-adc/mcp"
 * import { Ollama } from "effect-adc/model"
 *
 * const auth = AuthClient.make()
 * const gemma = Adk.fromAuthClient(auth, Ollama.layer({ url: "https://gemma-abc-uc.a.run.app" }), {
 *   model: "gemma3:4b"
 * })
 * const mcpUrl = "https://tools-abc-uc.a.run.app/mcp"
 * const agent = new LlmAgent({
 *   name: "assistant",
 *   model: gemma,
 *   instruction: "Use the tools when they help.",
 *   tools: [new MCPToolset({
 *     type: "StreamableHTTPConnectionParams",
 *     url: mcpUrl,
 *     transportOptions: Mcp.transportOptions(auth, mcpUrl)
 *   })]
 * })
 * const runner = new InMemoryRunner({ agent, appName: "demo" })
 * ```
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { BaseLlm, type BaseLlmConnection, type LlmRequest, type LlmResponse } from "@google/adk"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { AuthClient } from "../auth/AuthClient.js"
import { AuthService } from "../auth/AuthService.js"
import { CallAborted } from "../ClientError.js"
import * as PromiseBridge from "../internal/promiseBridge.js"
import type * as ModelRequest from "../model/ModelRequest.js"
import * as ModelResponse from "../model/ModelResponse.js"
import { ModelService } from "../model/ModelService.js"
import { toJsonSchema } from "./internal/genaiSchema.js"

/**
 * ADK's `Content`, `Part` and `GenerateContentConfig`, as ADK's own types name them
 * (ADK bundles its own @google/genai major).
 *
 * @since 0.1.0
 * @category Models
 */
export type Content = LlmRequest["contents"][number]

/**
 * @since 0.1.0
 * @category Models
 */
export type Part = NonNullable<Content["parts"]>[number]

/**
 * @since 0.1.0
 * @category Models
 */
export type GenerateContentConfig = NonNullable<LlmRequest["config"]>

type FinishReason = NonNullable<LlmResponse["finishReason"]>
type UsageMetadata = NonNullable<LlmResponse["usageMetadata"]>

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The backend's model name (`gemma3:4b`, `gemini-2.5-flash`); an agent's request may name another. */
  readonly model: string
  /** Per-attempt timeout of each model call. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Extra request headers (never `authorization`: the transport sets it). */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

// -----------------------------------------------------------------------------
// LlmRequest → ModelRequest
// -----------------------------------------------------------------------------

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const systemText = (instruction: GenerateContentConfig["systemInstruction"]): string | undefined => {
  if (instruction === undefined) return undefined
  const items: ReadonlyArray<unknown> = Array.isArray(instruction) ? instruction : [instruction]
  const texts = items.flatMap((item): Array<string> => {
    if (typeof item === "string") return [item]
    if (!isRecord(item)) return []
    if (Array.isArray(item["parts"])) {
      return (item["parts"] as Array<Part>).flatMap((
        p
      ) => (typeof p.text === "string" && p.thought !== true ? [p.text] : []))
    }
    return typeof item["text"] === "string" ? [item["text"]] : []
  })
  return texts.length === 0 ? undefined : texts.join("\n\n")
}

/**
 * ADK's contents as ModelRequest contents. A function call without an id gets
 * `call_N` (N counts calls in the request), and a response without one the id of the
 * latest call of that name.
 */
const toContents = (contents: ReadonlyArray<Content>): Array<ModelRequest.Content> => {
  let calls = 0
  const lastCallId = new Map<string, string>()
  const out: Array<{ role: "user" | "model"; parts: Array<ModelRequest.Part> }> = []
  for (const content of contents) {
    const role = content.role === "model" ? "model" : "user"
    const parts: Array<ModelRequest.Part> = []
    for (const part of content.parts ?? []) {
      const thoughtSignature = part.thoughtSignature === undefined ? {} : { thoughtSignature: part.thoughtSignature }
      if (part.functionCall !== undefined) {
        const name = part.functionCall.name ?? ""
        const id = part.functionCall.id ?? `call_${calls}`
        calls++
        lastCallId.set(name, id)
        parts.push({ _tag: "functionCall", id, name, args: part.functionCall.args ?? {}, ...thoughtSignature })
      } else if (part.functionResponse !== undefined) {
        const name = part.functionResponse.name ?? ""
        parts.push({
          _tag: "functionResponse",
          id: part.functionResponse.id ?? lastCallId.get(name) ?? name,
          name,
          response: part.functionResponse.response ?? {}
        })
      } else if (part.inlineData?.data !== undefined) {
        parts.push({
          _tag: "inlineData",
          mimeType: part.inlineData.mimeType ?? "application/octet-stream",
          data: part.inlineData.data
        })
      } else if (typeof part.text === "string") {
        parts.push({
          _tag: "text",
          text: part.text,
          ...(part.thought === true ? { thought: true } : {}),
          ...thoughtSignature
        })
      } else if (part.fileData !== undefined) {
        throw new Error(
          `effect-adc/adk: fileData parts (${
            part.fileData.fileUri ?? "a file URI"
          }) are not supported; send the bytes as inlineData`
        )
      }
    }
    if (parts.length === 0) continue
    const last = out[out.length - 1]
    if (last !== undefined && last.role === role) last.parts.push(...parts)
    else out.push({ role, parts })
  }
  return out
}

const toTools = (config: GenerateContentConfig): Array<ModelRequest.Tool> =>
  (config.tools ?? []).flatMap((tool) => {
    const declarations = isRecord(tool) && Array.isArray(tool["functionDeclarations"])
      ? (tool["functionDeclarations"] as Array<
        { name?: string; description?: string; parameters?: unknown; parametersJsonSchema?: unknown }
      >)
      : []
    return declarations.map((declaration): ModelRequest.Tool => ({
      name: declaration.name ?? "",
      ...(declaration.description === undefined ? {} : { description: declaration.description }),
      parameters: isRecord(declaration.parametersJsonSchema)
        ? declaration.parametersJsonSchema
        : declaration.parameters !== undefined
        ? toJsonSchema(declaration.parameters)
        : { type: "object", properties: {} }
    }))
  })

const toToolChoice = (config: GenerateContentConfig): ModelRequest.ToolChoice | undefined => {
  const calling = config.toolConfig?.functionCallingConfig
  const allowed = calling?.allowedFunctionNames ?? []
  switch (String(calling?.mode ?? "")) {
    case "ANY":
    case "VALIDATED":
      return allowed.length === 1 ? { tool: allowed[0]! } : "required"
    case "NONE":
      return "none"
    case "AUTO":
      return "auto"
    default:
      return undefined
  }
}

const toOutput = (config: GenerateContentConfig): ModelRequest.Output<unknown> | undefined => {
  const jsonSchema = isRecord(config.responseJsonSchema)
    ? config.responseJsonSchema
    : config.responseSchema !== undefined
    ? toJsonSchema(config.responseSchema)
    : undefined
  // the backend checks the text parses as JSON; ADK validates against its own schema
  return jsonSchema === undefined ? undefined : { schema: Schema.Unknown.annotations({ jsonSchema }) }
}

const toGeneration = (config: GenerateContentConfig): ModelRequest.GenerationConfig | undefined => {
  const generation: { -readonly [K in keyof ModelRequest.GenerationConfig]: ModelRequest.GenerationConfig[K] } = {}
  if (config.temperature !== undefined) generation.temperature = config.temperature
  if (config.topP !== undefined) generation.topP = config.topP
  if (config.topK !== undefined) generation.topK = config.topK
  if (config.maxOutputTokens !== undefined) generation.maxOutputTokens = config.maxOutputTokens
  if (config.stopSequences !== undefined) generation.stop = config.stopSequences
  if (config.seed !== undefined) generation.seed = config.seed
  return Object.keys(generation).length === 0 ? undefined : generation
}

/**
 * ADK's `LlmRequest` as a ModelRequest: contents and parts (text, thoughts, inline
 * data, function calls and responses, thought signatures), the system instruction,
 * `config.tools` function declarations (Gemini Schemas turned into JSON Schema),
 * `toolConfig`, a response schema, and the generation settings.
 *
 * @since 0.1.0
 * @category Conversions
 */
export const toModelRequest = (llmRequest: LlmRequest, options: Options): ModelRequest.ModelRequest<unknown> => {
  const config = llmRequest.config ?? {}
  const system = systemText(config.systemInstruction)
  const tools = toTools(config)
  const toolChoice = toToolChoice(config)
  const output = toOutput(config)
  const generation = toGeneration(config)
  return {
    model: llmRequest.model ?? options.model,
    contents: toContents(llmRequest.contents),
    ...(system === undefined ? {} : { system }),
    ...(tools.length === 0 ? {} : { tools }),
    ...(toolChoice === undefined || tools.length === 0 ? {} : { toolChoice }),
    ...(output === undefined ? {} : { output }),
    ...(generation === undefined ? {} : { generation }),
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    ...(options.headers === undefined ? {} : { headers: options.headers })
  }
}

// -----------------------------------------------------------------------------
// ModelResponse → LlmResponse
// -----------------------------------------------------------------------------

const finishReasons: Record<ModelResponse.FinishReason, string> = {
  "stop": "STOP",
  "tool-calls": "STOP",
  "length": "MAX_TOKENS",
  "content-filter": "SAFETY",
  "malformed-tool-call": "MALFORMED_FUNCTION_CALL",
  "other": "OTHER",
  "unknown": "FINISH_REASON_UNSPECIFIED"
}

const toFinishReason = (reason: ModelResponse.FinishReason): FinishReason =>
  finishReasons[reason] as unknown as FinishReason

const toUsage = (usage: ModelResponse.Usage | undefined): UsageMetadata | undefined => {
  if (usage === undefined) return undefined
  const out: UsageMetadata = {}
  if (usage.inputTokens !== undefined) out.promptTokenCount = usage.inputTokens
  if (usage.outputTokens !== undefined) out.candidatesTokenCount = usage.outputTokens
  if (usage.thoughtTokens !== undefined) out.thoughtsTokenCount = usage.thoughtTokens
  if (usage.cachedInputTokens !== undefined) out.cachedContentTokenCount = usage.cachedInputTokens
  if (usage.totalTokens !== undefined) out.totalTokenCount = usage.totalTokens
  return Object.keys(out).length === 0 ? undefined : out
}

/** ModelService's `call_N` ids are positions, not ids: ADK assigns its own unique ones. */
const synthesizedId = /^call_\d+$/

const callPart = (call: ModelResponse.ToolCall): Part => ({
  functionCall: { ...(synthesizedId.test(call.id) ? {} : { id: call.id }), name: call.name, args: { ...call.args } },
  ...(call.thoughtSignature === undefined ? {} : { thoughtSignature: call.thoughtSignature })
})

/**
 * A ModelResponse as ADK's `LlmResponse`: the model turn (thoughts, text, function
 * calls), finish reason, usage metadata and model version.
 *
 * @since 0.1.0
 * @category Conversions
 */
export const toLlmResponse = (response: ModelResponse.ModelResponse<unknown>): LlmResponse => {
  // the model turn as received: text parts keep their thought signatures on their own part
  const parts: Array<Part> = []
  for (const part of response.content.parts) {
    if (part._tag === "text") {
      parts.push({
        text: part.text,
        ...(part.thought === true ? { thought: true } : {}),
        ...(part.thoughtSignature === undefined ? {} : { thoughtSignature: part.thoughtSignature })
      })
    } else if (part._tag === "functionCall") {
      parts.push(callPart(part))
    } else if (part._tag === "inlineData") {
      parts.push({ inlineData: { mimeType: part.mimeType, data: part.data } })
    }
  }
  const usageMetadata = toUsage(response.usage)
  return {
    ...(parts.length === 0 ? {} : { content: { role: "model", parts } }),
    finishReason: toFinishReason(response.finishReason),
    ...(usageMetadata === undefined ? {} : { usageMetadata }),
    ...(response.modelVersion === undefined ? {} : { modelVersion: response.modelVersion }),
    turnComplete: true
  }
}

// -----------------------------------------------------------------------------
// The BaseLlm
// -----------------------------------------------------------------------------

/**
 * An ADK `BaseLlm` over ModelService. `generateContentAsync` calls `generate` (one
 * `LlmResponse`) or, with `stream`, `stream`: each text delta as a `partial` response,
 * then one complete response folded with `ModelResponse.fromChunks` (the whole model
 * turn with its thought signatures, the function calls, finish reason and usage: what
 * ADK's own Gemini model yields). Calls run on the package's one Promise bridge: a
 * failure rejects with the ModelError itself (its message says what to do; it never
 * contains a token); an aborted `abortSignal` interrupts the call (its socket closes; a
 * stream just ends, a single call rejects with `CallAborted`); `close()` interrupts the
 * calls in flight, which reject with `ClientClosed`. Live (bidirectional) connections
 * are not supported.
 *
 * @since 0.1.0
 * @category Models
 */
export class AdcLlm extends BaseLlm {
  readonly #bridge: PromiseBridge.PromiseBridge<ModelService, unknown>
  readonly #options: Options

  constructor(
    options: Options & {
      /** What provides ModelService: built on first use, released by `close()`. */
      readonly layer: Layer.Layer<ModelService, unknown>
    }
  ) {
    super({ model: options.model })
    const { layer, ...rest } = options
    this.#bridge = PromiseBridge.make(layer)
    this.#options = rest
  }

  /**
   * Interrupts the calls in flight (they reject with `ClientClosed`) and releases what
   * {@link fromLayer} / {@link fromAuthClient} built (not the AuthClient).
   */
  close(): Promise<void> {
    return this.#bridge.dispose()
  }

  override async *generateContentAsync(
    llmRequest: LlmRequest,
    stream = false,
    abortSignal?: AbortSignal
  ): AsyncGenerator<LlmResponse, void> {
    this.maybeAppendUserContent(llmRequest)
    const request = toModelRequest(llmRequest, this.#options)
    const operation = "AdcLlm.generateContentAsync"
    if (!stream) {
      const response = await this.#bridge.run(
        operation,
        Effect.flatMap(ModelService, (m) => m.generate(request)),
        { signal: abortSignal }
      )
      yield toLlmResponse(response)
      return
    }
    // the stream runs as one bridged call; its chunks wait here for the generator to pull them.
    // The caller's abort, or the generator's early return, interrupts it (the socket closes).
    const stop = new AbortController()
    const onAbort = () => stop.abort()
    if (abortSignal?.aborted === true) stop.abort()
    abortSignal?.addEventListener("abort", onAbort, { once: true })
    const buffer: Array<ModelResponse.ModelStreamChunk> = []
    let ended = false
    let wake = () => {}
    const done = this.#bridge.run(
      operation,
      Effect.flatMap(ModelService, (m) =>
        Stream.runForEach(m.stream(request), (chunk) =>
          Effect.sync(() => {
            buffer.push(chunk)
            wake()
          }))),
      { signal: stop.signal }
    ).finally(() => {
      ended = true
      wake()
    })
    done.catch(() => {})
    const received: Array<ModelResponse.ModelStreamChunk> = []
    try {
      while (true) {
        const chunk = buffer.shift()
        if (chunk === undefined) {
          if (ended) break
          await new Promise<void>((resolve) => (wake = resolve))
          continue
        }
        received.push(chunk)
        if (chunk.thoughtDelta !== undefined && chunk.thoughtDelta !== "") {
          yield { content: { role: "model", parts: [{ text: chunk.thoughtDelta, thought: true }] }, partial: true }
        }
        if (chunk.textDelta !== "") {
          yield { content: { role: "model", parts: [{ text: chunk.textDelta }] }, partial: true }
        }
      }
      try {
        await done
      } catch (error) {
        // an aborted stream just ends (what ADK's own models do)
        if (error instanceof CallAborted && abortSignal?.aborted === true) return
        throw error
      }
    } finally {
      abortSignal?.removeEventListener("abort", onAbort)
      if (!ended) stop.abort()
    }
    yield { ...toLlmResponse(ModelResponse.fromChunks(received)), partial: false }
  }

  override connect(_llmRequest: LlmRequest): Promise<BaseLlmConnection> {
    return Promise.reject(
      new Error("effect-adc/adk: live (bidirectional) connections are not supported; use generateContentAsync")
    )
  }
}

/**
 * The model over the ModelService in context (for Effect programs that run an agent).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options): Effect.Effect<AdcLlm, never, ModelService> =>
  Effect.map(
    Effect.context<ModelService>(),
    (context) => new AdcLlm({ ...options, layer: Layer.succeedContext(context) })
  )

/**
 * The model over a ModelService layer, on its own runtime (built on first use);
 * `close()` interrupts the calls in flight and releases it.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fromLayer = <E>(layer: Layer.Layer<ModelService, E>, options: Options): AdcLlm =>
  new AdcLlm({ ...options, layer })

/**
 * The model over a backend layer (`Ollama.layer`, `GeminiVertex.layer`, …) that uses
 * the AuthClient's token cache, so the agent's model calls and its MCP toolset's
 * signing fetch share one cache. `close()` releases the model's runtime, not the
 * AuthClient.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fromAuthClient = <E>(
  auth: AuthClient,
  backend: Layer.Layer<ModelService, E, HttpClient.HttpClient | AuthService>,
  options: Options
): AdcLlm =>
  fromLayer(
    backend.pipe(
      Layer.provide(FetchHttpClient.layer),
      Layer.provide(
        Layer.effect(AuthService, Effect.orDie(Effect.tryPromise(() => auth.runtime.runPromise(AuthService))))
      )
    ),
    options
  )
