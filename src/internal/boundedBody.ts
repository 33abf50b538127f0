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
 * The read also decodes, in its own loop: a {@link Decoder} turns each network read's
 * bytes into elements (a model stream's chunks), so a model stream is one `Channel`
 * from the socket to its chunks instead of a byte stream piped into a decoding one
 * (5 % of a long Gemini stream's time, session 8).
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

/**
 * What a body read makes of the bytes: the elements each network read's bytes give
 * (pushed to `out`), or the error that ends the read (the elements pushed before it are
 * delivered first); at the body's end, the last elements or the error.
 *
 * @internal
 */
export interface Decoder<A, E> {
  readonly push: (bytes: Uint8Array, out: Array<A>) => E | undefined
  readonly end: (out: Array<A>) => E | undefined
}

const asReceived: Decoder<Uint8Array, never> = {
  push: (bytes, out) => {
    out.push(bytes)
    return undefined
  },
  end: () => undefined
}

/** The bytes as each network read brought them. @internal */
export const bytes = (): Decoder<Uint8Array, never> => asReceived

/** A response that reads its body with bounded waits, decoded by a decoder made per read. @internal */
export interface BoundedBody {
  readonly [TypeId]: <A, E>(bounds: Bounds<E>, decoder: () => Decoder<A, E>) => Stream.Stream<A, E>
}

/** Whether `response` reads its body with bounded waits. @internal */
export const isBoundedBody = (response: object): response is BoundedBody => TypeId in response
