/**
 * GenAI telemetry of ModelService, end to end: every backend against its emulator
 * (Gemini API and Vertex AI with access tokens, Ollama and an OpenAI-compatible server
 * behind the Cloud Run front door with ID tokens), exported through
 * `@effect/opentelemetry` into the OpenTelemetry SDK's in-memory span exporter and a
 * pull metric reader. Exact attribute keys and values, the span tree (token fetches
 * under the call), `error.type`, the two histograms with the conventions' buckets, and
 * what never reaches a span: tokens always, messages unless opted in.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { SpanKind, SpanStatusCode } from "@opentelemetry/api"
import type { ResourceMetrics } from "@opentelemetry/sdk-metrics"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { readFileSync } from "node:fs"
import { AuthService } from "../../src/auth/AuthService.js"
import * as GeminiApi from "../../src/model/gemini/GeminiApi.js"
import * as GeminiVertex from "../../src/model/gemini/GeminiVertex.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as ModelTelemetry from "../../src/model/ModelTelemetry.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import * as OpenAICompatible from "../../src/model/openai/OpenAICompatible.js"
import * as Loopback from "../../src/testing/Loopback.js"
import { type BackendLayer, emulatorBase, fixturesRoot, useModelEmulators } from "../model/support.js"
import { useEmulator } from "../support/emulator.js"
import {
  childrenOf,
  collect,
  descendantsOf,
  histogramPoint,
  metric,
  onlySpan,
  spansNamed,
  spanText,
  telemetry
} from "./support.js"

const emulator = useEmulator({ env: true })
const models = useModelEmulators(emulator)

interface Backend {
  readonly name: string
  readonly provider: string
  readonly operation: "generate_content" | "chat"
  readonly model: string
  readonly token: "access" | "id"
  readonly url: () => string
  readonly layer: () => BackendLayer
  /** the response id the emulator sends, when the protocol has one */
  readonly responseId: RegExp | undefined
  /** the answer's model name as the server reports it */
  readonly responseModel: string
}

const backends: ReadonlyArray<Backend> = [
  {
    name: "Gemini API",
    provider: "gcp.gemini",
    operation: "generate_content",
    model: "gemini-2.5-flash",
    token: "access",
    url: () => models.gemini.url,
    layer: () => GeminiApi.layer({ baseUrl: models.gemini.url, origins: [models.gemini.url] }),
    responseId: /^ZW11bGF0b3I/,
    responseModel: "gemini-2.5-flash"
  },
  {
    name: "Vertex AI",
    provider: "gcp.vertex_ai",
    operation: "generate_content",
    model: "gemini-2.5-pro",
    token: "access",
    url: () => models.gemini.url,
    layer: () =>
      GeminiVertex.layer({
        project: "emulator-project",
        location: "global",
        baseUrl: models.gemini.url,
        origins: [models.gemini.url]
      }),
    responseId: /^ZW11bGF0b3I/,
    responseModel: "gemini-2.5-pro"
  },
  {
    name: "Ollama",
    provider: "ollama",
    operation: "chat",
    model: "gemma3:4b",
    token: "id",
    url: () => models.ollama.url,
    layer: () => Ollama.layer({ url: models.ollama.url }),
    responseId: undefined,
    responseModel: "gemma3:4b"
  },
  {
    name: "OpenAI-compatible (vLLM)",
    provider: "vllm",
    operation: "chat",
    model: "google/gemma-3-4b-it",
    token: "id",
    url: () => models.openAICompatible.url,
    layer: () => OpenAICompatible.layer({ url: models.openAICompatible.url, provider: "vllm" }),
    responseId: /^chatcmpl-/,
    responseModel: "google/gemma-3-4b-it"
  }
]

const serverOf = (url: string) => {
  const parsed = new URL(url)
  return { "server.address": parsed.hostname, "server.port": Number(parsed.port) }
}

const settings: ModelRequest.GenerationConfig = {
  temperature: 0.25,
  topP: 0.5,
  topK: 20,
  maxOutputTokens: 64,
  seed: 7,
  stop: ["ZZZ"]
}

const prompt = "tell me about PURPLE-42"

/**
 * Runs a program on a backend under a fresh SDK; returns its exit, the finished spans,
 * the collected metrics and the tokens the program's AuthService holds at the end.
 */
