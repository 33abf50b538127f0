/**
 * A polluted prototype never becomes model output. Prototype pollution elsewhere in an
 * app (a deep merge of untrusted JSON through `__proto__`) leaves a name on
 * `Object.prototype`, which every object `JSON.parse` makes then inherits: a field an
 * answer leaves out would read as the polluted value, so text nobody sent would stream,
 * a tool call nobody made would reach the agent, a 400 would read as a retryable 429.
 * Every decode of an answer therefore refuses to run on a polluted prototype and fails
 * with `PrototypePolluted`, naming the property and never its value.
 *
 * Matrix, end to end over loopback (`ModelService` on every HTTP client, every
 * backend's protocol, `generate` and `stream`): for each field a backend reads where an
 * answer may leave it out, an answer without it and the prototype polluted under that
 * name with a value the field would take (assigned, so enumerable, and defined
 * non-enumerable); an index on `Array.prototype` under an empty array; and an error
 * status whose body lacks the field that picks the error. Each cell checks:
 * - with the pollution, the call fails with `PrototypePolluted` naming the property,
 *   and the value is in no chunk, no printed form of the exit, no log line at Debug and
 *   no exported span (nor any token);
 * - the same bytes on the clean prototype, before and after, give the answer as sent.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as AuthService from "../../src/auth/AuthService.js"
import { EmbeddingService } from "../../src/model/embedding/EmbeddingService.js"
import * as GeminiApiEmbeddings from "../../src/model/embedding/GeminiApiEmbeddings.js"
import * as OllamaEmbeddings from "../../src/model/embedding/OllamaEmbeddings.js"
import * as OpenAICompatibleEmbeddings from "../../src/model/embedding/OpenAICompatibleEmbeddings.js"
import type * as ModelError from "../../src/model/ModelError.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as RetryPolicy from "../../src/model/RetryPolicy.js"
import { backendLayer, type Form, httpClients, leakReport, observe, serve, useSharedAuth, useWorld } from "./support.js"

const world = useWorld()
const sharedAuth = useSharedAuth(world)

/** The polluted value's mark: it must appear nowhere. */
const marker = "POLLUTED-7f3a"

/** What the loopback server answers next. */
let answer = { status: 200, contentType: "application/json", text: "" }

const upstream = await serve((req, res) => {
  req.resume()
  req.on("end", () => {
    res.writeHead(answer.status, { "content-type": answer.contentType })
    res.end(answer.text)
  })
}, { secrets: world.secrets })

const sse = (...events: ReadonlyArray<unknown>) => events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("")
const lines = (...events: ReadonlyArray<unknown>) => events.map((e) => `${JSON.stringify(e)}\n`).join("")

type Protocol = "gemini" | "ollama" | "openai"
type Op = "generate" | "stream"

/** A property set on a prototype. */
interface Pollution {
  /** What is polluted: a name on `Object.prototype`, or an index on `Array.prototype`. */
  readonly on: "Object" | "Array"
  readonly name: string
  /** A value the missing field would take. */
  readonly value: unknown
}

interface Case extends Pollution {
  /** The requests the polluted call sends: 1, or 0 when the HTTP client fails on the pollution first. */
  readonly sent?: 0
  /** Answers without the field, as the server sends them. */
  readonly answers: Readonly<Record<Op, { readonly status?: number; readonly text: string }>>
}

const geminiEnd = {
  candidates: [{ content: { role: "model", parts: [{ text: "!" }] }, finishReason: "STOP" }],
  usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4, totalTokenCount: 7 }
}
const geminiWith = (candidate: unknown) => ({
  candidates: [candidate],
  usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4, totalTokenCount: 7 }
})
const ollamaHead = { model: "gemma3:4b", created_at: "2026-11-30T12:00:00Z" }
const ollamaEnd = { ...ollamaHead, message: { role: "assistant", content: "!" }, done: true, done_reason: "stop" }
const openaiChunk = (choice: unknown) => ({
  id: "c1",
  object: "chat.completion.chunk",
  model: "gemma",
  choices: [choice]
})
const openaiEnd = sse(openaiChunk({ index: 0, delta: { content: "!" }, finish_reason: "stop" })) + "data: [DONE]\n\n"
const openaiCompletion = (message: unknown) => ({
  id: "c1",
  object: "chat.completion",
  model: "gemma",
  choices: [{ index: 0, ...(message === undefined ? {} : { message }), finish_reason: "stop" }],
  usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 }
})
const call = { name: "delete_everything", args: { really: true } }

