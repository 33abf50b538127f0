/**
 * The GenAI instrumentation of a backend's ModelService (OpenTelemetry GenAI semantic
 * conventions): one `CLIENT` span per `generate` / `stream` call, named
 * `{gen_ai.operation.name} {gen_ai.request.model}`, the parent of everything the call
 * does (HTTP attempts, a cold token fetch); the request settings, response id / model,
 * finish reasons, usage and time to first chunk as attributes when the span is sampled;
 * `error.type` = the ModelError's `_tag`; and the two client histograms, recorded on every
 * call. Messages go on the span only when content capture is on; tokens never do (no
 * header, no request object is read here).
 *
 * It wraps the service where the backend layers build it (`layers.ts`), around the call
 * engine, so per-call cost is one span, a few labels and two histogram updates; the
 * attribute work runs only for sampled spans.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import { bounded } from "../../internal/memo.js"
import { unwrap } from "../../internal/streams.js"
import { untraced } from "../../internal/tracing.js"
import * as ModelError from "../ModelError.js"
import * as ModelRequest from "../ModelRequest.js"
import * as ModelResponse from "../ModelResponse.js"
import type { ModelService } from "../ModelService.js"
import * as ModelTelemetry from "../ModelTelemetry.js"

/** What telemetry says about a backend. @internal */
export interface Provider {
  /** `gen_ai.provider.name`: `gcp.vertex_ai`, `gcp.gemini`, `ollama`, ... */
  readonly name: string
  /** `gen_ai.operation.name`: `generate_content` (Gemini) or `chat`. */
  readonly operation: string
  /** The URL the calls go to (`server.address` / `server.port`), when known. */
  readonly url?: string | undefined
  /**
   * The backend's output count leaves reasoning tokens out (Gemini's
   * `candidatesTokenCount`): `gen_ai.usage.output_tokens` adds them, as the
   * conventions ask.
   */
  readonly reasoningOutside: boolean
}

/** The provider name telemetry uses for a backend (the OpenAI-compatible one can be renamed). @internal */
export const providerNames: Record<ModelError.Backend, string> = {
  "gemini-vertex": "gcp.vertex_ai",
  "gemini-api": "gcp.gemini",
  "ollama": "ollama",
  "openai-compatible": "openai-compatible"
}

/**
 * Whether spans carry message content: the `CaptureContent` reference, else
 * `EFFECT_ADC_TELEMETRY_CONTENT` (an unreadable value is logged and read as `false`).
 *
 * @internal
 */
export const captureContent: Effect.Effect<boolean> = Effect.flatMap(
  ModelTelemetry.CaptureContent,
  (on) =>
    on ? Effect.succeed(true) : Effect.catchAll(ModelTelemetry.captureContentConfig, (error) =>
      Effect.as(
        Effect.logWarning(
          `EFFECT_ADC_TELEMETRY_CONTENT is not a boolean (${error.message}): message content stays off the spans`
        ),
        false
      ))
)

/** `server.address` and `server.port` of a URL (the scheme's default port when none is written). */
const serverOf = (url: string | undefined): { readonly address: string; readonly port: number } | undefined => {
  if (url === undefined) return undefined
  try {
    const parsed = new URL(url)
    const port = parsed.port !== "" ? Number(parsed.port) : parsed.protocol === "http:" ? 80 : 443
    return { address: parsed.hostname.replace(/^\[(.*)\]$/, "$1"), port }
  } catch {
    return undefined
  }
}

/** The finish reasons' words of the conventions' output messages; others as the provider said them. */
const finishReasonOf = (finish: ModelResponse.Finish): string => {
  switch (finish.finishReason) {
    case "stop":
    case "length":
      return finish.finishReason
    case "tool-calls":
      return "tool_call"
    case "content-filter":
      return "content_filter"
    default:
      return finish.rawFinishReason ?? finish.finishReason
  }
}

/** `error.type`: the ModelError's tag; `_OTHER` for a defect; none for an interruption. */
const errorTypeOf = (cause: Cause.Cause<unknown>): string | undefined => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return ModelError.isModelError(failure.value) ? failure.value._tag : "_OTHER"
  return Cause.isInterruptedOnly(cause) ? undefined : "_OTHER"
}

