/**
 * UndiciHttpClient against a real loopback server, next to the client it stands in for
 * (`NodeHttpClient.layerUndici`): what reaches the wire, what a response reads as,
 * which errors come out, what interruption closes, which trace headers go out on the
 * lean path, and that the delegation path (a real tracer; URL params, a hash, a stream
 * or form body) sends what the platform client sends.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Undici from "@effect/platform-node/Undici"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type * as Http from "node:http"
import * as UndiciHttpClient from "../../src/http/UndiciHttpClient.js"
import * as Loopback from "../../src/testing/Loopback.js"
import { tick } from "../model/support.js"
import { onlySpan, spanText, telemetry } from "../telemetry/support.js"

/** What the server received. */
interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: Buffer
  readonly port: number
}

type Handler = (req: Http.IncomingMessage, res: Http.ServerResponse, body: Buffer) => void

const ok: Handler = (_req, res) => res.end("ok")
let handler: Handler = ok
let seen: Array<Seen> = []
let server: Loopback.LoopbackServer
let url = ""
/** Resolvers of the next server-side socket close, and of the next request's arrival. */
const closes: Array<() => void> = []
const arrivals: Array<() => void> = []
/** The client ports of the sockets the server saw closed. */
const closedPorts = new Set<number>()

beforeAll(async () => {
  server = await Loopback.serve((req, res) => {
    const parts: Array<Buffer> = []
    req.on("data", (part: Buffer) => parts.push(part))
    req.on("end", () => {
      const body = Buffer.concat(parts)
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body,
        port: req.socket.remotePort ?? 0
      })
      arrivals.shift()?.()
      handler(req, res, body)
    })
  })
  server.server.on("connection", (socket) =>
    socket.on("close", () => {
      closedPorts.add(socket.remotePort ?? 0)
      closes.shift()?.()
    }))
  url = server.url
})

afterAll(() => server.close())

beforeEach(() => {
  handler = ok
  seen = []
})

const nextClose = () => new Promise<void>((resolve) => closes.push(resolve))
const nextArrival = () => new Promise<void>((resolve) => arrivals.push(resolve))
const awaitPromise = <A>(promise: Promise<A>) => Effect.promise(() => promise)

/** The last request the server received. */
const last = (): Seen => {
  const request = seen.at(-1)
  if (request === undefined) throw new Error("the server received no request")
  return request
}

/** Send `request` with the client of `layer`. */
const execute = (layer: Layer.Layer<HttpClient.HttpClient>, request: HttpClientRequest.HttpClientRequest) =>
  Effect.flatMap(HttpClient.HttpClient, (client) => client.execute(request)).pipe(
    Effect.scoped,
    Effect.provide(layer)
  )

/** What the server received for `request` from the lean client and from `NodeHttpClient.layerUndici`. */
const bothSend = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    yield* execute(UndiciHttpClient.layer, request)
    const lean = last()
    yield* execute(NodeHttpClient.layerUndici, request)
    const platform = last()
    return { lean, platform }
  })

/**
 * What a request shows on the wire, but its trace headers: the platform client sends
 * its own span's even under the built-in tracer; the lean path sends the caller's only
 * (the trace header tests below).
 */
const wire = ({ body, headers: { b3: _b3, traceparent: _traceparent, ...headers }, method, url }: Seen) => ({
  method,
  url,
  headers,
  body: body.toString("base64")
})