/** A Gemini answer whose part has neither `text` nor `functionCall`. */
const geminiEmptyPart: Case["answers"] = {
  generate: { text: JSON.stringify(geminiWith({ content: { role: "model", parts: [{}] }, finishReason: "STOP" })) },
  stream: { text: sse({ candidates: [{ content: { role: "model", parts: [{}] } }] }, geminiEnd) }
}
/** An Ollama answer of plain text: no `tool_calls`, no `error`. */
const ollamaPlainText: Case["answers"] = {
  generate: { text: JSON.stringify(ollamaEnd) },
  stream: { text: lines({ ...ollamaHead, message: { role: "assistant", content: "a" }, done: false }, ollamaEnd) }
}

const cases: Readonly<Record<Protocol, ReadonlyArray<Case>>> = {
  gemini: [
    {
      on: "Object",
      name: "parts",
      value: [{ text: marker }],
      answers: {
        generate: { text: JSON.stringify(geminiWith({ content: { role: "model" }, finishReason: "STOP" })) },
        stream: { text: sse({ candidates: [{ content: { role: "model" } }] }, geminiEnd) }
      }
    },
    {
      on: "Object",
      name: "text",
      value: marker,
      answers: geminiEmptyPart
    },
    {
      on: "Object",
      name: "functionCall",
      value: { ...call, id: marker },
      answers: geminiEmptyPart
    },
    {
      on: "Object",
      name: "content",
      value: { role: "model", parts: [{ text: marker }] },
      answers: {
        generate: { text: JSON.stringify(geminiWith({ index: 0, finishReason: "STOP" })) },
        stream: { text: sse({ candidates: [{ index: 0 }] }, geminiEnd) }
      }
    },
    {
      on: "Array",
      name: "0",
      value: { content: { role: "model", parts: [{ text: marker }] }, finishReason: "STOP" },
      answers: {
        generate: { text: JSON.stringify({ ...geminiEnd, candidates: [] }) },
        stream: { text: sse({ candidates: [] }, geminiEnd) }
      }
    },
    {
      // a 400 without `status` would read as RESOURCE_EXHAUSTED: a retryable rate limit
      on: "Object",
      name: "status",
      value: "RESOURCE_EXHAUSTED",
      answers: {
        generate: { status: 400, text: JSON.stringify({ error: { code: 400, message: `bad ${marker.length}` } }) },
        stream: { status: 400, text: JSON.stringify({ error: { code: 400, message: `bad ${marker.length}` } }) }
      }
    }
  ],
  ollama: [
    {
      on: "Object",
      name: "message",
      value: { role: "assistant", content: marker },
      answers: {
        generate: { text: JSON.stringify({ ...ollamaHead, done: true, done_reason: "stop" }) },
        stream: { text: lines({ ...ollamaHead, done: false }, ollamaEnd) }
      }
    },
    {
      on: "Object",
      name: "content",
      value: marker,
      answers: {
        generate: { text: JSON.stringify({ ...ollamaHead, message: { role: "assistant" }, done: true }) },
        stream: { text: lines({ ...ollamaHead, message: { role: "assistant" }, done: false }, ollamaEnd) }
      }
    },
    {
      on: "Object",
      name: "tool_calls",
      value: [{ function: { name: call.name, arguments: { marker } } }],
      answers: ollamaPlainText
    },
    {
      // a failing stream's last line: `{"error": …}` read from nothing (undici's fetch
      // fails on it first, before a request is sent)
      on: "Object",
      name: "error",
      value: marker,
      sent: 0,
      answers: ollamaPlainText
    }
  ],
  openai: [
    {
      on: "Object",
      name: "delta",
      value: { content: marker },
      answers: {
        generate: { text: JSON.stringify(openaiCompletion({ role: "assistant", content: "ok" })) },
        stream: { text: sse(openaiChunk({ index: 0 })) + openaiEnd }
      }
    },
    {
      on: "Object",
      name: "content",
      value: marker,
      answers: {
        generate: { text: JSON.stringify(openaiCompletion({ role: "assistant" })) },
        stream: { text: sse(openaiChunk({ index: 0, delta: {} })) + openaiEnd }
      }
    },
    {
      on: "Object",
      name: "tool_calls",
      value: [{ index: 0, id: "t1", type: "function", function: { name: call.name, arguments: `{"m":"${marker}"}` } }],
      answers: {
        generate: { text: JSON.stringify(openaiCompletion({ role: "assistant", content: "ok" })) },
        stream: { text: sse(openaiChunk({ index: 0, delta: { content: "a" } })) + openaiEnd }
      }
    },
    {
      on: "Array",
      name: "0",
      value: { index: 0, delta: { content: marker }, message: { role: "assistant", content: marker } },
      answers: {
        generate: { text: JSON.stringify({ ...openaiCompletion(undefined), choices: [] }) },
        stream: { text: sse({ ...openaiChunk(undefined), choices: [] }) + openaiEnd }
      }
    }
  ]
}

