/**
 * Bench-only model servers. The emulators in `src/testing/models` split every reply
 * into three pieces, so a stream of thousands of chunks needs a control they do not
 * have: this file adds it here instead of in `src/`.
 *
 * - `longStreamHandler`: model `long-<N>` on a Gemini `:streamGenerateContent?alt=sse`
 *   path answers N SSE events in the Gemini wire shape the emulator writes (the last
 *   with `finishReason` and full usage); `POST /api/chat` with model `long:<N>` answers
 *   N Ollama NDJSON lines and the `done` line; `POST /v1/chat/completions` with model
 *   `long~<N>` answers the OpenAI-compatible (vLLM) SSE stream of N content deltas, the
 *   finish, usage and `[DONE]`. Everything else goes to the real
 *   `GeminiEmulator` handler (any bearer token accepted, API keys refused).
 * - `slowStreamHandler`: one NDJSON line at once, the next `gapMs` later (TTFB).
 *
 * Run as a script (`node --import tsx bench/modelServers.ts`) it serves
 * `longStreamHandler` on loopback in its own process and prints `{"url": …}`, so the
 * server's work does not share an event loop with the client being measured.
 * `startModelServer()` spawns that process.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import * as GeminiEmulator from "../src/testing/models/GeminiEmulator.js"
import { exitWithParent, spawnTsx } from "./child.js"

const words = "the quick brown fox jumps over the lazy dog while a model streams tokens to a patient client ".split(" ")
  .filter((w) => w !== "")

/** ~12 words of deterministic text for chunk `i`. */
const pieceText = (i: number) => {
  let out = ""
  for (let k = 0; k < 12; k++) out += `${words[(i + k) % words.length]} `
  return out
}

