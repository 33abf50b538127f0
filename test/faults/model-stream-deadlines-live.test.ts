/**
 * The model engine's stream deadlines on the bounded body read (UndiciHttpClient under
 * the live clock: the waits bounded inside the client's read, `BoundedBody`), end to
 * end over loopback with the signing middleware, next to the generic path (the same
 * client under TestClock, and FetchHttpClient under the live clock: `response.stream`
 * with the per-pull deadlines).
 *
 * Matrix: every streaming backend (Gemini API, Gemini Vertex, Ollama, OpenAI-compatible)
 * × {no data after the headers, a stall after the first event, the socket destroyed
 * after the first event}:
 * - the bounded path is the one taken (the response's bounded read is used, its
 *   `stream` is not), and the generic paths read `stream`;
 * - the same ModelError tag and message text on both paths (firstChunkTimeout /
 *   idleTimeout / Transport), the chunks before it delivered;
 * - the server sees the connection closed;
 * - the error's `String`, `message`, JSON and `inspect` hold no token the server received.
 * Plus the signing middleware's bounded response on its own: its body error is about the
 * unsigned request.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Http from "node:http"
import { inspect } from "node:util"
import * as AuthHttpClient from "../../src/http/AuthHttpClient.js"
import { ScrubbedResponse } from "../../src/http/internal/scrub.js"
import * as UndiciHttpClient from "../../src/http/UndiciHttpClient.js"
import * as BoundedBody from "../../src/internal/boundedBody.js"
import * as GeminiApi from "../../src/model/gemini/GeminiApi.js"
import * as GeminiVertex from "../../src/model/gemini/GeminiVertex.js"
import type * as ModelError from "../../src/model/ModelError.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import type * as ModelResponse from "../../src/model/ModelResponse.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import * as OpenAICompatible from "../../src/model/openai/OpenAICompatible.js"
import * as RetryPolicy from "../../src/model/RetryPolicy.js"
import * as Loopback from "../../src/testing/Loopback.js"
import { type BackendLayer, emulatorBase, tick } from "../model/support.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })

type Fault = "silent" | "stall" | "destroy"

/**
 * What the server does after the first event: a fault, the rest of a complete answer,
 * or `first` again every `gapMs` until it was sent `times` in all, then a stall.
 */
type Then = Fault | { readonly complete: string } | { readonly times: number; readonly gapMs: number }

/** What the server does with the next request: the first event or nothing, then a fault. */
interface Plan {
  readonly contentType: string
  readonly first: string
  readonly then: Then
}

/** A request the server received: the token values it carried, whether its socket closed. */
interface Seen {
  readonly tokens: ReadonlyArray<string>
  /** The client's port: the connection the request came on. */
  readonly port: number | undefined
  written: boolean
  closed: boolean
}

let plan: Plan = { contentType: "text/plain", first: "", then: "silent" }
const seen: Array<Seen> = []
let url = ""

/** The token values of a request's headers (a bearer token, an API key). */
const tokensOf = (headers: Http.IncomingHttpHeaders): Array<string> =>
  Object.entries(headers).flatMap(([name, value]) => {
    const text = Array.isArray(value) ? value.join(",") : value ?? ""
    const bearer = /^Bearer (.+)$/i.exec(text)
    if (bearer !== null) return [bearer[1]!]
    return name === "x-goog-api-key" ? [text] : []
  })