describe("UndiciHttpClient sends", () => {
  it.effect("a POST with a JSON body arrives byte-identical to NodeHttpClient.layerUndici's", () =>
    Effect.gen(function*() {
      const request = HttpClientRequest.post(`${url}/v1/models/m:generate?alt=sse&key=a%20b`).pipe(
        HttpClientRequest.setHeader("x-custom", "1"),
        HttpClientRequest.bearerToken("token-123"),
        HttpClientRequest.bodyUnsafeJson({ text: "Grüße, 世界 🌍", n: [1, 2, 3], nested: { a: null } })
      )
      const { lean, platform } = yield* bothSend(request)
      expect(lean.method).toBe("POST")
      expect(lean.url).toBe("/v1/models/m:generate?alt=sse&key=a%20b")
      expect(lean.headers["content-type"]).toBe("application/json")
      expect(lean.headers["content-length"]).toBe(String(lean.body.length))
      expect(JSON.parse(lean.body.toString("utf8"))).toEqual({
        text: "Grüße, 世界 🌍",
        n: [1, 2, 3],
        nested: { a: null }
      })
      expect(wire(lean)).toEqual(wire(platform))
    }))

  it.effect("a GET with no body arrives as NodeHttpClient.layerUndici's", () =>
    Effect.gen(function*() {
      const { lean, platform } = yield* bothSend(HttpClientRequest.get(`${url}/plain?q=1`))
      expect(lean.method).toBe("GET")
      expect(lean.body.length).toBe(0)
      expect(wire(lean)).toEqual(wire(platform))
    }))

  it.effect("a string body (HttpBody.text) arrives as NodeHttpClient.layerUndici's", () =>
    Effect.gen(function*() {
      const request = HttpClientRequest.put(`${url}/text`).pipe(
        HttpClientRequest.setBody(HttpBody.text("ä\nb", "text/plain; charset=utf-8"))
      )
      const { lean, platform } = yield* bothSend(request)
      expect(lean.body.toString("utf8")).toBe("ä\nb")
      expect(wire(lean)).toEqual(wire(platform))
    }))

  it.effect("a raw string body (no content-length from Effect) arrives as NodeHttpClient.layerUndici's", () =>
    Effect.gen(function*() {
      const request = HttpClientRequest.post(`${url}/raw`).pipe(
        HttpClientRequest.setBody(HttpBody.raw("ü€𝄞", { contentType: "text/plain" }))
      )
      const { lean, platform } = yield* bothSend(request)
      expect(lean.body.toString("utf8")).toBe("ü€𝄞")
      expect(lean.headers["content-length"]).toBe(String(Buffer.byteLength("ü€𝄞")))
      expect(wire(lean)).toEqual(wire(platform))
    }))
})

describe("UndiciHttpClient under load", () => {
  it.effect("40 concurrent POSTs each get their own echoed body", () =>
    Effect.gen(function*() {
      handler = (_req, res, body) => res.end(body)
      const client = yield* HttpClient.HttpClient
      const bodies = Array.from({ length: 40 }, (_, i) => `request ${i} ${"ü".repeat(i)}`)
      const answers = yield* Effect.forEach(
        bodies,
        (body) =>
          Effect.flatMap(
            Effect.scoped(client.execute(HttpClientRequest.post(`${url}/echo`).pipe(HttpClientRequest.bodyText(body)))),
            (response) => response.text
          ),
        { concurrency: "unbounded" }
      )
      expect(answers).toEqual(bodies)
    }).pipe(Effect.provide(UndiciHttpClient.layer)))

  it.effect("a Uint8Array body that is a view into a larger buffer sends the view's bytes only", () =>
    Effect.gen(function*() {
      const buffer = new TextEncoder().encode("0123456789")
      yield* execute(
        UndiciHttpClient.layer,
        HttpClientRequest.post(`${url}/view`).pipe(HttpClientRequest.bodyUint8Array(buffer.subarray(3, 7)))
      )
      expect(last().body.toString()).toBe("3456")
      expect(last().headers["content-length"]).toBe("4")
    }))
})

describe("UndiciHttpClient refuses or strips", () => {
  it.effect("a header value with CR LF: RequestError Transport, nothing reaches the server", () =>
    Effect.gen(function*() {
      const request = HttpClientRequest.get(`${url}/injected`).pipe(
        HttpClientRequest.setHeader("x-a", "1\r\nx-injected: 1")
      )
      const error = yield* execute(UndiciHttpClient.layer, request).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "RequestError", reason: "Transport" })
      expect(seen).toEqual([])
    }))

  it.effect("a fragment in the URL string is not sent, as FetchHttpClient does not send it", () =>
    Effect.gen(function*() {
      const request = HttpClientRequest.get(`${url}/h?q=1#frag`)
      yield* execute(UndiciHttpClient.layer, request)
      const lean = last().url
      yield* execute(FetchHttpClient.layer, request)
      expect(lean).toBe("/h?q=1")
      expect(last().url).toBe(lean)
    }))
})