const observe = <A, E>(
  backend: Backend,
  program: Effect.Effect<A, E, ModelService>,
  options: { readonly capture?: Layer.Layer<never>; readonly untraced?: boolean } = {}
) =>
  Effect.gen(function*() {
    models.gemini.emulator.reset()
    models.ollama.emulator.reset()
    models.openAICompatible.emulator.reset()
    const sdk = telemetry()
    const base = emulatorBase(emulator)
    const layer = backend.layer().pipe(
      Layer.provide(options.capture ?? Layer.empty),
      Layer.provideMerge(base)
    )
    const { before, exit, metrics, tokens } = yield* Effect.gen(function*() {
      const before = yield* collect(sdk.reader)
      const exit = yield* Effect.exit(program)
      const metrics = yield* collect(sdk.reader)
      const auth = yield* AuthService
      const tokens = [
        yield* auth.accessToken(),
        yield* auth.idToken(new URL(backend.url()).origin)
      ].map((token) => Redacted.value(token.value))
      return { before, exit, metrics, tokens }
    }).pipe(Effect.provide(layer), Effect.provide(options.untraced === true ? sdk.metricsLayer : sdk.layer))
    return { before, exit, metrics, tokens, exporter: sdk.exporter }
  })

const generate = (backend: Backend, text: string = prompt) =>
  Effect.flatMap(
    ModelService,
    (model) => model.generate({ model: backend.model, contents: [ModelRequest.user(text)], generation: settings })
  )

const stream = (backend: Backend, text: string = prompt) =>
  Effect.flatMap(ModelService, (model) =>
    Stream.runCollect(
      model.stream({ model: backend.model, contents: [ModelRequest.user(text)], generation: settings })
    ))

const spanName = (backend: Backend) => `${backend.operation} ${backend.model}`

/** The attributes every call span of a backend carries, before the response. */
const requestAttributes = (backend: Backend) => ({
  "gen_ai.operation.name": backend.operation,
  "gen_ai.provider.name": backend.provider,
  "gen_ai.request.model": backend.model,
  ...serverOf(backend.url()),
  "gen_ai.request.temperature": 0.25,
  "gen_ai.request.top_p": 0.5,
  "gen_ai.request.top_k": 20,
  "gen_ai.request.max_tokens": 64,
  "gen_ai.request.seed": 7,
  "gen_ai.request.stop_sequences": ["ZZZ"]
})

const responseAttributes = (
  backend: Backend,
  response: { readonly responseId?: string | undefined; readonly usage: { inputTokens?: number | undefined } },
  outputTokens: number | undefined
) => ({
  ...(backend.responseId === undefined ? {} : { "gen_ai.response.id": response.responseId }),
  "gen_ai.response.model": backend.responseModel,
  "gen_ai.response.finish_reasons": ["stop"],
  "gen_ai.usage.input_tokens": response.usage.inputTokens,
  "gen_ai.usage.output_tokens": outputTokens
})

const tokenPattern = /ya29\.[A-Za-z0-9_.-]{20,}|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{20,}/

/** No token (the program's own, or anything token-shaped) in any exported span. */
const expectNoToken = (spans: ReadonlyArray<ReadableSpan>, tokens: ReadonlyArray<string>) => {
  const text = spans.map(spanText).join("\n")
  expect(tokens.every((token) => token.length > 20)).toBe(true)
  for (const token of tokens) expect(text.includes(token)).toBe(false)
  expect(tokenPattern.test(text)).toBe(false)
}

const durationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
const tokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]

/** The bucket counts of `values` in a histogram with these boundaries. */
const bucketsOf = (boundaries: ReadonlyArray<number>, values: ReadonlyArray<number>) => {
  const counts: Array<number> = Array.from({ length: boundaries.length + 1 }, () => 0)
  for (const value of values) {
    const index = boundaries.findIndex((boundary) => value <= boundary)
    counts[index === -1 ? boundaries.length : index]! += 1
  }
  return counts
}

/** What a call added to a histogram data point: count, sum, bucket counts (a point absent before counts as zero). */
const added = (
  before: ResourceMetrics,
  after: ResourceMetrics,
  name: string,
  attributes: Record<string, string>
) => {
  const then = histogramPoint(before, name, attributes)?.value
  const now = histogramPoint(after, name, attributes)?.value
  if (now === undefined) return undefined
  return {
    boundaries: now.buckets.boundaries,
    count: now.count - (then?.count ?? 0),
    sum: (now.sum ?? 0) - (then?.sum ?? 0),
    counts: now.buckets.counts.map((count, i) => count - (then?.buckets.counts[i] ?? 0))
  }
}

