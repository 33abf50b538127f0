/**
 * The one-step stream decoder every backend reads through: network reads (bytes) →
 * one continuous UTF-8 decode (a character split across two reads stays whole) →
 * framing (server-sent events or NDJSON lines) → the protocol's own step, which
 * parses and normalises each payload into chunks → the protocol's end, which either
 * emits the final chunk (finish reason and usage) or fails with `StreamTruncated`
 * when the body ended before the protocol's end marker.
 *
 * All of it runs once per network read, with no Effect per event: a read holding
 * thousands of events costs one pass over its text. On `UndiciHttpClient` it runs
 * inside the body read's own loop (`boundedBody.ts`: one `Channel` from the socket to
 * the chunks); after any other client's byte stream, in a loop of its own.
 *
 * Why not `@effect/experimental`'s `Sse` and `@effect/platform`'s `Ndjson`: the former
 * (0.61) rescans its buffer from the start for every line (quadratic in events per
 * read), the latter decodes every read on its own (a multi-byte character split
 * between reads became `\ufffd`), and neither sees text outside events, where Google
 * writes its error JSON when a stream fails after it started.
 *
 * @internal
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as BoundedBody from "../../internal/boundedBody.js"
import { writeThen } from "../../internal/streams.js"
import type * as ModelError from "../ModelError.js"
import type * as ModelResponse from "../ModelResponse.js"
import { unlessPolluted } from "./errors.js"
import { timeoutFail } from "./timeout.js"

// -----------------------------------------------------------------------------
// Framing
// -----------------------------------------------------------------------------

/** Text of a stream that belongs to no event (SSE lines that are not fields we know). @internal */
export class Stray {
  constructor(readonly text: string) {}
}

/** @internal */
export type Frame = string | Stray

/** @internal */
export interface Framer {
  /** Frames completed by this text. */
  readonly push: (text: string, out: Array<Frame>) => void
  /** The body ended: frames left unterminated (a last event without its blank line). */
  readonly end: (out: Array<Frame>) => void
}

/**
 * Server-sent events: the `data` of each event (lines ended by `\n`, `\r\n` or a lone
 * `\r`, also across reads), and lines that are no SSE field as `Stray` text.
 *
 * @internal
 */
export const sse = (): Framer => {
  let rest = ""
  let afterCr = false
  let data: string | undefined
  let more: Array<string> | undefined
  let stray: Array<string> | undefined
  const dispatch = (out: Array<Frame>) => {
    if (stray !== undefined) {
      out.push(new Stray(stray.join("\n")))
      stray = undefined
    }
    if (data !== undefined) {
      out.push(more === undefined ? data : [data, ...more].join("\n"))
      data = undefined
      more = undefined
    }
  }
  // the line `all[from, end)`: sliced only for its value, or when it is not a `data` field
  const line = (all: string, from: number, end: number, out: Array<Frame>) => {
    if (end === from) return dispatch(out)
    if (all.startsWith("data", from) && (end - from === 4 || all.charCodeAt(from + 4) === 58)) {
      // `data`, `data:value` or `data: value` (one space dropped)
      const start = end - from === 4 ? end : from + (end - from > 5 && all.charCodeAt(from + 5) === 32 ? 6 : 5)
      const value = all.slice(start, end)
      if (data === undefined) data = value
      else if (more === undefined) more = [value]
      else more.push(value)
      return
    }
    const text = all.slice(from, end)
    // comments and the fields that carry no data
    if (text.startsWith(":") || /^(event|id|retry)(:|$)/.test(text)) return
    if (stray === undefined) stray = [text]
    else stray.push(text)
  }
  const lines = (text: string, out: Array<Frame>) => {
    // a `\r\n` split between two reads: the `\r` already ended the line
    const input = afterCr && text.charCodeAt(0) === 10 ? text.slice(1) : text
    afterCr = text.charCodeAt(text.length - 1) === 13
    const all = rest === "" ? input : rest + input
    // native searches for both line ends (each found once: no rescans)
    let from = 0
    let lf = all.indexOf("\n")
    let cr = all.indexOf("\r")
    while (lf !== -1 || cr !== -1) {
      const end = cr !== -1 && (lf === -1 || cr < lf) ? cr : lf
      line(all, from, end, out)
      from = end === cr && all.charCodeAt(cr + 1) === 10 ? cr + 2 : end + 1
      if (lf !== -1 && lf < from) lf = all.indexOf("\n", from)
      if (cr !== -1 && cr < from) cr = all.indexOf("\r", from)
    }
    rest = all.slice(from)
  }
  return {
    push: (text, out) => {
      if (text !== "") lines(text, out)
    },
    end: (out) => {
      if (rest !== "") line(rest, 0, rest.length, out)
      rest = ""
      dispatch(out)
    }
  }
}

/**
 * Newline-delimited JSON: each non-empty line (a `\r` before the `\n` dropped); a last
 * line without its newline at the end of the body.
 *
 * @internal
 */
export const ndjson = (): Framer => {
  let rest = ""
  return {
    push: (text, out) => {
      const all = rest + text
      let start = 0
      for (let i = all.indexOf("\n"); i !== -1; i = all.indexOf("\n", start)) {
        const end = i > start && all.charCodeAt(i - 1) === 13 ? i - 1 : i
        if (end > start) out.push(all.slice(start, end))
        start = i + 1
      }
      rest = all.slice(start)
    },
    end: (out) => {
      if (rest.trim() !== "") out.push(rest)
      rest = ""
    }
  }
}