beforeAll(async () => {
  const server = await Loopback.serve((req, res) => {
    const entry: Seen = { tokens: tokensOf(req.headers), port: req.socket.remotePort, written: false, closed: false }
    seen.push(entry)
    req.socket.once("close", () => {
      entry.closed = true
    })
    req.resume()
    req.on("end", async () => {
      const current = plan
      res.writeHead(200, { "content-type": current.contentType })
      res.flushHeaders()
      if (current.then !== "silent") {
        res.write(current.first)
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
      const then = current.then
      if (typeof then === "object" && "times" in then) {
        for (let i = 1; i < then.times; i++) {
          await new Promise((resolve) => setTimeout(resolve, then.gapMs))
          res.write(current.first)
        }
      }
      entry.written = true
      if (typeof current.then === "object" && "complete" in current.then) res.end(current.then.complete)
      else if (current.then === "destroy") res.socket?.destroy()
      // "silent" and "stall": held open; the client must close it
    })
  })
  url = server.url
  return () => server.close()
})

const sse = (event: unknown) => `data: ${JSON.stringify(event)}\n\n`
const text1 = "Grüße, 世界 "

interface Backend {
  readonly name: string
  readonly model: string
  readonly contentType: string
  readonly layer: () => BackendLayer
  readonly first: string
  /** The rest of a complete answer after `first`. */
  readonly last: string
}

const geminiFirst = sse({ candidates: [{ content: { role: "model", parts: [{ text: text1 }] } }] })
const geminiLast = sse({
  candidates: [{ content: { role: "model", parts: [{ text: "!" }] }, finishReason: "STOP" }],
  usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4, totalTokenCount: 7 }
})
const backends: ReadonlyArray<Backend> = [
  {
    name: "Gemini API",
    model: "gemini-2.5-flash",
    contentType: "text/event-stream",
    layer: () => GeminiApi.layer({ baseUrl: url, origins: [url], retry: RetryPolicy.none }),
    first: geminiFirst,
    last: geminiLast
  },
  {
    name: "Gemini Vertex",
    model: "gemini-2.5-flash",
    contentType: "text/event-stream",
    layer: () =>
      GeminiVertex.layer({
        project: "emulator-project",
        location: "global",
        baseUrl: url,
        origins: [url],
        retry: RetryPolicy.none
      }),
    first: geminiFirst,
    last: geminiLast
  },
  {
    name: "Ollama",
    model: "gemma3:4b",
    contentType: "application/x-ndjson",
    layer: () => Ollama.layer({ url, retry: RetryPolicy.none }),
    first: `${JSON.stringify({ model: "gemma3:4b", message: { role: "assistant", content: text1 }, done: false })}\n`,
    last: `${
      JSON.stringify({
        model: "gemma3:4b",
        message: { role: "assistant", content: "!" },
        done: true,
        done_reason: "stop",
        prompt_eval_count: 3,
        eval_count: 4
      })
    }\n`
  },
  {
    name: "OpenAI-compatible",
    model: "google/gemma-3-4b-it",
    contentType: "text/event-stream",
    layer: () => OpenAICompatible.layer({ url, retry: RetryPolicy.none }),
    first: sse({ id: "c1", model: "gemma", choices: [{ index: 0, delta: { role: "assistant", content: text1 } }] }),
    last: sse({ id: "c1", model: "gemma", choices: [{ index: 0, delta: { content: "!" }, finish_reason: "stop" }] }) +
      "data: [DONE]\n\n"
  }
]

/** The live clock, for a run inside a TestClock test. */
const liveClock = Clock.make()

const firstChunkTimeout = "80 millis"
const idleTimeout = "40 millis"

const faults: ReadonlyArray<{
  readonly fault: Fault
  readonly tag: ModelError.ModelError["_tag"]
  readonly message: RegExp
  readonly text: string
}> = [
  {
    fault: "silent",
    tag: "Timeout",
    message: /the stream sent no data within 80ms of opening \(firstChunkTimeout\)/,
    text: ""
  },
  { fault: "stall", tag: "Timeout", message: /the stream went silent: no data for 40ms \(idleTimeout\)/, text: text1 },
  { fault: "destroy", tag: "Transport", message: /the connection broke while the body was read/, text: text1 }
]

/** Which body read a response was asked for: the bounded one or `stream`. */
const reads = { bounded: 0, stream: 0 }

/** `http` whose responses count the body reads the engine asks for (the response itself unchanged). */
const counted = (http: Layer.Layer<HttpClient.HttpClient>): Layer.Layer<HttpClient.HttpClient> =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.transformResponse(client, (response) =>
        Effect.map(response, (original) =>
          new Proxy(original, {
            get: (target, key, receiver) => {
              if (key === BoundedBody.TypeId) {
                reads.bounded++
              } else if (key === "stream") {
                reads.stream++
              }
              return Reflect.get(target, key, receiver)
            }
          }))))
  ).pipe(Layer.provide(http))

interface Run {
  readonly chunks: ReadonlyArray<ModelResponse.ModelStreamChunk>
  readonly error: ModelError.ModelError
  readonly reads: { readonly bounded: number; readonly stream: number }
  readonly request: Seen
  /** Whether the server saw the connection close before the client's layer was released. */
  readonly closed: boolean
}

