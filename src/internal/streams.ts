/**
 * Stream helpers for the hot path of a model stream.
 *
 * @internal
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/**
 * The stream an effect makes, as `Stream.unwrap` gives it, run as the channel's next
 * step instead of a nested stream: `Stream.unwrap` is `flatten(fromEffect(…))`, a
 * `concatMap` whose sub-executor every read of the inner stream passes through (about
 * 180 Effect operations on a stream of 22 reads, against 7 this way). Failures,
 * interruption and finalizers are the inner stream's own either way.
 *
 * @internal
 */
export const unwrap = <A, E2, R2, E, R>(
  effect: Effect.Effect<Stream.Stream<A, E2, R2>, E, R>
): Stream.Stream<A, E | E2, R | R2> => Stream.fromChannel(Channel.unwrap(Effect.map(effect, Stream.toChannel)))

/**
 * A decoding loop's step: the elements decoded from one input written as one chunk
 * (nothing written when there are none), then `next`, or the decoder's `error` after
 * them (elements decoded before an error are delivered before it).
 *
 * @internal
 */
export const writeThen = <A, E, OutErr, InElem, InErr, InDone>(
  out: Array<A>,
  error: E | undefined,
  next: Channel.Channel<Chunk.Chunk<A>, InElem, OutErr, InErr, void, InDone>
): Channel.Channel<Chunk.Chunk<A>, InElem, E | OutErr, InErr, void, InDone> => {
  const rest: Channel.Channel<Chunk.Chunk<A>, InElem, E | OutErr, InErr, void, InDone> = error === undefined
    ? next
    : Channel.fail(error)
  return out.length === 0 ? rest : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(out)), rest)
}