const backendOf = { gemini: "gemini-api", ollama: "ollama", openai: "openai" } as const
const modelOf = { gemini: "gemini-2.5-flash", ollama: "gemma3:4b", openai: "google/gemma-3-4b-it" } as const
const contentTypeOf = {
  generate: { gemini: "application/json", ollama: "application/json", openai: "application/json" },
  stream: { gemini: "text/event-stream", ollama: "application/x-ndjson", openai: "text/event-stream" }
} as const

/** What one call gave: the chunks or response (as JSON) and the error (tag, detail), if any. */
interface Outcome {
  readonly delivered: string
  readonly error: { readonly tag: string; readonly detail: string } | undefined
}

/** One call; `delivered` holds what reached the caller, chunks before an error included. */
const callOnce = (protocol: Protocol, op: Op, delivered: Array<unknown>) =>
  Effect.flatMap(ModelService, (model) => {
    const request = { model: modelOf[protocol], contents: [ModelRequest.user("hi")] }
    return op === "generate"
      ? Effect.map(model.generate(request), (response) => void delivered.push(response))
      : Stream.runForEach(model.stream(request), (chunk) => Effect.sync(() => void delivered.push(chunk)))
  })

const outcomeOf = (delivered: ReadonlyArray<unknown>, exit: Exit.Exit<void, ModelError.ModelError>): Outcome => {
  const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
  return {
    delivered: JSON.stringify(delivered),
    error: Option.isSome(failure) ? { tag: failure.value._tag, detail: failure.value.detail } : undefined
  }
}

const describePollution = (c: Pollution) =>
  c.on === "Object" ? `Object.prototype.${c.name}` : `Array.prototype[${c.name}]`

/**
 * Where `needle` was printed, but for @effect/platform's client span: it lists the
 * request's and response's headers with `for…in`, inherited names too, so that a
 * polluted `name` shows there as a header attribute (a header that was never sent), and
 * it records the exception a client below threw on the polluted value.
 */
const printedByUs = (forms: ReadonlyArray<Form>, name: string, needle: string): Array<string> => {
  const platformSpan = new RegExp(
    `^span http\\.client POST (attribute http\\.(request|response)\\.header\\.${name}|event exception)$`
  )
  return forms.filter((form) => form.text.includes(needle) && !platformSpan.test(form.where)).map((form) => form.where)
}

/** `effect` with the prototype polluted as `c` says (`enumerable`: as an assignment leaves it), restored after. */
const polluted = <A, E, R>(c: Pollution, enumerable: boolean, effect: Effect.Effect<A, E, R>) => {
  const target = c.on === "Object" ? Object.prototype : Array.prototype
  return Effect.acquireUseRelease(
    Effect.sync(() => {
      if (Object.hasOwn(target, c.name)) throw new Error(`${describePollution(c)} is already set`)
      Object.defineProperty(target, c.name, { value: c.value, enumerable, writable: true, configurable: true })
    }),
    () => effect,
    () => Effect.sync(() => Reflect.deleteProperty(target, c.name))
  )
}

describe.each(["gemini", "ollama", "openai"] as const)("%s", (protocol) => {
  describe.each(Object.keys(httpClients) as Array<keyof typeof httpClients>)("on %s", (client) => {
    const layer = () =>
      backendLayer(backendOf[protocol], { url: upstream.url, retry: RetryPolicy.none }).pipe(
        Layer.provide(Layer.mergeAll(sharedAuth(), httpClients[client]))
      )
    const run = (op: Op) =>
      Effect.gen(function*() {
        const delivered: Array<unknown> = []
        const exit = yield* Effect.exit(callOnce(protocol, op, delivered).pipe(Effect.provide(layer())))
        return outcomeOf(delivered, exit)
      })
    const cells = cases[protocol].flatMap((c) =>
      (["generate", "stream"] as const).flatMap((op) =>
        [true, false].map((enumerable) => ({
          c,
          op,
          enumerable,
          label: `${op}, ${describePollution(c)} ${enumerable ? "assigned" : "defined non-enumerable"}`
        }))
      )
    )
    it.effect.each(cells)(
      "$label over an answer without it: PrototypePolluted naming it, the value nowhere; clean before and after",
      ({ c, enumerable, op }) =>
        Effect.gen(function*() {
          const sent = c.answers[op]
          answer = { status: sent.status ?? 200, contentType: contentTypeOf[op][protocol], text: sent.text }
          const clean = yield* run(op)
          const delivered: Array<unknown> = []
          const seenBefore = upstream.seen.length
          const observed = yield* observe(
            polluted(c, enumerable, callOnce(protocol, op, delivered).pipe(Effect.provide(layer()))),
            world
          )
          const sentPolluted = upstream.seen.slice(seenBefore)
          const after = yield* run(op)
          // the refusal, blaming the prototype
          expect(Exit.isFailure(observed.exit)).toBe(true)
          const dirty = outcomeOf(delivered, observed.exit)
          expect(dirty.error?.tag).toBe("PrototypePolluted")
          expect(dirty.error?.detail).toContain(describePollution(c))
          // the value reached no chunk and no printed form, log line or span
          expect(dirty.delivered).not.toContain(marker)
          expect(printedByUs(observed.forms, c.name, marker)).toEqual([])
          expect(sentPolluted.length).toBe(c.sent ?? 1)
          expect(sentPolluted.flatMap((seen) => Object.keys(seen.headers))).not.toContain(c.name.toLowerCase())
          expect(observed.spans).toBeGreaterThan(0)
          expect(leakReport(world.secrets, observed.forms)).toBe("")
          // the clean prototype reads the answer as sent, before and after
          expect(clean.delivered).not.toContain(marker)
          expect(clean.error?.tag).not.toBe("PrototypePolluted")
          expect(after).toEqual(clean)
        })
    )
  })
})