describe("UndiciHttpClient responses read", () => {
  const run = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>) =>
    effect.pipe(Effect.scoped, Effect.provide(UndiciHttpClient.layer))
  const get = (path: string) => Effect.flatMap(HttpClient.HttpClient, (client) => client.get(`${url}${path}`))

  it.effect("status, headers and every Set-Cookie as cookies", () =>
    Effect.gen(function*() {
      handler = (_req, res) => {
        res.writeHead(201, [
          ["x-one", "1"],
          ["set-cookie", "a=1; Path=/"],
          ["set-cookie", "b=2; HttpOnly"],
          ["content-type", "text/plain"]
        ])
        res.end("made")
      }
      const response = yield* get("/made")
      expect(response.status).toBe(201)
      expect(response.headers["x-one"]).toBe("1")
      expect(response.headers["content-type"]).toBe("text/plain")
      expect(Object.fromEntries(Object.entries(response.cookies.cookies).map(([k, c]) => [k, c.value]))).toEqual({
        a: "1",
        b: "2"
      })
      expect(response.cookies.cookies["b"]?.options?.httpOnly).toBe(true)
      expect(yield* response.text).toBe("made")
    }).pipe(run))

  it.effect("headers (multi-valued ones too) and cookies as NodeHttpClient.layerUndici reads them", () =>
    Effect.gen(function*() {
      handler = (_req, res) => {
        res.writeHead(200, [
          ["date", "Mon, 30 Nov 2026 00:00:00 GMT"],
          ["x-many", "1"],
          ["x-many", "2"],
          ["set-cookie", "a=1"],
          ["set-cookie", "b=2"]
        ])
        res.end()
      }
      const read = (layer: Layer.Layer<HttpClient.HttpClient>) =>
        Effect.flatMap(HttpClient.HttpClient, (client) => client.get(`${url}/`)).pipe(
          Effect.map((response) => ({ headers: { ...response.headers }, cookies: response.cookies.toJSON() })),
          Effect.scoped,
          Effect.provide(layer)
        )
      const lean = yield* read(UndiciHttpClient.layer)
      expect(lean.headers["x-many"]).toBe("1, 2")
      expect(lean).toEqual(yield* read(NodeHttpClient.layerUndici))
    }))

  it.effect("no Set-Cookie: empty cookies", () =>
    Effect.gen(function*() {
      const response = yield* get("/")
      expect(Object.keys(response.cookies.cookies)).toEqual([])
    }).pipe(run))

  it.effect("text, twice: the same string", () =>
    Effect.gen(function*() {
      handler = (_req, res) => res.end("Grüße, 世界 🌍")
      const response = yield* get("/")
      expect(yield* response.text).toBe("Grüße, 世界 🌍")
      expect(yield* response.text).toBe("Grüße, 世界 🌍")
      expect(yield* response.json.pipe(Effect.flip)).toMatchObject({ _tag: "ResponseError", reason: "Decode" })
    }).pipe(run))

  it.effect("HEAD and 204: an empty text", () =>
    Effect.gen(function*() {
      handler = (_req, res) => {
        res.writeHead(200, { "content-length": "5" })
        res.end()
      }
      const head = yield* Effect.flatMap(HttpClient.HttpClient, (client) => client.head(`${url}/`))
      expect(yield* head.text).toBe("")
      handler = (_req, res) => {
        res.writeHead(204)
        res.end()
      }
      const empty = yield* get("/")
      expect(empty.status).toBe(204)
      expect(yield* empty.text).toBe("")
    }).pipe(run))

  it.effect("json: the parsed value; an empty body is null", () =>
    Effect.gen(function*() {
      handler = (_req, res) => res.end(JSON.stringify({ a: [1, "ü"] }))
      expect(yield* Effect.flatMap(get("/"), (response) => response.json)).toEqual({ a: [1, "ü"] })
      handler = (_req, res) => res.end()
      expect(yield* Effect.flatMap(get("/"), (response) => response.json)).toBeNull()
    }).pipe(run))

  it.effect("invalid JSON: ResponseError Decode", () =>
    Effect.gen(function*() {
      handler = (_req, res) => res.end("<html>")
      const error = yield* Effect.flatMap(get("/"), (response) => response.json).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "ResponseError", reason: "Decode" })
    }).pipe(run))

  it.effect("arrayBuffer: the bytes as sent", () =>
    Effect.gen(function*() {
      const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256))
      handler = (_req, res) => res.end(bytes)
      const buffer = yield* Effect.flatMap(get("/"), (response) => response.arrayBuffer)
      expect(Buffer.from(buffer).equals(bytes)).toBe(true)
    }).pipe(run))

  it.effect("urlParamsBody: the decoded pairs in order", () =>
    Effect.gen(function*() {
      handler = (_req, res) => res.end("a=1&b=%C3%BC&a=2")
      const params = yield* Effect.flatMap(get("/"), (response) => response.urlParamsBody)
      expect(params).toEqual([["a", "1"], ["b", "ü"], ["a", "2"]])
    }).pipe(run))

  it.effect("formData: a multipart body and an urlencoded body", () =>
    Effect.gen(function*() {
      const boundary = "----b0undary"
      handler = (_req, res) => {
        res.writeHead(200, { "content-type": `multipart/form-data; boundary=${boundary}` })
        res.end(
          `--${boundary}\r\ncontent-disposition: form-data; name="field"\r\n\r\nGrüße\r\n` +
            `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="a.txt"\r\n` +
            `content-type: text/plain\r\n\r\nfile body\r\n--${boundary}--\r\n`
        )
      }
      const multipart = yield* Effect.flatMap(get("/"), (response) => response.formData)
      expect(multipart.get("field")).toBe("Grüße")
      const file = multipart.get("file")
      expect(file instanceof Blob && (yield* Effect.promise(() => file.text()))).toBe("file body")
      handler = (_req, res) => {
        res.writeHead(200, { "content-type": "application/x-www-form-urlencoded" })
        res.end("x=1&y=%C3%BC")
      }
      const encoded = yield* Effect.flatMap(get("/"), (response) => response.formData)
      expect([...encoded.entries()]).toEqual([["x", "1"], ["y", "ü"]])
    }).pipe(run))

  it.effect("stream: a body written in 64 parts arrives whole and in order", () =>
    Effect.gen(function*() {
      const parts = Array.from({ length: 64 }, (_, i) => `part ${i} ü;`)
      handler = (_req, res) => {
        res.flushHeaders()
        const write = (i: number) => {
          if (i === parts.length) return res.end()
          res.write(parts[i])
          setImmediate(() => write(i + 1))
        }
        write(0)
      }
      const response = yield* get("/")
      const chunks = yield* Stream.runCollect(response.stream)
      expect(Buffer.concat(Chunk.toArray(chunks)).toString("utf8")).toBe(parts.join(""))
    }).pipe(run))

  it.effect("bodies read to their end (text, stream) close no connection; the next requests reuse them", () =>
    Effect.gen(function*() {
      handler = (_req, res) => res.end("body")
      for (let i = 0; i < 3; i++) {
        yield* Effect.flatMap(get("/"), (response) => response.text)
        yield* Effect.flatMap(get("/"), (response) => Stream.runDrain(response.stream))
      }
      const ports = seen.map((request) => request.port)
      expect(ports.filter((port) => closedPorts.has(port))).toEqual([])
      expect(new Set(ports).size).toBeLessThan(ports.length)
    }).pipe(run))
})