/**
 * Sets a string-array attribute. Effect's `Span.attribute` hands values to
 * `@effect/opentelemetry`, which writes arrays as their JSON text; the conventions type
 * `finish_reasons` and `stop_sequences` as `string[]`, so on an OpenTelemetry span (the
 * one it keeps in `span.span`) the array is set there directly.
 */
const setStrings = (span: Tracer.Span, key: string, values: ReadonlyArray<string>): void => {
  if ("span" in span) {
    const otel = span.span
    if (
      typeof otel === "object" && otel !== null && "setAttribute" in otel && typeof otel.setAttribute === "function"
    ) {
      otel.setAttribute(key, values)
      return
    }
  }
  span.attribute(key, values)
}

// -----------------------------------------------------------------------------
// Message content (opt-in), in the conventions' JSON shapes
// -----------------------------------------------------------------------------

const modalityOf = (mimeType: string): string => {
  const top = mimeType.split("/")[0]
  return top === "image" || top === "video" || top === "audio" ? top : "document"
}

const partOf = (part: ModelRequest.Part): Record<string, unknown> => {
  switch (part._tag) {
    case "text":
      return part.thought === true ? { type: "reasoning", content: part.text } : { type: "text", content: part.text }
    case "inlineData":
      return { type: "blob", modality: modalityOf(part.mimeType), mime_type: part.mimeType, content: part.data }
    case "functionCall":
      return { type: "tool_call", id: part.id, name: part.name, arguments: part.args }
    case "functionResponse":
      return { type: "tool_call_response", id: part.id, response: part.response }
    case "executableCode":
      return {
        type: "server_tool_call",
        id: part.id,
        name: "code_execution",
        server_tool_call: { type: "code_interpreter", language: part.language, code: part.code }
      }
    case "codeExecutionResult":
      return {
        type: "server_tool_call_response",
        id: part.id,
        server_tool_call_response: { type: "code_interpreter", outcome: part.outcome, output: part.output }
      }
  }
}

const roleOf = (content: ModelRequest.Content): string =>
  content.role === "model"
    ? "assistant"
    : content.parts.length > 0 && content.parts.every((part) => part._tag === "functionResponse")
    ? "tool"
    : "user"

const inputMessages = <A>(request: ModelRequest.ModelRequest<A>): string =>
  JSON.stringify(request.contents.map((content) => ({ role: roleOf(content), parts: content.parts.map(partOf) })))

const outputMessages = (parts: ReadonlyArray<ModelRequest.Part>, finishReason: string): string =>
  JSON.stringify([{ role: "assistant", parts: parts.map(partOf), finish_reason: finishReason }])

const toolDefinitions = (tools: ReadonlyArray<ModelRequest.Tool>): string =>
  JSON.stringify(tools.map((tool) => ({
    type: "function",
    name: tool.name,
    description: tool.description,
    parameters: ModelRequest.toolParameters(tool)
  })))

/** The request's settings: `gen_ai.request.*` (those it sets), stream, output type. */
const annotateSettings = <A>(span: Tracer.Span, request: ModelRequest.ModelRequest<A>, streaming: boolean) => {
  if (streaming) span.attribute("gen_ai.request.stream", true)
  if (request.output !== undefined) span.attribute("gen_ai.output.type", "json")
  const generation = request.generation
  if (generation === undefined) return
  if (generation.temperature !== undefined) span.attribute("gen_ai.request.temperature", generation.temperature)
  if (generation.topP !== undefined) span.attribute("gen_ai.request.top_p", generation.topP)
  if (generation.topK !== undefined) span.attribute("gen_ai.request.top_k", generation.topK)
  if (generation.maxOutputTokens !== undefined) span.attribute("gen_ai.request.max_tokens", generation.maxOutputTokens)
  if (generation.seed !== undefined) span.attribute("gen_ai.request.seed", generation.seed)
  if (generation.stop !== undefined && generation.stop.length > 0) {
    setStrings(span, "gen_ai.request.stop_sequences", generation.stop)
  }
}

/**
 * Describes a model call on the span of a framework above ModelService (`@effect/ai`'s
 * `LanguageModel.generateText` / `streamText`): who answered (the provider the response
 * or the error names), the request's model and settings, the response's id, model and
 * finish reason, or `error.type`. Token usage stays on the client span beneath it, so
 * that tools summing `gen_ai.usage.*` over a trace count each call once.
 *
 * @internal
 */