// -----------------------------------------------------------------------------
// The decoder
// -----------------------------------------------------------------------------

/**
 * A protocol's stream state: one payload in, chunks out (pushed to `out`), or the error
 * the payload reports; at the end of the body the final chunk, or `StreamTruncated`.
 *
 * @internal
 */
export interface Protocol {
  /** The call's backend, model and URL, for the errors of the stream. */
  readonly context: ModelError.Context
  readonly step: (frame: Frame, out: Array<ModelResponse.ModelStreamChunk>) => ModelError.ModelError | undefined
  readonly end: (out: Array<ModelResponse.ModelStreamChunk>) => ModelError.ModelError | undefined
}

/**
 * Bytes → chunks, through one UTF-8 decoder, a framer and a protocol, made per read of a
 * body: the decoder a bounded body read runs inside its own loop (`boundedBody.ts`),
 * and {@link through} after any other byte stream.
 *
 * @internal
 */
export const decoder =
  (makeFramer: () => Framer, makeProtocol: () => Protocol) =>
  (): BoundedBody.Decoder<ModelResponse.ModelStreamChunk, ModelError.ModelError> => {
    const utf8 = new TextDecoder("utf-8")
    const framer = makeFramer()
    const protocol = makeProtocol()
    const frames: Array<Frame> = []
    const run = (out: Array<ModelResponse.ModelStreamChunk>): ModelError.ModelError | undefined => {
      for (let i = 0; i < frames.length; i++) {
        const error = protocol.step(frames[i]!, out)
        if (error !== undefined) {
          frames.length = 0
          return error
        }
      }
      frames.length = 0
      return undefined
    }
    // each read is decoded on plain prototypes, or refused (`fastpath.ts`)
    return {
      push: (bytes, out) =>
        unlessPolluted(protocol.context, () => {
          framer.push(utf8.decode(bytes, { stream: true }), frames)
          return run(out)
        }),
      end: (out) =>
        unlessPolluted(protocol.context, () => {
          framer.push(utf8.decode(), frames)
          framer.end(frames)
          return run(out) ?? protocol.end(out)
        })
    }
  }

/**
 * A byte stream through a decoder made per subscription: its elements, and at the end
 * of the bytes the decoder's last ones. Elements decoded before an error are delivered
 * before it.
 *
 * @internal
 */
export const through =
  <A, E>(makeDecoder: () => BoundedBody.Decoder<A, E>) =>
  <E2, R>(bytes: Stream.Stream<Uint8Array, E2, R>): Stream.Stream<A, E | E2, R> =>
    Stream.suspend(() => {
      const decoding = makeDecoder()
      type Loop = Channel.Channel<Chunk.Chunk<A>, Chunk.Chunk<Uint8Array>, E | E2, E2, void, unknown>
      const loop: Loop = Channel.readWithCause({
        onInput: (reads: Chunk.Chunk<Uint8Array>) => {
          const out: Array<A> = []
          let error: E | undefined
          for (const read of reads) {
            error = decoding.push(read, out)
            if (error !== undefined) break
          }
          return writeThen(out, error, loop)
        },
        onFailure: (cause) => Channel.failCause(cause),
        onDone: () => {
          const out: Array<A> = []
          return writeThen(out, decoding.end(out), Channel.void)
        }
      })
      return Stream.pipeThroughChannel(bytes, loop)
    })

/**
 * Bytes → chunks (`decoder` after the bytes, per subscription): what the tests of the
 * framing and the protocols read through.
 *
 * @internal
 */
export const decode = (makeFramer: () => Framer, makeProtocol: () => Protocol) =>
<R>(
  bytes: Stream.Stream<Uint8Array, ModelError.ModelError, R>
): Stream.Stream<ModelResponse.ModelStreamChunk, ModelError.ModelError, R> =>
  through(decoder(makeFramer, makeProtocol))(bytes)

/**
 * Bounds the waits of a stream: `first` until its first element, `idle` between two
 * elements. A wait that runs out fails the stream with `onTimeout(started)`.
 *
 * @internal
 */
export const deadlines = <E>(
  first: Duration.DurationInput,
  idle: Duration.DurationInput,
  onTimeout: (started: boolean, after: Duration.Duration) => E
) =>
<A, E2, R>(stream: Stream.Stream<A, E2, R>): Stream.Stream<A, E | E2, R> =>
  Stream.unwrapScoped(Effect.map(Stream.toPull(stream), (pull) => {
    const firstDuration = Duration.decode(first)
    const idleDuration = Duration.decode(idle)
    let started = false
    const onFirst = (): Option.Option<E | E2> => Option.some(onTimeout(false, firstDuration))
    const onIdle = (): Option.Option<E | E2> => Option.some(onTimeout(true, idleDuration))
    const pulled = Effect.tap(pull, () => {
      started = true
    })
    // one fork and a plain timer per read under the live clock (timeout.ts)
    return Stream.repeatEffectChunkOption(Effect.suspend(() =>
      started
        ? timeoutFail(pull, idleDuration, onIdle, false)
        : timeoutFail(pulled, firstDuration, onFirst, false)
    ))
  }))
