/**
 * The retry driver behind `RetryPolicy.retry`: `Effect.retry(effect, { schedule, while })`
 * with the policy's schedule driver built only when an attempt fails. `Effect.retry`
 * builds its driver (a few Refs) before the first attempt, on every call; a model call
 * that succeeds at once should pay nothing for a schedule it never consults.
 *
 * The policy sees the same failures in the same order as under `Effect.retry`: the
 * `while` predicate is applied as `Effect.retry` applies it (`Schedule.whileInput`: the
 * policy steps first, then the predicate may stop it), so a policy that taps its input
 * sees the retryable failures and the one that stopped it.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as ModelError from "../ModelError.js"

/** Is `error` worth retrying: retryable, and the server asks for no longer than `max`. @internal */
export const retryable = (max: Duration.Duration) => (error: ModelError.ModelError): boolean =>
  error.isRetryable && Option.match(error.retryAfter, {
    onNone: () => true,
    onSome: (after) => !Duration.greaterThan(after, max)
  })

/**
 * Retries per `policy` while the failure is `retryable`; the schedule is combined once
 * here, its driver built on the first failure.
 *
 * @internal
 */
export const retrying = (
  policy: Schedule.Schedule<unknown, ModelError.ModelError>,
  maxRetryAfter: Duration.DurationInput | undefined
): <A, R>(effect: Effect.Effect<A, ModelError.ModelError, R>) => Effect.Effect<A, ModelError.ModelError, R> => {
  const schedule = Schedule.whileInput(policy, retryable(Duration.decode(maxRetryAfter ?? "60 seconds")))
  return <A, R>(effect: Effect.Effect<A, ModelError.ModelError, R>) =>
    Effect.catchAll(effect, (first) =>
      Effect.flatMap(Schedule.driver(schedule), (driver) => {
        const again = (error: ModelError.ModelError): Effect.Effect<A, ModelError.ModelError, R> =>
          Effect.matchEffect(driver.next(error), {
            onFailure: () => Effect.fail(error),
            onSuccess: () => Effect.catchAll(effect, again)
          })
        return again(first)
      }))
}
