/**
 * The one batch engine of every embedding backend: check the request (what this
 * backend cannot honour fails before any call), split the inputs into parts that fit
 * one API call (a count limit, and an estimated-token limit where the API has one),
 * run each part through its wire client (each part is one call with its own retries,
 * so a part that failed and is retried never re-sends the parts that finished), check
 * every part returned one vector per input, and re-join the vectors in input order
 * with the usage summed, all under one GenAI `embeddings {model}` client span.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { providerNames } from "../../internal/telemetry.js"
import * as ModelError from "../../ModelError.js"
import type * as EmbeddingRequest from "../EmbeddingRequest.js"
import type * as EmbeddingResponse from "../EmbeddingResponse.js"
import type { BatchOptions } from "../EmbeddingService.js"

/** How one API call may be filled. @internal */
export interface Limits {
  readonly maxInputs: number
  /** The API's input-token budget per call (Vertex `predict`: 20,000), against {@link estimateTokens}. */
  readonly maxTokens?: number | undefined
}

/** What one API call returned. @internal */
export interface PartResult {
  readonly embeddings: ReadonlyArray<ReadonlyArray<number>>
  readonly inputTokens?: number | undefined
  readonly billableCharacters?: number | undefined
}

/** A request field the backend cannot send. @internal */
export type Feature = "taskType" | "title" | "autoTruncate"

/**
 * A conservative token estimate for splitting (a token is about four characters of
 * English; three leaves room for other scripts and code). @internal
 */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 3)

/** The inputs cut into parts that each fit one call, in order. @internal */
export const split = (inputs: ReadonlyArray<string>, limits: Limits): Array<ReadonlyArray<string>> => {
  const parts: Array<ReadonlyArray<string>> = []
  let current: Array<string> = []
  let tokens = 0
  const max = Math.max(1, Math.floor(limits.maxInputs))
  for (const input of inputs) {
    const cost = limits.maxTokens === undefined ? 0 : estimateTokens(input)
    const full = current.length >= max || (limits.maxTokens !== undefined && current.length > 0 &&
      tokens + cost > limits.maxTokens)
    if (full) {
      parts.push(current)
      current = []
      tokens = 0
    }
    current.push(input)
    tokens += cost
  }
  if (current.length > 0) parts.push(current)
  return parts
}

/**
 * A request setting this backend cannot send: `Unsupported` (feature
 * `embedding.<field>`), before any call.
 *
 * @internal
 */
export const unsupported = (
  context: ModelError.Context,
  feature: Feature,
  why: string
): ModelError.ModelError => new ModelError.Unsupported({ ...context, feature: `embedding.${feature}`, detail: why })

/** The request checks every backend shares: `dimensions` a positive integer, no unsupported feature. @internal */
export const check = (
  context: ModelError.Context,
  request: EmbeddingRequest.EmbeddingRequest,
  unsupportedFeatures: Partial<Record<Feature, string>>
): Effect.Effect<void, ModelError.ModelError> => {
  if (request.dimensions !== undefined && (!Number.isInteger(request.dimensions) || request.dimensions <= 0)) {
    return Effect.fail(
      new ModelError.InvalidRequest({
        ...context,
        field: "dimensions",
        detail: `dimensions must be a positive integer, got ${request.dimensions}; nothing was sent`
      })
    )
  }
  for (const feature of ["taskType", "title", "autoTruncate"] as const) {
    const why = unsupportedFeatures[feature]
    if (why !== undefined && request[feature] !== undefined) return Effect.fail(unsupported(context, feature, why))
  }
  return Effect.void
}

const sum = (parts: ReadonlyArray<PartResult>, field: "inputTokens" | "billableCharacters") => {
  let total = 0
  for (const part of parts) {
    const value = part[field]
    if (value === undefined) return undefined
    total += value
  }
  return total
}

/**
 * Split, call each part (at most `concurrency` at once), check the counts, re-join in
 * order.
 *
 * @internal
 */
export const embedInParts = (
  context: ModelError.Context,
  request: EmbeddingRequest.EmbeddingRequest,
  limits: Limits,
  options: BatchOptions,
  call: (inputs: ReadonlyArray<string>) => Effect.Effect<PartResult, ModelError.ModelError>
): Effect.Effect<EmbeddingResponse.EmbeddingResponse, ModelError.ModelError> => {
  const maxInputs = Math.min(limits.maxInputs, options.maxBatchSize ?? limits.maxInputs)
  const parts = split(request.inputs, { ...limits, maxInputs })
  const concurrency = Math.max(1, request.concurrency ?? options.concurrency ?? 1)
  return Effect.map(
    Effect.forEach(
      parts,
      (inputs) =>
        Effect.flatMap(call(inputs), (result) =>
          result.embeddings.length === inputs.length
            ? Effect.succeed(result)
            : Effect.fail(
              new ModelError.Decode({
                ...context,
                detail: `the server returned ${result.embeddings.length} vectors for ${inputs.length} inputs`
              })
            )),
      { concurrency }
    ),
    (results): EmbeddingResponse.EmbeddingResponse => ({
      embeddings: results.flatMap((result) => result.embeddings),
      usage: { inputTokens: sum(results, "inputTokens"), billableCharacters: sum(results, "billableCharacters") },
      calls: results.length
    })
  ).pipe(
    Effect.tap((response) =>
      Effect.annotateCurrentSpan({
        ...(response.usage.inputTokens === undefined
          ? {}
          : { "gen_ai.usage.input_tokens": response.usage.inputTokens }),
        "effect_adc.embeddings.calls": response.calls
      })
    ),
    Effect.tapError((error) => Effect.annotateCurrentSpan("error.type", error._tag)),
    // the GenAI `embeddings` span: parent of every call of the batch (OpenTelemetry GenAI conventions)
    Effect.withSpan(`embeddings ${request.model}`, {
      kind: "client",
      captureStackTrace: false,
      attributes: {
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": providerNames[context.backend],
        "gen_ai.request.model": request.model,
        ...(request.dimensions === undefined ? {} : { "gen_ai.embeddings.dimension.count": request.dimensions })
      }
    })
  )
}