/** The metric labels of a backend's successful call. */
const labelsOf = (backend: Backend, model: string = backend.model): Record<string, string> => ({
  "gen_ai.operation.name": backend.operation,
  "gen_ai.provider.name": backend.provider,
  "gen_ai.request.model": model,
  "server.address": serverOf(backend.url())["server.address"],
  // Effect's metric labels are strings
  "server.port": String(serverOf(backend.url())["server.port"])
})

describe.each(backends)("$name", (backend) => {
  it.effect(
    "generate, cold then warm: exact CLIENT span attributes, the token fetch as the cold call's child, " +
      "both histograms with the conventions' units and buckets, no token or prompt on any span",
    () =>
      Effect.gen(function*() {
        const { before, exit, exporter, metrics, tokens } = yield* observe(
          backend,
          Effect.zip(generate(backend), generate(backend, "again"))
        )
        const [response, again] = yield* exit
        expect(response.provider).toBe(backend.provider)
        if (backend.responseId !== undefined) expect(response.responseId).toMatch(backend.responseId)
        const [cold, warm] = spansNamed(exporter, spanName(backend))
        expect(cold!.kind).toBe(SpanKind.CLIENT)
        expect(cold!.status.code).toBe(SpanStatusCode.OK)
        expect(cold!.parentSpanContext).toBeUndefined()
        expect(cold!.attributes).toStrictEqual({
          ...requestAttributes(backend),
          ...responseAttributes(backend, response, response.usage.outputTokens)
        })
        // the span tree: cold call → token fetch → credential source → its HTTP call; the HTTP attempt
        const fetch = childrenOf(exporter, cold!).filter((span) => span.name === "effect-adc/TokenCache.fetch")
        expect(fetch.map((span) => span.attributes["kind"])).toEqual([backend.token])
        expect(descendantsOf(exporter, fetch[0]!).map((span) => span.name)).toContain(
          backend.token === "access"
            ? "effect-adc/CredentialSource.fetchAccessToken"
            : "effect-adc/CredentialSource.fetchIdToken"
        )
        expect(childrenOf(exporter, cold!).filter((span) => span.name === "http.client POST").length).toBe(1)
        expect(descendantsOf(exporter, warm!).map((span) => span.name)).toEqual(["http.client POST"])
        // metrics: the two calls, one duration point, input and output token points
        const labels = { ...labelsOf(backend), "gen_ai.response.model": backend.responseModel }
        expect(metric(metrics, "gen_ai.client.operation.duration")?.descriptor.unit).toBe("s")
        expect(metric(metrics, "gen_ai.client.token.usage")?.descriptor.unit).toBe("{token}")
        expect(added(before, metrics, "gen_ai.client.operation.duration", { ...labels, unit: "s" })).toEqual({
          boundaries: durationBuckets,
          count: 2,
          sum: 0,
          counts: bucketsOf(durationBuckets, [0, 0])
        })
        for (const type of ["input", "output"] as const) {
          const counts = [response, again].map((r) => (type === "input" ? r.usage.inputTokens : r.usage.outputTokens)!)
          expect(
            added(before, metrics, "gen_ai.client.token.usage", {
              ...labels,
              "gen_ai.token.type": type,
              unit: "{token}"
            })
          ).toEqual({
            boundaries: tokenBuckets,
            count: 2,
            sum: counts[0]! + counts[1]!,
            counts: bucketsOf(tokenBuckets, counts)
          })
        }
        expect(
          added(before, metrics, "gen_ai.client.operation.time_to_first_chunk", { ...labels, unit: "s" })?.count ?? 0
        ).toBe(0)
        expectNoToken(exporter.getFinishedSpans(), tokens)
        expect(exporter.getFinishedSpans().map(spanText).join("\n")).not.toContain("PURPLE-42")
      })
  )

  it.effect("stream: gen_ai.request.stream, time to first chunk, usage of the last chunk; no answer text", () =>
    Effect.gen(function*() {
      const { before, exit, exporter, metrics, tokens } = yield* observe(
        backend,
        stream(backend, "one two PURPLE-42 four five six")
      )
      const chunks = [...(yield* exit)]
      const last = chunks.at(-1)?.finish
      expect(chunks.length).toBeGreaterThan(1)
      expect(chunks.map((chunk) => chunk.textDelta).join("")).toContain("PURPLE-42")
      expect(last?.provider).toBe(backend.provider)
      const span = onlySpan(exporter, spanName(backend))
      expect(span.kind).toBe(SpanKind.CLIENT)
      expect(span.status.code).toBe(SpanStatusCode.OK)
      expect(span.attributes).toStrictEqual({
        ...requestAttributes(backend),
        "gen_ai.request.stream": true,
        // TestClock: no time passes between the request and its first chunk
        "gen_ai.response.time_to_first_chunk": 0,
        ...responseAttributes(backend, { responseId: last?.responseId, usage: last!.usage }, last?.usage.outputTokens)
      })
      expect(childrenOf(exporter, span).map((child) => child.name)).toContain("http.client POST")
      // streams only: the time-to-first-chunk histogram
      const labels = { ...labelsOf(backend), "gen_ai.response.model": backend.responseModel, unit: "s" }
      expect(added(before, metrics, "gen_ai.client.operation.time_to_first_chunk", labels)).toEqual({
        boundaries: durationBuckets,
        count: 1,
        sum: 0,
        counts: bucketsOf(durationBuckets, [0])
      })
      expectNoToken(exporter.getFinishedSpans(), tokens)
      expect(exporter.getFinishedSpans().map(spanText).join("\n")).not.toContain("PURPLE-42")
    }))

  it.effect(
    "failures: error.type is the ModelError's tag (a rejected generate, a stream broken after its first " +
      "chunk), finish reason `error`, status ERROR, a duration point with error.type and no token point",
    () =>
      Effect.gen(function*() {
        const { before, exit, exporter, metrics, tokens } = yield* observe(
          backend,
          Effect.zip(
            Effect.flip(generate(backend, "bad [[error:400]]")),
            Effect.flip(
              backend.operation === "generate_content"
                ? Effect.suspend(() => {
                  models.gemini.emulator.fail({ status: 500, midStream: true })
                  return stream(backend, "a b c d e f g h")
                })
                : stream(backend, "a b c d e f [[midstream_error]]")
            )
          )
        )
        const [rejected, broken] = yield* exit
        expect(rejected._tag).toBe("InvalidRequest")
        expect(broken._tag).toBe("ServerError")
        const [rejectedSpan, brokenSpan] = spansNamed(exporter, spanName(backend))
        expect(rejectedSpan!.status.code).toBe(SpanStatusCode.ERROR)
        expect(rejectedSpan!.attributes).toStrictEqual({
          ...requestAttributes(backend),
          "gen_ai.response.finish_reasons": ["error"],
          "error.type": "InvalidRequest"
        })
        expect(brokenSpan!.status.code).toBe(SpanStatusCode.ERROR)
        expect(brokenSpan!.attributes).toStrictEqual({
          ...requestAttributes(backend),
          "gen_ai.request.stream": true,
          "gen_ai.response.time_to_first_chunk": 0,
          "gen_ai.response.finish_reasons": ["error"],
          "error.type": "ServerError"
        })
        for (const tag of ["InvalidRequest", "ServerError"]) {
          expect(
            added(before, metrics, "gen_ai.client.operation.duration", {
              ...labelsOf(backend),
              "error.type": tag,
              unit: "s"
            })?.count
          ).toBe(1)
        }
        const tokenPoints = metric(metrics, "gen_ai.client.token.usage")?.dataPoints ?? []
        expect(tokenPoints.filter((point) => point.attributes["gen_ai.response.model"] === undefined)).toEqual([])
        expectNoToken(exporter.getFinishedSpans(), tokens)
      })
  )

  it.effect("CaptureContent: input, system instruction and output messages in the conventions' shapes", () =>
    Effect.gen(function*() {
      const { exit, exporter, tokens } = yield* observe(
        backend,
        Effect.flatMap(ModelService, (model) =>
          model.generate({
            model: backend.model,
            system: "be brief",
            contents: [ModelRequest.user(prompt)]
          })),
        { capture: Layer.succeed(ModelTelemetry.CaptureContent, true) }
      )
      const response = yield* exit
      const span = onlySpan(exporter, spanName(backend))
      expect(JSON.parse(String(span.attributes["gen_ai.input.messages"]))).toEqual([
        { role: "user", parts: [{ type: "text", content: prompt }] }
      ])
      expect(JSON.parse(String(span.attributes["gen_ai.system_instructions"]))).toEqual([
        { type: "text", content: "be brief" }
      ])
      expect(JSON.parse(String(span.attributes["gen_ai.output.messages"]))).toEqual([
        { role: "assistant", parts: [{ type: "text", content: response.text }], finish_reason: "stop" }
      ])
      expectNoToken(exporter.getFinishedSpans(), tokens)
    }))
})

