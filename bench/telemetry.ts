/**
 * The per-call cost of the GenAI instrumentation (`src/model/internal/telemetry.ts`),
 * without the network: an in-process ModelService that answers at once, called
 * `n` times bare and instrumented, under Effect's own tracer, under the OpenTelemetry
 * SDK with every span sampled (a no-op processor), and with none sampled. Prints µs per
 * `generate` and per 20-chunk `stream`. Run: `npx tsx bench/telemetry.ts [n]`.
 */
import * as OtelResource from "@effect/opentelemetry/Resource"
import * as OtelTracer from "@effect/opentelemetry/Tracer"
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  type SpanProcessor
} from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { instrument } from "../src/model/internal/telemetry.js"
import * as ModelRequest from "../src/model/ModelRequest.js"
import * as ModelResponse from "../src/model/ModelResponse.js"
import type { ModelService } from "../src/model/ModelService.js"

const n = Number(process.argv[2] ?? 20_000)

const finish: ModelResponse.Finish = {
  finishReason: "stop",
  usage: { inputTokens: 12, outputTokens: 30 },
  modelVersion: "gemini-2.5-flash",
  responseId: "r1"
}
const answer = ModelResponse.make([ModelRequest.TextPart.make({ text: "hello" })], finish, {})
const chunks = Array.from(
  { length: 20 },
  (_, i) => ModelResponse.chunk([ModelRequest.TextPart.make({ text: "x" })], {}, i === 19 ? finish : undefined)
)

const bare: ModelService.Service = {
  generate: () => Effect.succeed(answer as ModelResponse.ModelResponse<never>),
  stream: () => Stream.fromIterable(chunks),
  countTokens: () => Effect.succeed(0)
}
const traced = instrument(bare, {
  name: "gcp.vertex_ai",
  operation: "generate_content",
  url: "https://aiplatform.googleapis.com/v1",
  reasoningOutside: true
}, false)

const request: ModelRequest.ModelRequest = {
  model: "gemini-2.5-flash",
  contents: [ModelRequest.user("hi")],
  generation: { temperature: 0.2, maxOutputTokens: 100 }
}

const noop: SpanProcessor = {
  onStart: () => {},
  onEnd: () => {},
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve()
}
const otel = (sampled: boolean) =>
  OtelTracer.layer.pipe(
    Layer.provide(Layer.succeed(
      OtelTracer.OtelTracerProvider,
      new BasicTracerProvider({
        sampler: sampled ? new AlwaysOnSampler() : new AlwaysOffSampler(),
        spanProcessors: [noop]
      })
    )),
    Layer.provide(OtelResource.layer({ serviceName: "bench" }))
  )

const time = async (service: ModelService.Service, kind: "generate" | "stream", layer: Layer.Layer<never>) => {
  const one = kind === "generate" ? service.generate(request) : Stream.runDrain(service.stream(request))
  const loop = Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* one
  })
  const run = () => Effect.runPromise(loop.pipe(Effect.provide(layer)))
  await run() // warm-up
  const start = performance.now()
  await run()
  return ((performance.now() - start) * 1000) / n
}

const rows: Array<[string, Layer.Layer<never>]> = [
  ["Effect tracer", Layer.empty],
  ["OTel SDK, sampled", otel(true)],
  ["OTel SDK, not sampled", otel(false)]
]
for (const kind of ["generate", "stream"] as const) {
  for (const [name, layer] of rows) {
    const plain = await time(bare, kind, layer)
    const instrumented = await time(traced, kind, layer)
    console.log(
      `${kind.padEnd(8)} ${name.padEnd(22)} bare ${plain.toFixed(2).padStart(7)} µs  ` +
        `instrumented ${instrumented.toFixed(2).padStart(7)} µs  (+${(instrumented - plain).toFixed(2)} µs/call)`
    )
  }
}