export const annotateCaller = <A>(
  span: Tracer.Span,
  request: ModelRequest.ModelRequest<A>,
  streaming: boolean,
  outcome: { readonly finish: ModelResponse.Finish } | { readonly error: ModelError.ModelError }
): void => {
  if (!span.sampled) return
  const provider = "finish" in outcome
    ? outcome.finish.provider
    : "backend" in outcome.error
    ? providerNames[outcome.error.backend]
    : undefined
  if (provider !== undefined) {
    span.attribute("gen_ai.provider.name", provider)
    span.attribute("gen_ai.operation.name", provider.startsWith("gcp.") ? "generate_content" : "chat")
  }
  span.attribute("gen_ai.request.model", request.model)
  annotateSettings(span, request, streaming)
  if ("finish" in outcome) {
    const finish = outcome.finish
    if (finish.responseId !== undefined) span.attribute("gen_ai.response.id", finish.responseId)
    if (finish.modelVersion !== undefined) span.attribute("gen_ai.response.model", finish.modelVersion)
    setStrings(span, "gen_ai.response.finish_reasons", [finishReasonOf(finish)])
  } else {
    setStrings(span, "gen_ai.response.finish_reasons", ["error"])
    span.attribute("error.type", outcome.error._tag)
  }
}

// -----------------------------------------------------------------------------
// The instrumented service
// -----------------------------------------------------------------------------

