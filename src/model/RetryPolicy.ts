/**
 * The retry policy of ModelService: an Effect `Schedule` over ModelErrors. The default
 * is exponential with jitter, capped, with bounded attempts, and never shorter than
 * the server's retry-after (`Retry-After`, Google's `RetryInfo.retryDelay`). Only
 * retryable errors are retried, and a stream only until it opened: once it emitted
 * output it is never retried.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as internal from "./internal/retry.js"
import type * as ModelError from "./ModelError.js"

/**
 * A schedule that sees every failure.
 *
 * @since 0.1.0
 * @category Models
 */
export type RetryPolicy = Schedule.Schedule<unknown, ModelError.ModelError>

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** First delay; default 500 ms. */
  readonly base?: Duration.DurationInput
  /** Cap of the exponential delay (not of a server's retry-after); default 30 s. */
  readonly cap?: Duration.DurationInput
  /** Retries after the first attempt; default 3. */
  readonly retries?: number
}

/**
 * Makes a schedule wait at least what the failed attempt's server asked for.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const honourRetryAfter = <Out>(
  schedule: Schedule.Schedule<Out, unknown>
): Schedule.Schedule<[Out, ModelError.ModelError], ModelError.ModelError> =>
  Schedule.intersect(schedule, Schedule.identity<ModelError.ModelError>()).pipe(
    Schedule.modifyDelay(([, error], delay) =>
      Option.match(error.retryAfter, {
        onNone: () => delay,
        onSome: (after) => Duration.max(delay, after)
      })
    )
  )

/**
 * Exponential backoff with jitter, capped, bounded, honouring retry-after.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options = {}): RetryPolicy => {
  const cap = Duration.decode(options.cap ?? "30 seconds")
  const backoff = Schedule.exponential(options.base ?? "500 millis", 2).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((_, delay) => Duration.min(delay, cap)),
    Schedule.intersect(Schedule.recurs(options.retries ?? 3))
  )
  return honourRetryAfter(backoff)
}

/**
 * The default policy: `make()`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const defaultPolicy: RetryPolicy = make()

/**
 * No retries.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const none: RetryPolicy = Schedule.stop

/**
 * Options of `retry`.
 *
 * @since 0.2.0
 * @category Models
 */
export interface RetryOptions {
  /**
   * The longest server-requested delay (`Retry-After`, `RetryInfo`) worth waiting for;
   * a longer one fails at once with the error, which carries the server's
   * `retryAfter`, so the caller decides. Default 60 seconds.
   */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
}

/**
 * Does the server ask for a longer wait than `max`?
 *
 * @since 0.2.0
 * @category Predicates
 */
export const exceedsRetryAfter = (error: ModelError.ModelError, max: Duration.DurationInput = "60 seconds"): boolean =>
  Option.match(error.retryAfter, {
    onNone: () => false,
    onSome: (after) => Duration.greaterThan(after, Duration.decode(max))
  })

/**
 * Retries an effect with a policy, only while the failure is retryable
 * (`ModelError.isRetryable`) and the server's retry-after is within `maxRetryAfter`.
 * Every backend wraps the opening of a request in this (each attempt inside its own
 * timeout); a stream's body is outside it, so a stream that emitted output is never
 * retried.
 *
 * It behaves as `Effect.retry(effect, { schedule: policy, while })`, and the policy sees
 * the same failures in the same order (the retryable ones, and the one that stops it),
 * but the schedule's driver is built only when the first attempt fails: a call that
 * succeeds at once runs the effect and nothing else.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const retry: {
  (policy: RetryPolicy, options?: RetryOptions): <A, R>(
    effect: Effect.Effect<A, ModelError.ModelError, R>
  ) => Effect.Effect<A, ModelError.ModelError, R>
  <A, R>(
    effect: Effect.Effect<A, ModelError.ModelError, R>,
    policy: RetryPolicy,
    options?: RetryOptions
  ): Effect.Effect<A, ModelError.ModelError, R>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, R>(effect: Effect.Effect<A, ModelError.ModelError, R>, policy: RetryPolicy, options: RetryOptions = {}) =>
    internal.retrying(policy, options.maxRetryAfter)(effect)
)