describe("an app that does not trace (Effect's built-in tracer)", () => {
  const backend = backends[0]!

  it.effect("generate and stream record the same duration, token and first-chunk points; nothing is exported", () =>
    Effect.gen(function*() {
      const { before, exit, exporter, metrics } = yield* observe(
        backend,
        Effect.zip(generate(backend), stream(backend)),
        { untraced: true }
      )
      const [response, chunks] = yield* exit
      expect(response.provider).toBe(backend.provider)
      expect([...chunks].at(-1)?.finish?.provider).toBe(backend.provider)
      expect(exporter.getFinishedSpans()).toEqual([])
      const labels = { ...labelsOf(backend), "gen_ai.response.model": backend.responseModel }
      expect(added(before, metrics, "gen_ai.client.operation.duration", { ...labels, unit: "s" })?.count).toBe(2)
      expect(
        added(before, metrics, "gen_ai.client.operation.time_to_first_chunk", { ...labels, unit: "s" })?.count
      ).toBe(1)
      for (const type of ["input", "output"] as const) {
        expect(
          added(before, metrics, "gen_ai.client.token.usage", { ...labels, "gen_ai.token.type": type, unit: "{token}" })
            ?.count
        ).toBe(2)
      }
    }))
})

describe("trace context on the wire", () => {
  const backend = backends[0]!
  const lastHeaders = () => models.gemini.emulator.requests.at(-1)!.headers

  it.effect("traced: traceparent and b3 name the exported http.client span", () =>
    Effect.gen(function*() {
      const { exit, exporter } = yield* observe(backend, generate(backend))
      yield* exit
      const http = exporter.getFinishedSpans().filter((span) => span.name.startsWith("http.client"))
      expect(http).toHaveLength(1)
      const { spanId, traceId } = http[0]!.spanContext()
      expect(lastHeaders()["traceparent"]).toBe(`00-${traceId}-${spanId}-01`)
      expect(lastHeaders()["b3"]?.startsWith(`${traceId}-${spanId}-1`)).toBe(true)
    }))

  it.effect("untraced, inside the caller's span: no span made, the caller's trace context goes out", () =>
    Effect.gen(function*() {
      const { exit, exporter } = yield* observe(
        backend,
        Effect.zipLeft(Effect.orDie(Effect.currentSpan), generate(backend)).pipe(Effect.withSpan("caller")),
        { untraced: true }
      )
      const caller = yield* exit
      expect(exporter.getFinishedSpans()).toEqual([])
      expect(lastHeaders()["traceparent"]).toBe(`00-${caller.traceId}-${caller.spanId}-01`)
      expect(lastHeaders()["b3"]).toBe(`${caller.traceId}-${caller.spanId}-1`)
    }))

  it.effect("untraced, outside any span: no trace headers", () =>
    Effect.gen(function*() {
      const { exit } = yield* observe(backend, generate(backend), { untraced: true })
      yield* exit
      expect(lastHeaders()["traceparent"]).toBeUndefined()
      expect(lastHeaders()["b3"]).toBeUndefined()
    }))
})

