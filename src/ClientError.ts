/**
 * Errors of the Promise facades (`AuthClient`, `ModelClient`, the signing fetch, the
 * adapters): a call the caller aborted, and a call to (or still running in) a client
 * that was disposed. Both settle the Promise at once; the request behind it is
 * interrupted and its socket closed.
 *
 * `Data.TaggedError`s, not Schema classes, for the reason AuthError.ts gives: the Promise
 * bridge is on the start-up path of `AuthClient`, and `effect/Schema` pulls in fast-check.
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import * as Predicate from "effect/Predicate"

/**
 * @since 0.2.0
 * @category Type IDs
 */
export const TypeId: unique symbol = Symbol.for("effect-adc/ClientError")

/**
 * @since 0.2.0
 * @category Type IDs
 */
export type TypeId = typeof TypeId

/**
 * The caller's `AbortSignal` fired: the call was interrupted.
 *
 * @since 0.2.0
 * @category Errors
 */
export class CallAborted extends Data.TaggedError("CallAborted")<{
  readonly operation: string
}> {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.2.0 */
  override get message(): string {
    return `${this.operation} was aborted by the caller's AbortSignal; the request was interrupted.`
  }
}

/**
 * The client was disposed before or while the call ran.
 *
 * @since 0.2.0
 * @category Errors
 */
export class ClientClosed extends Data.TaggedError("ClientClosed")<{
  readonly operation: string
}> {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.2.0 */
  override get message(): string {
    return `${this.operation} did not complete: the client was disposed. Create a new client to make more calls.`
  }
}

/**
 * @since 0.2.0
 * @category Models
 */
export type ClientError = CallAborted | ClientClosed

/**
 * @since 0.2.0
 * @category Guards
 */
export const isClientError = (u: unknown): u is ClientError => Predicate.hasProperty(u, TypeId)