describe("UndiciHttpClient errors", () => {
  it.effect("connection refused: RequestError Transport", () =>
    Effect.gen(function*() {
      const closed = yield* Effect.promise(() => Loopback.serve((_req, res) => res.end()))
      yield* Effect.promise(() => closed.close())
      const error = yield* execute(UndiciHttpClient.layer, HttpClientRequest.get(`${closed.url}/`)).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "RequestError", reason: "Transport" })
    }))

  it.effect.each(["http://[::1", "not a url", "http://exa mple.com/"])(
    "an invalid URL (%s): the RequestError NodeHttpClient.layerUndici reports",
    (invalid) =>
      Effect.gen(function*() {
        const request = HttpClientRequest.get(invalid)
        const lean = yield* execute(UndiciHttpClient.layer, request).pipe(Effect.flip)
        const platform = yield* execute(NodeHttpClient.layerUndici, request).pipe(Effect.flip)
        expect(lean._tag).toBe("RequestError")
        expect({ _tag: lean._tag, reason: lean.reason }).toEqual({ _tag: platform._tag, reason: platform.reason })
      })
  )

  /** Headers and the first part of a 1000-byte body, then the socket destroyed once the test says so. */
  const cutBody = () => {
    let destroy = () => {}
    handler = (_req, res) => {
      res.writeHead(200, { "content-length": "1000" })
      res.write("x".repeat(10))
      destroy = () => res.socket?.destroy()
    }
    return () => destroy()
  }

  it.effect("the server destroys the socket mid-body: text fails with ResponseError", () =>
    Effect.gen(function*() {
      const destroy = cutBody()
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`${url}/`)
      destroy()
      const error = yield* Effect.flip(response.text)
      expect(error).toMatchObject({ _tag: "ResponseError", reason: "Decode" })
    }).pipe(Effect.scoped, Effect.provide(UndiciHttpClient.layer)))

  it.effect("the server destroys the socket mid-body: the stream fails with ResponseError after the first bytes", () =>
    Effect.gen(function*() {
      const destroy = cutBody()
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`${url}/`)
      const received: Array<number> = []
      const error = yield* response.stream.pipe(
        Stream.runForEach((chunk) =>
          Effect.sync(() => {
            received.push(chunk.length)
            destroy()
          })
        ),
        Effect.flip
      )
      expect(error).toMatchObject({ _tag: "ResponseError", reason: "Decode" })
      expect(received.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(10)
    }).pipe(Effect.scoped, Effect.provide(UndiciHttpClient.layer)))
})