describe("content opt-in through the environment", () => {
  const backend = backends[2]!

  it.effect("EFFECT_ADC_TELEMETRY_CONTENT=true records the messages of a stream", () =>
    Effect.gen(function*() {
      const { exit, exporter } = yield* observe(backend, stream(backend), {
        capture: Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["EFFECT_ADC_TELEMETRY_CONTENT", "true"]])))
      })
      const chunks = [...(yield* exit)]
      const answer = chunks.map((chunk) => chunk.textDelta).join("")
      const span = onlySpan(exporter, spanName(backend))
      expect(JSON.parse(String(span.attributes["gen_ai.input.messages"]))).toEqual([
        { role: "user", parts: [{ type: "text", content: prompt }] }
      ])
      expect(JSON.parse(String(span.attributes["gen_ai.output.messages"]))).toEqual([
        { role: "assistant", parts: [{ type: "text", content: answer }], finish_reason: "stop" }
      ])
    }))

  it.effect("EFFECT_ADC_TELEMETRY_CONTENT=false keeps them off", () =>
    Effect.gen(function*() {
      const { exit, exporter } = yield* observe(backend, generate(backend), {
        capture: Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["EFFECT_ADC_TELEMETRY_CONTENT", "false"]])))
      })
      yield* exit
      const span = onlySpan(exporter, spanName(backend))
      expect(Object.keys(span.attributes).filter((key) => key.includes("messages"))).toEqual([])
    }))
})

