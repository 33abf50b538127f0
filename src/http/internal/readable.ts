/**
 * A Node `Readable` (an undici response body) as a stream of the bytes each network
 * read brought, or of what a `Decoder` makes of them, in one `Channel` loop: whatever
 * the readable holds is taken (and decoded) in one chunk, and when it holds nothing the
 * loop waits for its `readable`, `end`, `error` or `close` event (an event that came
 * between the read and the wait is not lost). The wait can be bounded, the first wait by
 * `firstMillis`, each later one by `idleMillis`, with one plain timer for all the waits
 * of a read: a wait sets its deadline, and the timer is armed only when none is armed
 * for that deadline or sooner; when it fires it ends a wait past its deadline, re-arms
 * for a wait that is not, and does nothing when no wait runs. A wait that ends in time
 * costs no `clearTimeout` and no new timer (a stream of many reads spent 6–10 µs on each
 * on this machine, `.tmp/ab.ts`, session 9). No fiber is forked for a read that finds
 * bytes waiting.
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
    // when the armed timer fires, and the deadline of the wait that runs (`performance.now()`
    // milliseconds; `Infinity`: no timer armed, no bounded wait)
    let timerAt = Infinity
    let deadline = Infinity
    const onTimeout = options.onTimeout

    /** The wait ends (resumed, timed out or interrupted): no waiter, no deadline. */
    const disarm = () => {
      wake = undefined
      deadline = Infinity
    }
    const arm = (at: number) => {
      if (timer !== undefined) clearTimeout(timer)
      timerAt = at
      timer = setTimeout(fire, Math.max(0, at - performance.now()))
    }
    const fire = () => {
      timer = undefined
      timerAt = Infinity
      if (deadline === Infinity || onTimeout === undefined) return
      if (performance.now() < deadline) return arm(deadline)
      resume(Effect.fail(onTimeout(started)))
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
      if (millis !== undefined && onTimeout !== undefined) {
        deadline = performance.now() + millis
        if (timerAt > deadline) arm(deadline)
      }
      return unregister
    })
    const unregister = Effect.sync(disarm)
    const waitThenLoop = Channel.flatMap(Channel.fromEffect(wait), () => loop)

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
        return waitThenLoop
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
        if (timer !== undefined) clearTimeout(timer)
        readable.off("readable", onEvent)
        readable.off("end", onEnd)
        readable.off("error", onFailure)
        readable.off("close", onEvent)
        if (!readable.closed) readable.destroy()
        if (!ended && !readable.readableEnded) options.onAbandon()
      })
    )
  }))