/** One streamed call of `backend` against the planned fault, to its error. */
const streamed = (backend: Backend, http: Layer.Layer<HttpClient.HttpClient>, drive?: "TestClock") =>
  Effect.gen(function*() {
    reads.bounded = 0
    reads.stream = 0
    const before = seen.length
    const chunks: Array<ModelResponse.ModelStreamChunk> = []
    // the connection must close while the client (and its connection pool) still lives
    const call = Effect.gen(function*() {
      const model = yield* ModelService
      const result = yield* model.stream({
        model: backend.model,
        contents: [ModelRequest.user("hi")],
        firstChunkTimeout,
        idleTimeout
      }).pipe(Stream.runForEach((chunk) => Effect.sync(() => chunks.push(chunk))), Effect.either)
      const closed = seen.length > before && (yield* untilClosed(seen[before]!))
      return { result, closed }
    }).pipe(Effect.provide(backend.layer().pipe(Layer.provide(emulatorBase(emulator, counted(http))))))
    const fiber = yield* Effect.fork(call)
    if (drive === "TestClock") {
      // real I/O until the server wrote what it writes, then simulated time
      for (let i = 0; i < 5000 && !(seen.length > before && seen[before]!.written); i++) yield* tick
      // and, when the server sends one, until the first chunk came (or the call ended)
      for (
        let i = 0;
        i < 5000 && plan.then !== "silent" && chunks.length === 0 && Option.isNone(yield* Fiber.poll(fiber));
        i++
      ) yield* tick
      for (let i = 0; i < 20; i++) yield* tick
      for (let i = 0; i < 400 && Option.isNone(yield* Fiber.poll(fiber)); i++) {
        yield* TestClock.adjust("10 millis")
        yield* tick
      }
    }
    const { closed, result } = yield* Fiber.join(fiber)
    if (Either.isRight(result)) throw new Error(`${backend.name}: the stream ended without an error`)
    expect(seen.length - before).toBe(1)
    return { chunks, closed, error: result.left, reads: { ...reads }, request: seen[before]! } satisfies Run
  })

/** Real I/O until the server saw the request's connection close. */
const untilClosed = (request: Seen) =>
  Effect.gen(function*() {
    for (let i = 0; i < 2000 && !request.closed; i++) yield* tick
    return request.closed
  })

/** The forms an error takes in a log, a JSON body or a console. */
const forms = (error: unknown) => [
  String(error),
  (error as Error).message,
  JSON.stringify(error),
  inspect(error, { depth: 10 })
]

const noToken = (error: unknown, tokens: ReadonlyArray<string>) => {
  expect(tokens.length).toBeGreaterThan(0)
  for (const form of forms(error)) {
    for (const token of tokens) expect(form).not.toContain(token)
    expect(form).not.toMatch(/eyJ[\w-]+\.[\w-]+/)
    expect(form.toLowerCase()).not.toContain("bearer ")
  }
}

const textOf = (chunks: ReadonlyArray<ModelResponse.ModelStreamChunk>) => chunks.map((c) => c.textDelta).join("")

describe.each(backends)("$name stream deadlines on the bounded body read (live clock, UndiciHttpClient)", (backend) => {
  describe.each(faults)("$fault", ({ fault, message, tag, text }) => {
    const serve = () => {
      plan = { contentType: backend.contentType, first: backend.first, then: fault }
    }

    it.live(`${tag} (${message.source.replace(/\\/g, "")}) with the chunks before it, the connection closed, no token in the error`, () =>
      Effect.gen(function*() {
        serve()
        const run = yield* streamed(backend, UndiciHttpClient.layer)
        // the bounded read is the one taken, the generic one is not
        expect(run.reads).toEqual({ bounded: 1, stream: 0 })
        expect(run.error._tag).toBe(tag)
        expect(run.error.message).toMatch(message)
        expect(run.error.message).toContain(`model ${backend.model}`)
        expect(textOf(run.chunks)).toBe(text)
        expect(run.closed).toBe(true)
        noToken(run.error, run.request.tokens)
      }))

    it.effect("the generic path (the same client under TestClock) gives the same tag, message and chunks", () =>
      Effect.gen(function*() {
        serve()
        const generic = yield* streamed(backend, UndiciHttpClient.layer, "TestClock")
        expect(generic.reads).toEqual({ bounded: 0, stream: 1 })
        expect(generic.error._tag).toBe(tag)
        expect(generic.error.message).toMatch(message)
        expect(textOf(generic.chunks)).toBe(text)
        expect(generic.closed).toBe(true)
        noToken(generic.error, generic.request.tokens)
        // and the bounded path, under the live clock, gives exactly that
        serve()
        const bounded = yield* Effect.withClock(streamed(backend, UndiciHttpClient.layer), liveClock)
        expect(bounded.reads).toEqual({ bounded: 1, stream: 0 })
        expect(bounded.error._tag).toBe(generic.error._tag)
        expect(bounded.error.message).toBe(generic.error.message)
        expect(JSON.stringify(bounded.error)).toBe(JSON.stringify(generic.error))
        expect(textOf(bounded.chunks)).toBe(textOf(generic.chunks))
      }))

    it.live("FetchHttpClient under the live clock (generic path): the same tag and chunks, the same message for a timeout", () =>
      Effect.gen(function*() {
        serve()
        const fetch = yield* streamed(backend, FetchHttpClient.layer)
        expect(fetch.reads).toEqual({ bounded: 0, stream: 1 })
        serve()
        const undici = yield* streamed(backend, UndiciHttpClient.layer)
        expect(undici.reads).toEqual({ bounded: 1, stream: 0 })
        expect(fetch.error._tag).toBe(tag)
        expect(undici.error._tag).toBe(tag)
        expect(textOf(fetch.chunks)).toBe(textOf(undici.chunks))
        // a broken connection's cause is the client's own words; a timeout's text is the engine's
        if (tag === "Timeout") expect(undici.error.message).toBe(fetch.error.message)
        expect(fetch.closed).toBe(true)
        expect(undici.closed).toBe(true)
        noToken(fetch.error, fetch.request.tokens)
      }))
  })
})