describe("tools and structured output", () => {
  const backend = backends[0]!
  const Weather = Schema.Struct({ city: Schema.String })

  it.effect("structured output sets gen_ai.output.type json; a tool call finishes with tool_call", () =>
    Effect.gen(function*() {
      const { exit, exporter } = yield* observe(
        backend,
        Effect.flatMap(ModelService, (model) =>
          Effect.zip(
            model.generate({
              model: backend.model,
              contents: [ModelRequest.user("who name=Ada age=36")],
              output: { schema: Schema.Struct({ name: Schema.String, age: Schema.Number }) }
            }),
            model.generate({
              model: backend.model,
              contents: [ModelRequest.user("get_weather city=Tokyo")],
              tools: [{ name: "get_weather", description: "weather", parameters: Weather }]
            })
          )),
        { capture: Layer.succeed(ModelTelemetry.CaptureContent, true) }
      )
      const [structured, called] = yield* exit
      expect(structured.value).toEqual({ name: "Ada", age: 36 })
      const [jsonSpan, toolSpan] = spansNamed(exporter, spanName(backend))
      expect(jsonSpan!.attributes["gen_ai.output.type"]).toBe("json")
      expect(toolSpan!.attributes["gen_ai.output.type"]).toBeUndefined()
      expect(toolSpan!.attributes["gen_ai.response.finish_reasons"]).toEqual(["tool_call"])
      expect(JSON.parse(String(toolSpan!.attributes["gen_ai.tool.definitions"]))).toEqual([
        {
          type: "function",
          name: "get_weather",
          description: "weather",
          parameters: {
            type: "object",
            required: ["city"],
            properties: { city: { type: "string" } },
            additionalProperties: false
          }
        }
      ])
      const call = called.toolCalls[0]!
      expect(JSON.parse(String(toolSpan!.attributes["gen_ai.output.messages"]))).toEqual([
        {
          role: "assistant",
          parts: [{ type: "tool_call", id: call.id, name: "get_weather", arguments: { city: "Tokyo" } }],
          finish_reason: "tool_call"
        }
      ])
    }))
})

describe("a recorded Gemini answer with cached and thought tokens", () => {
  // gemini-2.5-flash, Gemini API: prompt 5 (3 from the cache), candidates 238, thoughts 41
  const recorded = readFileSync(new URL("gemini/api-generate-structured-output.json", fixturesRoot), "utf8")
  let server: Loopback.LoopbackServer
  beforeAll(async () => {
    server = await Loopback.serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json; charset=UTF-8" })
      res.end(recorded)
    })
    return () => server.close()
  })

  it.effect("usage: input 5, output 238 + 41 (reasoning included), cache_read 3, reasoning 41; the recorded id", () =>
    Effect.gen(function*() {
      const backend: Backend = {
        ...backends[0]!,
        url: () => server.url,
        layer: () => GeminiApi.layer({ baseUrl: server.url, origins: [server.url] })
      }
      const { exit, exporter } = yield* observe(
        backend,
        Effect.flatMap(
          ModelService,
          (model) => model.generate({ model: backend.model, contents: [ModelRequest.user("a recipe")] })
        )
      )
      const response = yield* exit
      expect(response.usage).toMatchObject({
        inputTokens: 5,
        outputTokens: 238,
        thoughtTokens: 41,
        cachedInputTokens: 3
      })
      const span = onlySpan(exporter, spanName(backend))
      expect(span.attributes).toStrictEqual({
        "gen_ai.operation.name": "generate_content",
        "gen_ai.provider.name": "gcp.gemini",
        "gen_ai.request.model": "gemini-2.5-flash",
        ...serverOf(server.url),
        "gen_ai.response.id": "hS77aOmpFb66vr0P9ruBiQM",
        "gen_ai.response.model": "gemini-2.5-flash",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.output_tokens": 279,
        "gen_ai.usage.cache_read.input_tokens": 3,
        "gen_ai.usage.reasoning.output_tokens": 41
      })
    }))
})