// -----------------------------------------------------------------------------
// Embeddings: a vector the backend did not send
// -----------------------------------------------------------------------------

/** The polluted vector's mark: a number that must appear nowhere. */
const markerNumber = 0.7391713

interface EmbeddingCase {
  readonly name: string
  readonly model: string
  readonly layer: () => Layer.Layer<EmbeddingService, never, AuthService.AuthService | HttpClient.HttpClient>
  /** The polluted field, and a value it would take. */
  readonly field: string
  readonly value: unknown
  /** An answer for one input without the field. */
  readonly answer: unknown
}

const embeddingCases: ReadonlyArray<EmbeddingCase> = [
  {
    name: "Gemini API batchEmbedContents",
    model: "gemini-embedding-001",
    layer: () =>
      Layer.orDie(
        GeminiApiEmbeddings.layer({ baseUrl: upstream.url, origins: [upstream.url], retry: RetryPolicy.none })
      ),
    field: "values",
    value: [markerNumber, markerNumber],
    answer: { embeddings: [{}] }
  },
  {
    name: "Ollama /api/embed",
    model: "embeddinggemma",
    layer: () => Layer.orDie(OllamaEmbeddings.layer({ url: upstream.url, retry: RetryPolicy.none })),
    field: "embeddings",
    value: [[markerNumber, markerNumber]],
    answer: { model: "embeddinggemma" }
  },
  {
    name: "OpenAI-compatible /v1/embeddings",
    model: "google/embeddinggemma-300m",
    layer: () => Layer.orDie(OpenAICompatibleEmbeddings.layer({ url: upstream.url, retry: RetryPolicy.none })),
    field: "embedding",
    value: [markerNumber, markerNumber],
    answer: { object: "list", model: "google/embeddinggemma-300m", data: [{ object: "embedding", index: 0 }] }
  }
]

describe.each(embeddingCases)("$name", (e) => {
  describe.each(Object.keys(httpClients) as Array<keyof typeof httpClients>)("on %s", (client) => {
    const embedOnce = (delivered: Array<unknown>) =>
      Effect.flatMap(EmbeddingService, (service) => service.embed({ model: e.model, inputs: ["hi"] })).pipe(
        Effect.map((response) => void delivered.push(response)),
        Effect.provide(e.layer().pipe(Layer.provide(Layer.mergeAll(sharedAuth(), httpClients[client]))))
      )
    const run = Effect.gen(function*() {
      const delivered: Array<unknown> = []
      return outcomeOf(delivered, yield* Effect.exit(embedOnce(delivered)))
    })
    const pollution: Pollution = { on: "Object", name: e.field, value: e.value }
    it.effect.each([true, false])(
      `Object.prototype.${e.field} (enumerable: %s) over an answer without it: PrototypePolluted, no vector nobody sent; Decode on the clean prototype`,
      (enumerable) =>
        Effect.gen(function*() {
          answer = { status: 200, contentType: "application/json", text: JSON.stringify(e.answer) }
          const clean = yield* run
          const delivered: Array<unknown> = []
          const observed = yield* observe(polluted(pollution, enumerable, embedOnce(delivered)), world)
          const after = yield* run
          const dirty = outcomeOf(delivered, observed.exit)
          expect(dirty.error?.tag).toBe("PrototypePolluted")
          expect(dirty.error?.detail).toContain(`Object.prototype.${e.field}`)
          expect(dirty.delivered).not.toContain(String(markerNumber))
          expect(printedByUs(observed.forms, e.field, String(markerNumber))).toEqual([])
          expect(leakReport(world.secrets, observed.forms)).toBe("")
          // the answer as sent lacks the vector: the clean prototype refuses it as a bad body
          expect(clean.error?.tag).toBe("Decode")
          expect(after).toEqual(clean)
        })
    )
  })
})
