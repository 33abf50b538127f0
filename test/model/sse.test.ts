import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Sse from "../../src/model/internal/sse.js"

// The SSE decoder every SSE backend reads through (Gemini `alt=sse`, OpenAI-compatible).

const decode = (...pieces: ReadonlyArray<string>) =>
  Stream.fromIterable(pieces).pipe(Sse.data, Stream.runCollect, Effect.map(Chunk.toReadonlyArray))

describe("Sse.data", () => {
  it.effect("yields each event's data; LF and CRLF line ends; comments and other fields carry none", () =>
    Effect.gen(function*() {
      const events = yield* decode(
        ": keep-alive\n\n",
        "event: message\nid: 7\ndata: {\"a\":1}\n\n",
        "data: {\"b\":2}\r\n\r\n",
        "retry: 100\ndata:{\"c\":3}\n\n"
      )
      expect(events).toEqual(["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
    }))

  it.effect("joins multi-line data with newlines and keeps a value's own leading spaces after the first", () =>
    Effect.gen(function*() {
      expect(yield* decode("data: one\ndata:  two\ndata\n\n")).toEqual(["one\n two\n"])
    }))

  it.effect("reassembles events and line ends split across chunks", () =>
    Effect.gen(function*() {
      expect(yield* decode("da", "ta: [1", ",2]\r", "\n", "\r\ndata: [DONE]", "\n\n")).toEqual(["[1,2]", "[DONE]"])
    }))

  it.effect("delivers a last event the server did not end with a blank line", () =>
    Effect.gen(function*() {
      expect(yield* decode("data: a\n\ndata: b\n")).toEqual(["a", "b"])
    }))

  it.effect("many events in one read: every one, in order", () =>
    Effect.gen(function*() {
      const body = Array.from({ length: 5000 }, (_, i) => `data: {"i":${i}}\r\n\r\n`).join("")
      const events = yield* decode(body)
      expect(events).toHaveLength(5000)
      expect(events[4999]).toBe("{\"i\":4999}")
    }))

  it.effect("a field named like data is not data", () =>
    Effect.gen(function*() {
      expect(yield* decode("database: x\ndata: y\n\n")).toEqual(["y"])
    }))
})