describe("the signing middleware's bounded response", () => {
  it.live("passes the bounded read on; its body error names the unsigned request, no token in it", () =>
    Effect.gen(function*() {
      plan = { contentType: "text/plain", first: "partial", then: "destroy" }
      const before = seen.length
      const client = (yield* HttpClient.HttpClient).pipe(AuthHttpClient.withAuth({ kind: "id", audience: url }))
      const response = yield* client.execute(HttpClientRequest.bodyText(HttpClientRequest.post(`${url}/x`), "hi"))
      expect(response).toBeInstanceOf(ScrubbedResponse)
      expect(BoundedBody.isBoundedBody(response)).toBe(true)
      if (!BoundedBody.isBoundedBody(response)) return
      const parts: Array<Uint8Array> = []
      const error = yield* Effect.flip(
        Stream.runForEach(
          response[BoundedBody.TypeId]<Uint8Array, HttpClientError.ResponseError>({
            firstMillis: 5_000,
            idleMillis: 5_000,
            onTimeout: () => {
              throw new Error("no timeout expected")
            },
            onError: (e) => e
          }, BoundedBody.bytes),
          (part) => Effect.sync(() => parts.push(part))
        )
      )
      expect(Buffer.concat(parts).toString()).toBe("partial")
      expect(error._tag).toBe("ResponseError")
      expect(error.response).toBeInstanceOf(ScrubbedResponse)
      expect(Object.keys(error.request.headers).map((name) => name.toLowerCase())).not.toContain("authorization")
      const request = seen[before]!
      noToken(error, request.tokens)
      expect(yield* untilClosed(request)).toBe(true)
    }).pipe(
      Effect.provide(emulatorBase(emulator, UndiciHttpClient.layer))
    ))
})

/** The live `setTimeout`s of the process (vitest's own included: compare counts). */
const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length

describe.each(backends)("$name stream on the bounded body read, ended by its caller (live clock)", (backend) => {
  const ends = [
    { name: "the caller takes the first chunk and stops", then: "stall" as const, end: "take" as const, text: text1 },
    {
      name: "interrupted while it waits for its first bytes",
      then: "silent" as const,
      end: "interrupt" as const,
      text: ""
    },
    {
      name: "interrupted while it waits after its first chunk",
      then: "stall" as const,
      end: "interrupt" as const,
      text: text1
    }
  ]

  it.live.each(ends)(
    "$name: it settles, the connection closes while the client lives, no deadline timer left",
    ({ end, text, then }) =>
      Effect.gen(function*() {
        plan = { contentType: backend.contentType, first: backend.first, then }
        const before = seen.length
        reads.bounded = 0
        reads.stream = 0
        const timersBefore = timers()
        const chunks: Array<ModelResponse.ModelStreamChunk> = []
        const closed = yield* Effect.gen(function*() {
          const model = yield* ModelService
          // deadlines far away: only the caller ends these streams
          const stream = model.stream({
            model: backend.model,
            contents: [ModelRequest.user("hi")],
            firstChunkTimeout: "30 seconds",
            idleTimeout: "30 seconds"
          })
          const fiber = yield* Effect.fork(
            (end === "take" ? Stream.take(stream, 1) : stream).pipe(
              Stream.runForEach((chunk) => Effect.sync(() => chunks.push(chunk)))
            )
          )
          if (end === "take") {
            expect((yield* Fiber.await(fiber))._tag).toBe("Success")
          } else {
            // until the engine reads the body (the bounded read asked for) and the chunks before the wait came
            for (let i = 0; i < 5000 && (reads.bounded === 0 || chunks.length < (text === "" ? 0 : 1)); i++) yield* tick
            expect(reads).toEqual({ bounded: 1, stream: 0 })
            for (let i = 0; i < 10; i++) yield* tick
            const exit = yield* Fiber.interrupt(fiber)
            expect(exit._tag).toBe("Failure")
          }
          const request = seen[before]!
          return yield* untilClosed(request)
        }).pipe(
          Effect.provide(backend.layer().pipe(Layer.provide(emulatorBase(emulator, counted(UndiciHttpClient.layer)))))
        )
        expect(closed).toBe(true)
        expect(textOf(chunks)).toBe(text)
        expect(timers()).toBeLessThanOrEqual(timersBefore)
      })
  )
})

