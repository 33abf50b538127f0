/**
 * The SSE framer of the stream decoder every SSE backend reads through (Gemini `alt=sse`, vLLM
 * `/v1/chat/completions`): events split across network reads, line endings, multi-line
 * data, fields without data, and a last event the server did not close with a blank line.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Decoder from "../../src/model/internal/stream.js"

/** The `data` of each event, the reads pushed one by one into the stream decoder's SSE framer. */
const decode = (...reads: ReadonlyArray<string>) =>
  Effect.sync(() => {
    const framer = Decoder.sse()
    const frames: Array<Decoder.Frame> = []
    for (const read of reads) framer.push(read, frames)
    framer.end(frames)
    return frames.filter((frame): frame is string => typeof frame === "string")
  })

describe("SSE decoder", () => {
  it.effect("one event per blank line, whatever the reads' boundaries", () =>
    Effect.gen(function*() {
      const body = "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n"
      const expected = ["{\"a\":1}", "{\"b\":2}", "[DONE]"]
      expect(yield* decode(body)).toEqual(expected)
      // every split of the body into two reads, and one character per read
      for (let i = 1; i < body.length; i++) {
        expect(yield* decode(body.slice(0, i), body.slice(i))).toEqual(expected)
      }
      expect(yield* decode(...body.split(""))).toEqual(expected)
    }))

  it.effect("\\r\\n and \\r line endings, also split between reads", () =>
    Effect.gen(function*() {
      expect(yield* decode("data: x\r\n\r\ndata: y\r\n\r\n")).toEqual(["x", "y"])
      expect(yield* decode("data: x\r", "\n\r", "\ndata: y\r\r")).toEqual(["x", "y"])
      expect(yield* decode("data: x\rdata: y\r\rdata: z\r")).toEqual(["x\ny", "z"])
      const body = "data: a\r\n\r\ndata: b\r\n\r\n"
      for (let i = 1; i < body.length; i++) {
        expect(yield* decode(body.slice(0, i), body.slice(i))).toEqual(["a", "b"])
      }
    }))

  it.effect("multi-line data joined with \\n; `data:` without a space; an empty data line", () =>
    Effect.gen(function*() {
      expect(yield* decode("data: line 1\ndata:line 2\ndata\n\n")).toEqual(["line 1\nline 2\n"])
      // only the one space after the colon is dropped
      expect(yield* decode("data: one\ndata:  two\n\n")).toEqual(["one\n two"])
    }))

  it.effect("comments, event/id/retry fields and unknown fields carry no data; an event without data is dropped", () =>
    Effect.gen(function*() {
      expect(yield* decode(": keep-alive\n\nevent: message\nid: 7\nretry: 100\ndatum: no\ndata: yes\n\n\n\n")).toEqual([
        "yes"
      ])
    }))

  it.effect("a last event without the closing blank line is still delivered", () =>
    Effect.gen(function*() {
      expect(yield* decode("data: a\n\ndata: b")).toEqual(["a", "b"])
      expect(yield* decode("data: a\n\ndata: b\n")).toEqual(["a", "b"])
    }))

  it.effect("many events in one read: every one, in order", () =>
    Effect.gen(function*() {
      const events = Array.from({ length: 5_000 }, (_, i) => `{"i":${i}}`)
      expect(yield* decode(events.map((e) => `data: ${e}\n\n`).join(""))).toEqual(events)
      expect(yield* decode(events.map((e) => `data: ${e}\r\n\r\n`).join(""))).toEqual(events)
    }))
})