describe("UndiciHttpClient interruption", () => {
  /** A server that sends headers and a first part, then nothing. */
  const silentAfterFirstPart = () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" })
      res.write("first")
    }
  }

  it.effect("interrupting a request the server never answers closes the socket at the server", () =>
    Effect.gen(function*() {
      handler = () => {}
      const client = yield* HttpClient.HttpClient
      const arrived = nextArrival()
      const fiber = yield* Effect.fork(Effect.scoped(client.get(`${url}/silent`)))
      yield* awaitPromise(arrived)
      const closed = nextClose()
      yield* Fiber.interrupt(fiber)
      yield* awaitPromise(closed)
      expect(yield* Fiber.await(fiber)).toMatchObject({ _tag: "Failure" })
    }).pipe(Effect.provide(UndiciHttpClient.layer)))

  const readers = [
    ["text", (response: HttpClientResponse.HttpClientResponse) => response.text],
    ["json", (response: HttpClientResponse.HttpClientResponse) => response.json],
    ["arrayBuffer", (response: HttpClientResponse.HttpClientResponse) => response.arrayBuffer],
    ["urlParamsBody", (response: HttpClientResponse.HttpClientResponse) => response.urlParamsBody],
    ["formData", (response: HttpClientResponse.HttpClientResponse) => response.formData]
  ] as const

  it.effect.each(readers)(
    "interrupting a %s read part-way closes the socket at the server",
    ([, read]) =>
      Effect.gen(function*() {
        silentAfterFirstPart()
        const client = yield* HttpClient.HttpClient
        const response = yield* client.get(`${url}/`)
        const fiber = yield* Effect.fork(read(response))
        for (let i = 0; i < 5; i++) yield* tick
        const closed = nextClose()
        yield* Fiber.interrupt(fiber)
        yield* awaitPromise(closed)
      }).pipe(Effect.scoped, Effect.provide(UndiciHttpClient.layer))
  )

  it.effect("a stream ended part-way (take 1) closes the socket at the server", () =>
    Effect.gen(function*() {
      silentAfterFirstPart()
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`${url}/`)
      const closed = nextClose()
      const first = yield* response.stream.pipe(Stream.take(1), Stream.runCollect)
      expect(Buffer.from(Chunk.unsafeHead(first)).toString()).toBe("first")
      yield* awaitPromise(closed)
    }).pipe(Effect.scoped, Effect.provide(UndiciHttpClient.layer)))

  it.effect("interrupting a stream part-way closes the socket at the server", () =>
    Effect.gen(function*() {
      silentAfterFirstPart()
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(`${url}/`)
      let received = 0
      const fiber = yield* Effect.fork(Stream.runForEach(response.stream, () => Effect.sync(() => received++)))
      for (let i = 0; i < 1000 && received === 0; i++) yield* tick
      expect(received).toBe(1)
      const closed = nextClose()
      yield* Fiber.interrupt(fiber)
      yield* awaitPromise(closed)
    }).pipe(Effect.scoped, Effect.provide(UndiciHttpClient.layer)))

  it.effect.each(
    [["UndiciHttpClient", UndiciHttpClient.layer], ["NodeHttpClient.layerUndici", NodeHttpClient.layerUndici]] as const
  )(
    "%s with HttpClient.withScope: closing the scope of an unread response closes its socket at the server",
    ([, layer]) =>
      Effect.gen(function*() {
        silentAfterFirstPart()
        const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withScope)
        const closed = nextClose()
        // held, so that no garbage collection aborts it: only the scope can
        const response = yield* Effect.scoped(client.get(`${url}/scoped`))
        expect(response.status).toBe(200)
        yield* awaitPromise(closed)
        expect(yield* Effect.either(response.text)).toMatchObject({ _tag: "Left" })
      }).pipe(Effect.provide(layer))
  )

  it.effect("HttpClient.withScope with a FormData body (delegated): closing the scope closes its socket at the server", () =>
    Effect.gen(function*() {
      silentAfterFirstPart()
      const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withScope)
      const form = new FormData()
      form.append("field", "value")
      const closed = nextClose()
      // held, so that no garbage collection aborts it: only the scope can
      const response = yield* Effect.scoped(
        client.execute(HttpClientRequest.post(`${url}/scoped-form`).pipe(HttpClientRequest.bodyFormData(form)))
      )
      expect(response.status).toBe(200)
      yield* awaitPromise(closed)
    }).pipe(Effect.provide(UndiciHttpClient.layer)))

  it.effect("responses dropped unread (bodies held open) do not stop the next requests on the same client", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      silentAfterFirstPart()
      for (let i = 0; i < 8; i++) {
        const response = yield* Effect.scoped(client.get(`${url}/held`))
        expect(response.status).toBe(200)
      }
      handler = (_req, res) => res.end("fine")
      for (let i = 0; i < 3; i++) {
        expect(yield* Effect.flatMap(Effect.scoped(client.get(`${url}/next`)), (response) => response.text)).toBe(
          "fine"
        )
      }
    }).pipe(Effect.provide(UndiciHttpClient.layer)))
})

