/**
 * The telemetry tests' harness: an OpenTelemetry SDK with an in-memory span exporter
 * and a pull metric reader, wired through `@effect/opentelemetry` (its Tracer and
 * Metrics layers), the way an application wires an OTLP exporter.
 */
import * as OtelMetrics from "@effect/opentelemetry/Metrics"
import * as OtelResource from "@effect/opentelemetry/Resource"
import * as OtelTracer from "@effect/opentelemetry/Tracer"
import type { Attributes, AttributeValue } from "@opentelemetry/api"
import type { DataPoint, Histogram, MetricData, ResourceMetrics } from "@opentelemetry/sdk-metrics"
import { DataPointType, MetricReader } from "@opentelemetry/sdk-metrics"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** A reader that collects when asked (no timer). */
class PullReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve()
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve()
  }
}

/** What one observed program exported. */
export interface Telemetry {
  readonly exporter: InMemorySpanExporter
  readonly reader: MetricReader
  /** The OTel tracer and metric producer as Effect layers. */
  readonly layer: Layer.Layer<never>
  /** The metric producer alone: Effect's built-in tracer stays in place (an app that does not trace). */
  readonly metricsLayer: Layer.Layer<never>
}

/** A fresh SDK: its own exporter and reader. */
export const telemetry = (): Telemetry => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const reader = new PullReader()
  const layer = Layer.mergeAll(
    OtelTracer.layer.pipe(Layer.provide(Layer.succeed(OtelTracer.OtelTracerProvider, provider))),
    OtelMetrics.layer(() => reader)
  ).pipe(Layer.provide(OtelResource.layer({ serviceName: "effect-adc-telemetry" })))
  const metricsLayer = OtelMetrics.layer(() => reader).pipe(
    Layer.provide(OtelResource.layer({ serviceName: "effect-adc-telemetry" }))
  )
  return { exporter, reader, layer, metricsLayer }
}

/** Collects the metrics (inside the program: the Metrics layer shuts its reader down with its scope). */
export const collect = (reader: MetricReader): Effect.Effect<ResourceMetrics> =>
  Effect.promise(() => reader.collect()).pipe(Effect.map((result) => result.resourceMetrics))

/** A metric by name. */
export const metric = (metrics: ResourceMetrics, name: string): MetricData | undefined =>
  metrics.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === name)

const matches = (attributes: Attributes, wanted: Attributes): boolean =>
  Object.keys(wanted).length === Object.keys(attributes).length &&
  Object.entries(wanted).every(([key, value]) => attributes[key] === value)

/** The histogram data point whose attributes are exactly `attributes`. */
export const histogramPoint = (
  metrics: ResourceMetrics,
  name: string,
  attributes: Attributes
): DataPoint<Histogram> | undefined => {
  const data = metric(metrics, name)
  if (data === undefined || data.dataPointType !== DataPointType.HISTOGRAM) return undefined
  return data.dataPoints.find((point) => matches(point.attributes, attributes))
}

/** Spans by name. */
export const spansNamed = (exporter: InMemorySpanExporter, name: string): ReadonlyArray<ReadableSpan> =>
  exporter.getFinishedSpans().filter((span) => span.name === name)

/** The one span of a name (fails the test when there are none or several). */
export const onlySpan = (exporter: InMemorySpanExporter, name: string): ReadableSpan => {
  const found = spansNamed(exporter, name)
  if (found.length !== 1) {
    throw new Error(
      `expected one span "${name}", found ${found.length} among ${
        exporter.getFinishedSpans().map((s) => s.name).join(", ")
      }`
    )
  }
  return found[0]!
}

/** The children of a span. */
export const childrenOf = (exporter: InMemorySpanExporter, parent: ReadableSpan): ReadonlyArray<ReadableSpan> =>
  exporter.getFinishedSpans().filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId)

/** Every descendant of a span. */
export const descendantsOf = (exporter: InMemorySpanExporter, root: ReadableSpan): ReadonlyArray<ReadableSpan> => {
  const out: Array<ReadableSpan> = []
  const visit = (span: ReadableSpan) => {
    for (const child of childrenOf(exporter, span)) {
      out.push(child)
      visit(child)
    }
  }
  visit(root)
  return out
}

/** Everything a span holds as text: attributes, events with their attributes, status message. */
export const spanText = (span: ReadableSpan): string =>
  JSON.stringify({
    name: span.name,
    attributes: span.attributes,
    events: span.events.map((event) => ({ name: event.name, attributes: event.attributes })),
    status: span.status,
    links: span.links.map((link) => link.attributes)
  })

/** An attribute value (for readable assertions). */
export const attribute = (span: ReadableSpan, key: string): AttributeValue | undefined => span.attributes[key]