/** @internal */
export const instrument = (
  service: ModelService.Service,
  provider: Provider,
  content: boolean
): ModelService.Service => {
  const server = serverOf(provider.url)
  /** The labels every data point of this backend carries. */
  const baseLabels: ReadonlyArray<MetricLabel.MetricLabel> = [
    MetricLabel.make("gen_ai.operation.name", provider.operation),
    MetricLabel.make("gen_ai.provider.name", provider.name),
    ...(server === undefined ? [] : [
      MetricLabel.make("server.address", server.address),
      MetricLabel.make("server.port", String(server.port))
    ])
  ]
  const durationUnit = MetricLabel.make("unit", "s")
  const tokenUnit = MetricLabel.make("unit", "{token}")
  const inputType = MetricLabel.make("gen_ai.token.type", "input")
  const outputType = MetricLabel.make("gen_ai.token.type", "output")

  /**
   * The label arrays of a call's data points, one set per (request model, response
   * model, error type). Effect caches a metric's hook per label array (by identity), so
   * reusing the arrays keeps an update a map lookup instead of building and hashing a
   * new metric key every call. Bounded: cleared past 1024 sets.
   */
  const labelSets = bounded<string, {
    readonly duration: ReadonlyArray<MetricLabel.MetricLabel>
    readonly input: ReadonlyArray<MetricLabel.MetricLabel>
    readonly output: ReadonlyArray<MetricLabel.MetricLabel>
    readonly firstChunk: ReadonlyArray<MetricLabel.MetricLabel>
  }>(1024)
  const labelsFor = (model: string, responseModel: string | undefined, errorType: string | undefined) =>
    labelSets(`${model}\u0000${responseModel ?? ""}\u0000${errorType ?? ""}`, () => {
      const labels = [
        ...baseLabels,
        MetricLabel.make("gen_ai.request.model", model),
        ...(responseModel === undefined ? [] : [MetricLabel.make("gen_ai.response.model", responseModel)])
      ]
      return {
        duration: errorType === undefined
          ? [...labels, durationUnit]
          : [...labels, MetricLabel.make("error.type", errorType), durationUnit],
        input: [...labels, inputType, tokenUnit],
        output: [...labels, outputType, tokenUnit],
        firstChunk: [...labels, durationUnit]
      }
    })

  const annotateRequest = <A>(span: Tracer.Span, request: ModelRequest.ModelRequest<A>, streaming: boolean) => {
    span.attribute("gen_ai.operation.name", provider.operation)
    span.attribute("gen_ai.provider.name", provider.name)
    span.attribute("gen_ai.request.model", request.model)
    if (server !== undefined) {
      span.attribute("server.address", server.address)
      span.attribute("server.port", server.port)
    }
    annotateSettings(span, request, streaming)
    if (content) {
      span.attribute("gen_ai.input.messages", inputMessages(request))
      if (request.system !== undefined) {
        span.attribute("gen_ai.system_instructions", JSON.stringify([{ type: "text", content: request.system }]))
      }
      if (request.tools !== undefined && request.tools.length > 0) {
        span.attribute("gen_ai.tool.definitions", toolDefinitions(request.tools))
      }
    }
  }

  /** Output tokens as the conventions count them (reasoning included). */
  const outputTokensOf = (usage: ModelResponse.Usage): number | undefined =>
    provider.reasoningOutside && usage.thoughtTokens !== undefined
      ? (usage.outputTokens ?? 0) + usage.thoughtTokens
      : usage.outputTokens

  /**
   * The end of a call: response attributes (sampled spans), then the duration and
   * token histograms (always).
   */
  const end = <A>(
    span: Tracer.Span | undefined,
    request: ModelRequest.ModelRequest<A>,
    clock: Clock.Clock,
    started: bigint,
    outcome: {
      readonly finish: ModelResponse.Finish | undefined
      readonly cause: Cause.Cause<unknown> | undefined
      readonly parts: ReadonlyArray<ModelRequest.Part> | undefined
      /** Streams: seconds to the first chunk, when one came. */
      readonly firstChunk?: number | undefined
    }
  ) => {
    const { cause, finish } = outcome
    const errorType = cause === undefined ? undefined : errorTypeOf(cause)
    const usage = finish?.usage
    const output = usage === undefined ? undefined : outputTokensOf(usage)
    if (span !== undefined && span.sampled) {
      if (finish !== undefined) {
        const reason = finishReasonOf(finish)
        if (finish.responseId !== undefined) span.attribute("gen_ai.response.id", finish.responseId)
        if (finish.modelVersion !== undefined) span.attribute("gen_ai.response.model", finish.modelVersion)
        setStrings(span, "gen_ai.response.finish_reasons", [reason])
        if (usage !== undefined) {
          if (usage.inputTokens !== undefined) span.attribute("gen_ai.usage.input_tokens", usage.inputTokens)
          if (output !== undefined) span.attribute("gen_ai.usage.output_tokens", output)
          if (usage.cachedInputTokens !== undefined) {
            span.attribute("gen_ai.usage.cache_read.input_tokens", usage.cachedInputTokens)
          }
          if (usage.thoughtTokens !== undefined) {
            span.attribute("gen_ai.usage.reasoning.output_tokens", usage.thoughtTokens)
          }
        }
        if (content && outcome.parts !== undefined) {
          span.attribute("gen_ai.output.messages", outputMessages(outcome.parts, reason))
        }
      } else if (errorType !== undefined) {
        // the generation ended without its finish: the conventions' `error` reason
        setStrings(span, "gen_ai.response.finish_reasons", ["error"])
      }
      if (errorType !== undefined) span.attribute("error.type", errorType)
    }
    const seconds = Number(clock.unsafeCurrentTimeNanos() - started) / 1e9
    const labels = labelsFor(request.model, finish?.modelVersion, errorType)
    ModelTelemetry.operationDuration.unsafeUpdate(seconds, labels.duration)
    if (usage?.inputTokens !== undefined) ModelTelemetry.tokenUsage.unsafeUpdate(usage.inputTokens, labels.input)
    if (output !== undefined) ModelTelemetry.tokenUsage.unsafeUpdate(output, labels.output)
    if (outcome.firstChunk !== undefined) {
      ModelTelemetry.timeToFirstChunk.unsafeUpdate(outcome.firstChunk, labels.firstChunk)
    }
  }

  const withProvider = (element: ModelResponse.ModelStreamChunk): ModelResponse.ModelStreamChunk =>
    element.finish === undefined ? element : { ...element, finish: { ...element.finish, provider: provider.name } }

  /**
   * A stream's observer: time to first chunk, the finish (named by the provider on the
   * last chunk), the parts when content is captured; `end` records them with the exit.
   */
  const observe = (
    span: Tracer.Span | undefined,
    clock: Clock.Clock,
    started: bigint,
    parts: Array<ModelRequest.Part> | undefined
  ) => {
    const sampled = span !== undefined && span.sampled
    let first = true
    let firstChunk: number | undefined
    let finish: ModelResponse.Finish | undefined
    return {
      observed: <E, R>(stream: Stream.Stream<ModelResponse.ModelStreamChunk, E, R>) =>
        Stream.mapChunks(stream, (chunk) => {
          if (first && chunk.length > 0) {
            first = false
            firstChunk = Number(clock.unsafeCurrentTimeNanos() - started) / 1e9
            if (sampled) span.attribute("gen_ai.response.time_to_first_chunk", firstChunk)
          }
          let last = false
          for (const element of chunk) {
            if (element.finish !== undefined) {
              finish = element.finish
              last = true
            }
            if (parts !== undefined) { for (const part of element.parts) ModelResponse.appendPart(parts, part) }
          }
          // the last chunk's finish names the provider (one copy per stream)
          return last ? Chunk.map(chunk, withProvider) : chunk
        }),
      end: <A>(request: ModelRequest.ModelRequest<A>, exit: Exit.Exit<unknown, unknown>) =>
        end(span, request, clock, started, {
          finish,
          cause: Exit.isFailure(exit) ? exit.cause : undefined,
          parts,
          firstChunk
        })
    }
  }

  const spanOptions: Tracer.SpanOptions = { kind: "client", captureStackTrace: false }

  const spanName = <A>(request: ModelRequest.ModelRequest<A>) => `${provider.operation} ${request.model}`

  return {
    // One frame around the call (instead of useSpan + map + onExit + clockWith): the span
    // is made, the call runs under it, and one uninterruptible match ends it, attributes
    // and metrics first. Under Effect's built-in tracer (no tracer installed: its spans are
    // never exported) no span is made at all; the metrics are recorded the same way.
    generate: (request) =>
      Effect.withFiberRuntime((fiber) => {
        const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
        const settle = (span: Tracer.Span | undefined, started: bigint, timing: boolean) => {
          const close = (exit: Exit.Exit<unknown, unknown>) => {
            if (span !== undefined && span.status._tag !== "Ended") {
              span.end(timing ? clock.unsafeCurrentTimeNanos() : 0n, exit)
            }
          }
          const call = service.generate(request)
          return Effect.uninterruptibleMask((restore) =>
            Effect.matchCauseEffect(restore(span === undefined ? call : Effect.withParentSpan(call, span)), {
              onFailure: (cause) => {
                end(span, request, clock, started, { finish: undefined, cause, parts: undefined })
                close(Exit.failCause(cause))
                return Effect.failCause(cause)
              },
              onSuccess: (response) => {
                const answer = { ...response, provider: provider.name }
                end(span, request, clock, started, { finish: answer, cause: undefined, parts: answer.content.parts })
                close(Exit.succeed(answer))
                return Effect.succeed(answer)
              }
            })
          )
        }
        if (untraced(fiber)) return settle(undefined, clock.unsafeCurrentTimeNanos(), false)
        const timing = fiber.getFiberRef(FiberRef.currentTracerTimingEnabled)
        return Effect.flatMap(Effect.makeSpan(spanName(request), spanOptions), (span) => {
          const started = clock.unsafeCurrentTimeNanos()
          if (span.sampled) annotateRequest(span, request, false)
          return settle(span, started, timing)
        })
      }),
    stream: (request) =>
      unwrap(Effect.withFiberRuntime((fiber) => {
        const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
        if (untraced(fiber)) {
          // metrics only: no scope, no span, no parent span provided per pull
          const started = clock.unsafeCurrentTimeNanos()
          const state = observe(undefined, clock, started, undefined)
          return Effect.succeed(
            state.observed(service.stream(request)).pipe(
              Stream.ensuringWith((exit) => Effect.sync(() => state.end(request, exit)))
            )
          )
        }
        return Effect.succeed(Stream.unwrapScoped(Effect.gen(function*() {
          const span = yield* Effect.makeSpanScoped(spanName(request), spanOptions)
          const started = clock.unsafeCurrentTimeNanos()
          if (span.sampled) annotateRequest(span, request, true)
          const state = observe(span, clock, started, content && span.sampled ? [] : undefined)
          // runs before the span ends (finalizers run in reverse order), with the stream's exit
          yield* Effect.addFinalizer((exit) => Effect.sync(() => state.end(request, exit)))
          return Stream.provideService(state.observed(service.stream(request)), Tracer.ParentSpan, span)
        })))
      })),
    countTokens: service.countTokens
  }
}
