/**
 * Whether a call is traced, and the trace context an untraced call still sends.
 *
 * With no tracer installed, Effect's built-in tracer is in place: its spans reach no
 * exporter, so the model layer makes none (the GenAI span and the HttpClient's
 * `http.client` span cost tens of µs per call, issue 14). What an untraced app can still
 * use is the trace context it received (an incoming request's `traceparent`, a span of
 * its own): that goes out on the request as `traceparent` / `b3`, as `@effect/platform`
 * would send it, so Cloud Logging still joins the services' logs by trace.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import type * as Tracer from "effect/Tracer"

/** Effect's built-in tracer (the one in place when no tracer is installed). @internal */
export const nativeTracer: Tracer.Tracer = Effect.runSync(Effect.tracer)

/** Tracing is off for the fiber. @internal */
export const tracingOff = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
  !fiber.getFiberRef(FiberRef.currentTracerEnabled)

/**
 * Is the fiber's tracer Effect's built-in one, or tracing off? Then no span is made: it
 * would reach no exporter.
 *
 * @internal
 */
export const untraced = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
  fiber.currentTracer === nativeTracer || tracingOff(fiber)

/**
 * The W3C `traceparent` and B3 single headers of a span (the caller's, under the
 * built-in tracer), in `@effect/platform`'s `HttpTraceContext.toHeaders` format.
 */
const traceHeaders = (span: Tracer.AnySpan): Record<string, string> => ({
  b3: `${span.traceId}-${span.spanId}-${span.sampled ? "1" : "0"}`,
  traceparent: `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`
})

/**
 * `request` as an untraced fiber sends it: with the caller's span context (`traceparent`
 * / `b3`) when it has a span and, as `@effect/platform`'s client decides, tracing is on,
 * propagation is on and the request is not excluded (`currentTracerDisabledWhen`);
 * otherwise as it is.
 *
 * @internal
 */
export const withCallerContext = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  request: HttpClientRequest.HttpClientRequest
): HttpClientRequest.HttpClientRequest => {
  const parent = fiber.currentSpan
  return parent === undefined || tracingOff(fiber) || !fiber.getFiberRef(HttpClient.currentTracerPropagation) ||
      fiber.getFiberRef(HttpClient.currentTracerDisabledWhen)(request)
    ? request
    : HttpClientRequest.setHeaders(request, traceHeaders(parent))
}
