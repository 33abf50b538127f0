/**
 * A Node `Readable` (an undici response body) as a stream of the bytes each network
 * read brought, or of what a `Decoder` makes of them, in one `Channel` loop: whatever
 * the readable holds is taken (and decoded) in one chunk, and when it holds nothing the
 * loop waits for its `readable`, `end`, `error` or `close` event (an event that came
 * between the read and the wait is not lost). The wait can be bounded: a plain timer
 * armed only while the loop waits, the first wait by `firstMillis`, each later one by
 * `idleMillis`. No fiber is forked and no timer is set for a read that finds bytes
 * waiting.
 *
 * When the stream ends (done, failed or interrupted) the listeners are removed and the
 * readable is destroyed if it is still open; when it ends before the body did,
 * `onAbandon` runs (the request's abort: an abort after the end would only build an
 * `AbortError` nobody reads).
 *
 * @internal
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Readable } from "node:stream"
import { bytes, type Decoder } from "../../internal/boundedBody.js"
import { writeThen } from "../../internal/streams.js"

/** What a read of `readable` does with a failure, a wait that runs out, and its end. @internal */
export interface ReadOptions<E> {
  /** The error of a readable that failed. */
  readonly onError: (cause: unknown) => E
  /** The longest wait for the first bytes, in milliseconds; `undefined` for none. */
  readonly firstMillis?: number | undefined
  /** The longest wait between two reads that brought bytes, in milliseconds; `undefined` for none. */
  readonly idleMillis?: number | undefined
  /** The error of a wait that ran out (`started`: bytes had come before it). */
  readonly onTimeout?: ((started: boolean) => E) | undefined
  /** Runs once when the stream ends before the body did (it failed, or it was interrupted). */
  readonly onAbandon: () => void
}

/** The bytes of `readable`, read as described in the module comment. @internal */
export const readBytes = <E>(readable: Readable, options: ReadOptions<E>): Stream.Stream<Uint8Array, E> =>
  readDecoded(readable, options, bytes())

/**
 * What `decoder` makes of the bytes of `readable`, read as described in the module
 * comment: the elements of each read, and at the body's end the decoder's last ones.
 *
 * @internal
 */
export const readDecoded = <A, E>(
  readable: Readable,
  options: ReadOptions<E>,
  decoder: Decoder<A, E>
): Stream.Stream<A, E> =>
  Stream.fromChannel(Channel.suspend(() => {
    let failure: { readonly error: E } | undefined
    let ended = false
    let started = false
    let wake: ((effect: Effect.Effect<void, E>) => void) | undefined
    let timer: ReturnType<typeof setTimeout> | undefined

    /** The wait ends (resumed, timed out or interrupted): no waiter, no timer. */
    const disarm = () => {
      wake = undefined
      if (timer !== undefined) {
        clearTimeout(timer)
        timer = undefined
      }
    }
    // an event while no wait is registered: the fiber may yield between a `read()` that
    // found nothing and its wait, and an event in that gap must not be lost
    let missed = false
    const resume = (effect: Effect.Effect<void, E>) => {
      const waiting = wake
      if (waiting === undefined) {
        missed = true
        return
      }
      disarm()
      waiting(effect)
    }
    // `readable`, and `close` (all a readable destroyed without an error emits)
    const onEvent = () => resume(Effect.void)
    const onEnd = () => {
      ended = true
      resume(Effect.void)
    }
    const onFailure = (cause: unknown) => {
      failure ??= { error: options.onError(cause) }
      resume(Effect.void)
    }
    readable.on("readable", onEvent)
    readable.on("end", onEnd)
    readable.on("error", onFailure)
    readable.on("close", onEvent)

    const wait = Effect.async<void, E>((resumeWith) => {
      if (missed) return resumeWith(Effect.void)
      wake = resumeWith
      const millis = started ? options.idleMillis : options.firstMillis
      const onTimeout = options.onTimeout
      if (millis !== undefined && onTimeout !== undefined) {
        timer = setTimeout(() => {
          timer = undefined
          resume(Effect.fail(onTimeout(started)))
        }, millis)
      }
      return Effect.sync(disarm)
    })

    const loop: Channel.Channel<Chunk.Chunk<A>, unknown, E, unknown, void, unknown> = Channel.suspend(() => {
      missed = false
      let item: Uint8Array | null = readable.read()
      if (item === null) {
        if (failure !== undefined) return Channel.fail(failure.error)
        if (readable.errored !== null) return Channel.fail(options.onError(readable.errored))
        // ended (also before this read began: a body read by another reader), or
        // destroyed before its end (aborted): no event will come
        if (ended || !readable.readable) {
          const out: Array<A> = []
          return writeThen(out, decoder.end(out), Channel.void)
        }
        return Channel.flatMap(Channel.fromEffect(wait), () => loop)
      }
      started = true
      const out: Array<A> = []
      let error = decoder.push(item, out)
      while (error === undefined && (item = readable.read()) !== null) error = decoder.push(item, out)
      return writeThen(out, error, loop)
    })

    return Channel.ensuring(
      loop,
      Effect.sync(() => {
        readable.off("readable", onEvent)
        readable.off("end", onEnd)
        readable.off("error", onFailure)
        readable.off("close", onEvent)
        if (!readable.closed) readable.destroy()
        if (!ended && !readable.readableEnded) options.onAbandon()
      })
    )
  }))