describe.each(backends)("$name stream on the bounded body read, complete (live clock)", (backend) => {
  it.live("two complete answers in a row: no abort after a complete body, the second request on the same connection", () =>
    Effect.gen(function*() {
      plan = { contentType: backend.contentType, first: backend.first, then: { complete: backend.last } }
      const before = seen.length
      reads.bounded = 0
      reads.stream = 0
      const answers = yield* Effect.gen(function*() {
        const model = yield* ModelService
        const request: ModelRequest.ModelRequest = {
          model: backend.model,
          contents: [ModelRequest.user("hi")],
          firstChunkTimeout: "30 seconds",
          idleTimeout: "30 seconds"
        }
        const one = textOf(Chunk.toArray(yield* Stream.runCollect(model.stream(request))))
        for (let i = 0; i < 20; i++) yield* tick
        const open = !seen[before]!.closed
        const two = textOf(Chunk.toArray(yield* Stream.runCollect(model.stream(request))))
        return { one, two, open }
      }).pipe(
        Effect.provide(backend.layer().pipe(Layer.provide(emulatorBase(emulator, counted(UndiciHttpClient.layer)))))
      )
      expect(answers).toEqual({ one: `${text1}!`, two: `${text1}!`, open: true })
      expect(reads).toEqual({ bounded: 2, stream: 0 })
      expect(seen.length - before).toBe(2)
      expect(seen[before + 1]!.port).toBe(seen[before]!.port)
    }))
})

// One timer serves every bounded wait of a body read (`readable.ts`): a wait that ends in
// time leaves it armed for its own deadline, and when it fires before the deadline of the
// wait that runs then, it is armed again for that one. Events 20 ms apart under a 150 ms
// idle bound leave the timer armed for the first idle wait's deadline; it fires while the
// wait after the last event runs, which must still end 150 ms after that event: not then
// (too early), and not never (a caller that waits forever).
const spaced = { times: 4, gapMs: 20, idleTimeout: "150 millis", idleMillis: 150 } as const

describe.each(backends)(
  "$name stream on the bounded body read, a stall after spaced events (live clock)",
  (backend) => {
    it.live("fails with idleTimeout no sooner than the bound after the last event, every chunk before it, the connection closed, no token in the error", () =>
      Effect.gen(function*() {
        plan = {
          contentType: backend.contentType,
          first: backend.first,
          then: { times: spaced.times, gapMs: spaced.gapMs }
        }
        const before = seen.length
        reads.bounded = 0
        reads.stream = 0
        const chunks: Array<ModelResponse.ModelStreamChunk> = []
        const arrived: Array<number> = []
        const run = yield* Effect.gen(function*() {
          const model = yield* ModelService
          const result = yield* model.stream({
            model: backend.model,
            contents: [ModelRequest.user("hi")],
            firstChunkTimeout: "600 millis",
            idleTimeout: spaced.idleTimeout
          }).pipe(
            Stream.runForEach((chunk) =>
              Effect.sync(() => {
                chunks.push(chunk)
                arrived.push(performance.now())
              })
            ),
            Effect.either
          )
          const endedAt = performance.now()
          return { result, endedAt, closed: yield* untilClosed(seen[before]!) }
        }).pipe(
          Effect.provide(backend.layer().pipe(Layer.provide(emulatorBase(emulator, counted(UndiciHttpClient.layer)))))
        )
        expect(reads).toEqual({ bounded: 1, stream: 0 })
        if (Either.isRight(run.result)) throw new Error(`${backend.name}: the stream ended without an error`)
        const error = run.result.left
        expect(error._tag).toBe("Timeout")
        expect(error.message).toMatch(/the stream went silent: no data for 150ms \(idleTimeout\)/)
        expect(textOf(chunks)).toBe(text1.repeat(spaced.times))
        // the bound counts from the read that brought the last event (the consumer sees it a little later)
        expect(run.endedAt - arrived[arrived.length - 1]!).toBeGreaterThanOrEqual(spaced.idleMillis - 10)
        expect(run.closed).toBe(true)
        noToken(error, seen[before]!.tokens)
      }))
  }
)
