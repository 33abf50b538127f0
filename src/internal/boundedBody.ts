/**
 * A response body whose reader bounds its own waits: the stream deadlines of a model
 * call (`firstChunkTimeout`, `idleTimeout`) armed inside the read loop, where the
 * client already waits for the next bytes, instead of around each pull of
 * `response.stream` (one fork and one timer per network read, issue 14).
 *
 * A response offers it by carrying {@link TypeId}; `UndiciHttpClient`'s responses do,
 * and the signing middleware's `ScrubbedResponse` passes it on. Any other response is
 * read through `response.stream` with the generic deadlines (`model/internal/stream.ts`).
 * The timers are plain `setTimeout`s: callers use it under the live clock only.
 *
 * @internal
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as Stream from "effect/Stream"

/** @internal */
export const TypeId: unique symbol = Symbol.for("effect-adc/BoundedBody")

/** How long a body read may wait, and what a body error or a wait that ran out becomes. @internal */
export interface Bounds<E> {
  /** The longest wait for the first bytes, in milliseconds; `undefined` for none. */
  readonly firstMillis: number | undefined
  /** The longest wait between two reads that brought bytes, in milliseconds; `undefined` for none. */
  readonly idleMillis: number | undefined
  /** The error of a wait that ran out (`started`: bytes had come before it). */
  readonly onTimeout: (started: boolean) => E
  /** The error of a body that failed (the `ResponseError` `response.stream` would fail with). */
  readonly onError: (error: HttpClientError.ResponseError) => E
}

/** A response that reads its body with bounded waits. @internal */
export interface BoundedBody {
  readonly [TypeId]: <E>(bounds: Bounds<E>) => Stream.Stream<Uint8Array, E>
}

/** Whether `response` reads its body with bounded waits. @internal */
export const isBoundedBody = (response: object): response is BoundedBody => TypeId in response