const readBody = (req: Http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

/**
 * The pieces as the body of a chunked response: one HTTP chunk per piece, as a server
 * that flushes every event frames it (Go's `http.Flusher`, Google's front ends), then
 * the last chunk; pre-encoded once and cut into writes of about 64 KiB.
 */
const chunkedBody = (pieces: ReadonlyArray<string>): Array<Buffer> => {
  const writes: Array<Buffer> = []
  let pending: Array<string> = []
  let size = 0
  for (const piece of [...pieces.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`), "0\r\n\r\n"]) {
    pending.push(piece)
    size += piece.length
    if (size >= 65_536) {
      writes.push(Buffer.from(pending.join("")))
      pending = []
      size = 0
    }
  }
  if (pending.length > 0) writes.push(Buffer.from(pending.join("")))
  return writes
}

/**
 * Answers with a pre-encoded chunked body (`chunkedBody`), waiting for `drain` when the
 * socket is full. The server then costs next to nothing per event: with one
 * `res.write` per event it was the bottleneck of the P5 bench (its process at 3 µs per
 * event of the 2 shared cores, a client that only reads the text idle 63 % of the
 * time), and every contender measured the server's write loop more than its own work.
 */
const writeChunked = async (res: Http.ServerResponse, contentType: string, body: ReadonlyArray<Buffer>) => {
  res.writeHead(200, { "content-type": contentType, "transfer-encoding": "chunked" })
  // the chunks are framed already: Node must not frame them again
  res.chunkedEncoding = false
  for (const write of body) {
    if (res.destroyed) return
    if (!res.write(write)) await new Promise<void>((resolve) => res.once("drain", resolve))
  }
  res.end()
}

/** The Gemini SSE events of a long answer (pre-serialised; shape as the emulator writes it). */
export const geminiEvents = (n: number, model: string): Array<string> => {
  const envelope = { modelVersion: model, responseId: "YmVuY2gtbG9uZy1zdHJlYW0" }
  const out: Array<string> = []
  for (let i = 0; i < n; i++) {
    const last = i === n - 1
    const event = {
      candidates: [{
        content: { parts: [{ text: pieceText(i) }], role: "model" },
        ...(last ? { finishReason: "STOP" } : {}),
        index: 0
      }],
      usageMetadata: last
        ? { promptTokenCount: 4, candidatesTokenCount: n * 12, totalTokenCount: 4 + n * 12 }
        : { promptTokenCount: 4, totalTokenCount: 4 },
      ...envelope
    }
    out.push(`data: ${JSON.stringify(event)}\r\n\r\n`)
  }
  return out
}

/** The Ollama `/api/chat` NDJSON lines of a long answer, then the `done` line. */
export const ollamaLines = (n: number, model: string): Array<string> => {
  const stamp = "2026-11-22T00:00:00.000000000Z"
  const out: Array<string> = []
  for (let i = 0; i < n; i++) {
    out.push(
      JSON.stringify({ model, created_at: stamp, message: { role: "assistant", content: pieceText(i) }, done: false }) +
        "\n"
    )
  }
  out.push(
    JSON.stringify({
      model,
      created_at: stamp,
      message: { role: "assistant", content: "" },
      done_reason: "stop",
      done: true,
      total_duration: 182242375,
      load_duration: 41295167,
      prompt_eval_count: 4,
      prompt_eval_duration: 24573166,
      eval_count: n * 12,
      eval_duration: 115959084
    }) + "\n"
  )
  return out
}

/** The OpenAI-compatible (vLLM) SSE events of a long answer: role, N content deltas, finish, usage, `[DONE]`. */
export const openaiEvents = (n: number, model: string): Array<string> => {
  const base = { id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1764374400, model }
  const event = (delta: object, finish: string | null = null) =>
    `data: ${
      JSON.stringify({
        ...base,
        choices: [{
          index: 0,
          delta,
          logprobs: null,
          finish_reason: finish,
          ...(finish === null ? {} : { stop_reason: null })
        }]
      })
    }\n\n`
  const out = [event({ role: "assistant", content: "" })]
  for (let i = 0; i < n; i++) out.push(event({ content: pieceText(i) }))
  out.push(event({ content: "" }, "stop"))
  out.push(
    `data: ${
      JSON.stringify({
        ...base,
        choices: [],
        usage: { prompt_tokens: 4, total_tokens: 4 + n * 12, completion_tokens: n * 12 }
      })
    }\n\n`
  )
  out.push("data: [DONE]\n\n")
  return out
}

const geminiLong = /\/models\/long-(\d+):streamGenerateContent$/

/** Long Gemini SSE and Ollama NDJSON streams; everything else to the Gemini emulator. */
export const longStreamHandler = (): Http.RequestListener => {
  const gemini = GeminiEmulator.make()
  const cache = new Map<string, Array<Buffer>>()
  const cached = (key: string, make: () => Array<string>) => {
    let hit = cache.get(key)
    if (hit === undefined) cache.set(key, hit = chunkedBody(make()))
    return hit
  }
  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost")
    const long = geminiLong.exec(url.pathname)
    if (req.method === "POST" && long !== null) {
      const n = Number(long[1])
      void readBody(req).then(() => {
        return writeChunked(res, "text/event-stream", cached(`gemini:${n}`, () => geminiEvents(n, `long-${n}`)))
      })
      return
    }
    if (req.method === "POST" && url.pathname === "/api/chat") {
      void readBody(req).then((text) => {
        const model = String((JSON.parse(text) as { model?: unknown }).model ?? "")
        const n = Number(/^long:(\d+)$/.exec(model)?.[1] ?? "3")
        return writeChunked(res, "application/x-ndjson", cached(`ollama:${n}`, () => ollamaLines(n, model)))
      })
      return
    }
    if (req.method === "POST" && url.pathname === "/v1/chat/completions") {
      void readBody(req).then((text) => {
        const model = String((JSON.parse(text) as { model?: unknown }).model ?? "")
        const n = Number(/^long~(\d+)$/.exec(model)?.[1] ?? "3")
        return writeChunked(
          res,
          "text/event-stream; charset=utf-8",
          cached(`openai:${n}`, () => openaiEvents(n, model))
        )
      })
      return
    }
    gemini.handler(req, res)
  }
}

/** One NDJSON line at once, a second one `gapMs` later: a proxy that buffers shows it in TTFB. */
export const slowStreamHandler = (gapMs: number): Http.RequestListener => (req, res) => {
  void readBody(req).then(() => {
    res.writeHead(200, { "content-type": "application/x-ndjson" })
    res.write("{\"n\":1}\n")
    setTimeout(() => res.end("{\"n\":2}\n"), gapMs)
  })
}

/** Serves `handler` on 127.0.0.1 (an OS-chosen port). */
export const serve = async (handler: Http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> => {
  const server = Http.createServer({ keepAliveTimeout: 30_000 }, handler)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** Starts `longStreamHandler` in its own process. */
export const startModelServer = async (): Promise<{ readonly url: string; readonly close: () => Promise<void> }> => {
  const { close, value } = await spawnTsx<{ url: string }>(fileURLToPath(import.meta.url))
  return { url: value.url, close }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await serve(longStreamHandler())
  process.stdout.write(JSON.stringify({ url: server.url }) + "\n")
  exitWithParent()
}
