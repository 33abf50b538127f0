/**
 * OpenTelemetry GenAI telemetry of every model call, following the GenAI semantic
 * conventions: one `CLIENT` span per `generate` / `stream` call named
 * `{gen_ai.operation.name} {gen_ai.request.model}` (request settings, response id and
 * model, finish reasons, token usage incl. cached and reasoning tokens, time to first
 * chunk, `error.type` = the ModelError's tag), the token fetches of a cold call as its
 * children, and the `gen_ai.client.token.usage` and `gen_ai.client.operation.duration`
 * histograms with the conventions' bucket boundaries. Every backend layer records them;
 * `@effect/opentelemetry` exports them (see docs/observability.md).
 *
 * Prompts and answers are recorded only when opted in: `EFFECT_ADC_TELEMETRY_CONTENT=true`
 * or {@link CaptureContent} set to `true` where the backend layer is built. Tokens are
 * never recorded.
 *
 * @since 0.2.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/**
 * Whether spans carry the messages (`gen_ai.input.messages`, `gen_ai.output.messages`,
 * `gen_ai.system_instructions`, `gen_ai.tool.definitions`). Read once, when a backend
 * layer is built; default `false` (or `EFFECT_ADC_TELEMETRY_CONTENT`).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { ModelTelemetry, Ollama } from "effect-adc/model"
 *
 * const Traced = Ollama.layer({ url: "https://gemma-abc-uc.a.run.app" }).pipe(
 *   Layer.provide(Layer.succeed(ModelTelemetry.CaptureContent, true))
 * )
 * ```
 *
 * @since 0.2.0
 * @category Context
 */
export class CaptureContent extends Context.Reference<CaptureContent>()("effect-adc/ModelTelemetry/CaptureContent", {
  defaultValue: (): boolean => false
}) {}

/**
 * `EFFECT_ADC_TELEMETRY_CONTENT` (`true` / `false`, default `false`): the environment's
 * opt-in to message content on spans.
 *
 * @since 0.2.0
 * @category Config
 */
export const captureContentConfig: Config.Config<boolean> = Config.boolean("EFFECT_ADC_TELEMETRY_CONTENT").pipe(
  Config.withDefault(false)
)

/**
 * The conventions' bucket boundaries of `gen_ai.client.token.usage` (powers of 4).
 *
 * @since 0.2.0
 * @category Constants
 */
export const tokenUsageBoundaries: ReadonlyArray<number> = [
  1,
  4,
  16,
  64,
  256,
  1024,
  4096,
  16384,
  65536,
  262144,
  1048576,
  4194304,
  16777216,
  67108864
]

/**
 * The conventions' bucket boundaries of `gen_ai.client.operation.duration` (seconds,
 * doubling from 10 ms).
 *
 * @since 0.2.0
 * @category Constants
 */
export const durationBoundaries: ReadonlyArray<number> = [
  0.01,
  0.02,
  0.04,
  0.08,
  0.16,
  0.32,
  0.64,
  1.28,
  2.56,
  5.12,
  10.24,
  20.48,
  40.96,
  81.92
]

/**
 * `gen_ai.client.token.usage`: input and output tokens per call (`gen_ai.token.type`),
 * recorded when the backend reported them. Its data points carry a `unit` attribute
 * (`{token}`): `@effect/opentelemetry` reads a metric's unit from that tag.
 *
 * @since 0.2.0
 * @category Metrics
 */
export const tokenUsage = Metric.histogram(
  "gen_ai.client.token.usage",
  MetricBoundaries.fromIterable(tokenUsageBoundaries),
  "Number of input and output tokens used."
)

/**
 * `gen_ai.client.operation.duration`: seconds from the call to its answer (for streams,
 * to the stream's end), with `error.type` on failures. Data points carry `unit: s`.
 *
 * @since 0.2.0
 * @category Metrics
 */
export const operationDuration = Metric.histogram(
  "gen_ai.client.operation.duration",
  MetricBoundaries.fromIterable(durationBoundaries),
  "GenAI operation duration."
)

/**
 * `gen_ai.client.operation.time_to_first_chunk`: seconds from a stream's call to its
 * first chunk (streams only; not recorded when no chunk came). Same buckets and `unit`
 * tag as {@link operationDuration}.
 *
 * @since 0.2.0
 * @category Metrics
 */
export const timeToFirstChunk = Metric.histogram(
  "gen_ai.client.operation.time_to_first_chunk",
  MetricBoundaries.fromIterable(durationBoundaries),
  "Time to receive the first chunk of a streaming response."
)