describe("UndiciHttpClient trace headers", () => {
  const traceOf = (seen: Seen) => ({ traceparent: seen.headers["traceparent"], b3: seen.headers["b3"] })
  const none = { traceparent: undefined, b3: undefined }

  it.effect("built-in tracer, no parent span: no traceparent or b3", () =>
    Effect.gen(function*() {
      yield* execute(UndiciHttpClient.layer, HttpClientRequest.get(`${url}/`))
      expect(traceOf(last())).toEqual(none)
    }))

  it.effect("built-in tracer inside Effect.withSpan: traceparent and b3 carry that span's trace and span ids", () =>
    Effect.gen(function*() {
      const span = yield* Effect.currentSpan
      yield* execute(UndiciHttpClient.layer, HttpClientRequest.get(`${url}/`))
      expect(traceOf(last())).toEqual({
        traceparent: `00-${span.traceId}-${span.spanId}-01`,
        b3: `${span.traceId}-${span.spanId}-1`
      })
    }).pipe(Effect.withSpan("caller")))

  it.effect("an unsampled external parent (an incoming request's context): its ids with the not-sampled flag", () =>
    Effect.gen(function*() {
      yield* execute(UndiciHttpClient.layer, HttpClientRequest.get(`${url}/`)).pipe(
        Effect.withParentSpan(
          Tracer.externalSpan({
            traceId: "0af7651916cd43dd8448eb211c80319c",
            spanId: "b7ad6b7169203331",
            sampled: false
          })
        )
      )
      expect(traceOf(last())).toEqual({
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
        b3: "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0"
      })
    }))

  it.effect("HttpClient.withTracerDisabledWhen(() => true) inside a span: no trace headers", () =>
    Effect.gen(function*() {
      const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerDisabledWhen(() => true))
      yield* Effect.scoped(client.get(`${url}/`))
      expect(traceOf(last())).toEqual(none)
    }).pipe(Effect.withSpan("caller"), Effect.provide(UndiciHttpClient.layer)))

  it.effect("HttpClient.withTracerPropagation(false) inside a span: no trace headers", () =>
    Effect.gen(function*() {
      const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerPropagation(false))
      yield* Effect.scoped(client.get(`${url}/`))
      expect(traceOf(last())).toEqual(none)
    }).pipe(Effect.withSpan("caller"), Effect.provide(UndiciHttpClient.layer)))

  it.effect("Effect.withTracerEnabled(false) inside a span: no trace headers", () =>
    Effect.gen(function*() {
      yield* execute(UndiciHttpClient.layer, HttpClientRequest.get(`${url}/`)).pipe(Effect.withTracerEnabled(false))
      expect(traceOf(last())).toEqual(none)
    }).pipe(Effect.withSpan("caller")))

  it.effect("an exporting tracer: an http.client span with the Authorization value redacted, its ids on the wire", () =>
    Effect.gen(function*() {
      const { exporter, layer } = telemetry()
      const token = "secret-token-5f0c"
      yield* execute(
        UndiciHttpClient.layer,
        HttpClientRequest.post(`${url}/traced`).pipe(
          HttpClientRequest.bearerToken(token),
          HttpClientRequest.bodyUnsafeJson({ a: 1 })
        )
      ).pipe(Effect.provide(layer))
      const span = onlySpan(exporter, "http.client POST")
      expect(span.attributes["http.request.header.authorization"]).toBe("<redacted>")
      expect(spanText(span)).not.toContain(token)
      expect(span.attributes["http.response.status_code"]).toBe(200)
      const { spanId, traceId } = span.spanContext()
      expect(last().headers["traceparent"]).toBe(`00-${traceId}-${spanId}-01`)
      expect(last().headers["authorization"]).toBe(`Bearer ${token}`)
    }))
})

describe("UndiciHttpClient with an exporting tracer and tracing off", () => {
  it.effect("Effect.withTracerEnabled(false): no span exported, no trace headers", () =>
    Effect.gen(function*() {
      const { exporter, layer } = telemetry()
      yield* execute(UndiciHttpClient.layer, HttpClientRequest.get(`${url}/`)).pipe(
        Effect.withTracerEnabled(false),
        Effect.withSpan("caller"),
        Effect.provide(layer)
      )
      expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual(["caller"])
      expect({ traceparent: last().headers["traceparent"], b3: last().headers["b3"] }).toEqual({
        traceparent: undefined,
        b3: undefined
      })
    }))
})

describe("UndiciHttpClient delegates and still sends what NodeHttpClient.layerUndici sends", () => {
  it.effect("URL params", () =>
    Effect.gen(function*() {
      const request = HttpClientRequest.get(`${url}/p?x=0`).pipe(
        HttpClientRequest.setUrlParams({ a: "1 2", b: "ü" }),
        HttpClientRequest.appendUrlParam("a", "3")
      )
      const { lean, platform } = yield* bothSend(request)
      expect(new URLSearchParams(lean.url.slice("/p?".length)).getAll("a")).toEqual(["1 2", "3"])
      expect(wire(lean)).toEqual(wire(platform))
    }))

  it.effect("a hash", () =>
    Effect.gen(function*() {
      const request = HttpClientRequest.get(`${url}/h`).pipe(HttpClientRequest.setHash("frag"))
      const { lean, platform } = yield* bothSend(request)
      expect(lean.url.startsWith("/h")).toBe(true)
      expect(wire(lean)).toEqual(wire(platform))
    }))

  it.effect("a stream body", () =>
    Effect.gen(function*() {
      const request = HttpClientRequest.post(`${url}/s`).pipe(
        HttpClientRequest.bodyStream(Stream.fromIterable(["a", "ü", "c"].map((s) => new TextEncoder().encode(s))), {
          contentType: "application/octet-stream"
        })
      )
      const { lean, platform } = yield* bothSend(request)
      expect(lean.body.toString("utf8")).toBe("aüc")
      expect(wire(lean)).toEqual(wire(platform))
    }))

  it.effect("a FormData body (Node's global FormData) arrives with its fields and file name", () =>
    Effect.gen(function*() {
      const form = new FormData()
      form.append("field", "Grüße")
      form.append("file", new Blob(["file body"], { type: "text/plain" }), "a.txt")
      yield* execute(
        UndiciHttpClient.layer,
        HttpClientRequest.post(`${url}/f`).pipe(HttpClientRequest.bodyFormData(form))
      )
      const received = last()
      expect({ method: received.method, url: received.url }).toEqual({ method: "POST", url: "/f" })
      expect(received.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/)
      const data = yield* Effect.promise(() =>
        new Response(new Uint8Array(received.body), {
          headers: { "content-type": received.headers["content-type"] ?? "" }
        }).formData()
      )
      const file = data.get("file")
      expect(data.get("field")).toBe("Grüße")
      expect(file instanceof File && file.name).toBe("a.txt")
      expect(file instanceof Blob && (yield* Effect.promise(() => file.text()))).toBe("file body")
    }))
})

describe("UndiciHttpClient configuration", () => {
  it.effect("UndiciRequestOptions in context apply (reset: true sends connection: close)", () =>
    Effect.gen(function*() {
      yield* execute(UndiciHttpClient.layer, HttpClientRequest.get(`${url}/`))
      expect(last().headers["connection"]).toBe("keep-alive")
      yield* execute(UndiciHttpClient.layer, HttpClientRequest.get(`${url}/`)).pipe(
        // method and path of the options are the request's, not these
        Effect.provideService(NodeHttpClient.UndiciRequestOptions, { reset: true, method: "DELETE", path: "/other" })
      )
      expect(last().headers["connection"]).toBe("close")
      expect({ method: last().method, url: last().url }).toEqual({ method: "GET", url: "/" })
    }))

  it.effect("UndiciRequestOptions given to the layer apply on both paths; the caller's own win", () =>
    Effect.gen(function*() {
      const layer = UndiciHttpClient.layerWithoutDispatcher.pipe(
        Layer.provide(
          Layer.merge(
            NodeHttpClient.dispatcherLayer,
            Layer.succeed(NodeHttpClient.UndiciRequestOptions, { reset: true, method: "GET", path: "/" })
          )
        )
      )
      yield* execute(layer, HttpClientRequest.get(`${url}/lean`))
      expect(last().headers["connection"]).toBe("close")
      yield* execute(layer, HttpClientRequest.get(`${url}/delegated`).pipe(HttpClientRequest.setUrlParam("q", "1")))
      expect(last().headers["connection"]).toBe("close")
      yield* execute(layer, HttpClientRequest.get(`${url}/own`)).pipe(
        Effect.provideService(NodeHttpClient.UndiciRequestOptions, { reset: false, method: "GET", path: "/" })
      )
      expect(last().headers["connection"]).toBe("keep-alive")
      expect(seen.map((request) => request.url)).toEqual(["/lean", "/delegated?q=1", "/own"])
    }))

  it.effect("layerWithoutDispatcher sends through the Dispatcher in context", () =>
    Effect.gen(function*() {
      const dispatched: Array<string> = []
      const dispatcher = Layer.scoped(
        NodeHttpClient.Dispatcher,
        Effect.acquireRelease(
          Effect.sync(() => {
            const agent = new Undici.Agent()
            return {
              agent,
              composed: agent.compose((dispatch) => (options, handler) => {
                dispatched.push(`${options.method} ${options.path}`)
                return dispatch(options, handler)
              })
            }
          }),
          ({ agent }) => Effect.promise(() => agent.close())
        ).pipe(Effect.map(({ composed }) => composed))
      )
      const layer = UndiciHttpClient.layerWithoutDispatcher.pipe(Layer.provide(dispatcher))
      yield* execute(layer, HttpClientRequest.get(`${url}/one`))
      yield* execute(layer, HttpClientRequest.post(`${url}/two`).pipe(HttpClientRequest.bodyText("x")))
      yield* execute(layer, HttpClientRequest.get(`${url}/three`).pipe(HttpClientRequest.setUrlParam("q", "1")))
      expect(dispatched).toEqual(["GET /one", "POST /two", "GET /three?q=1"])
      expect(seen.map((request) => request.url)).toEqual(["/one", "/two", "/three?q=1"])
    }))
})

describe("UndiciHttpClient settles", () => {
  it.effect("a response read after the layer closed fails rather than hanging", () =>
    Effect.gen(function*() {
      handler = (_req, res) => {
        res.writeHead(200)
        res.write("first")
      }
      const response = yield* Effect.scoped(
        Effect.flatMap(HttpClient.HttpClient, (client) => client.get(`${url}/`))
      ).pipe(Effect.provide(UndiciHttpClient.layer))
      const result = yield* Effect.either(response.text)
      expect(result._tag).toBe("Left")
      expect(Option.isNone(response.remoteAddress)).toBe(true)
    }))
})
