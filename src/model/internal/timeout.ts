/**
 * A per-attempt timeout with one fork and a plain timer. `Effect.timeoutFail` races
 * the effect against a sleeping fiber (two forks, and on success it waits for the
 * sleeper's interruption): about 86 µs on every model call (issue 14). Under the live
 * `Clock` this forks the effect once and arms a `setTimeout`; the first of the two to
 * finish wins, and the loser is cancelled (the timer cleared, or the effect
 * interrupted and awaited before the timeout error is returned, as `timeoutFail` does).
 *
 * Under any other `Clock` (`TestClock` in tests, a user's own) it is
 * `Effect.timeoutFail` itself, so simulated time still drives it.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"

/** The class of the live clock (`Clock.make()`), to tell it from `TestClock` and others. */
const LiveClock = Clock.make().constructor

/** Whether `clock` is the live clock, under which a plain timer measures the same time. @internal */
export const isLiveClock = (clock: Clock.Clock): boolean => clock instanceof LiveClock

/** The longest delay `setTimeout` takes; a longer one never fires (Effect's own rule). */
const maxTimerMillis = 2 ** 31 - 1

/** `duration` as a `setTimeout` delay, or `undefined` for one too long to fire (no bound). @internal */
export const timerMillis = (duration: Duration.Duration): number | undefined => {
  const millis = Duration.toMillis(duration)
  return millis <= maxTimerMillis ? millis : undefined
}

/**
 * `effect`, failed with `onTimeout()` when it has not finished within `duration`
 * (the effect is interrupted first).
 *
 * @internal
 */
export const timeoutFail = <A, E, R, E2>(
  effect: Effect.Effect<A, E, R>,
  duration: Duration.Duration,
  onTimeout: () => E2,
  /** Take the effect's FiberRefs on success, as `Effect.timeoutFail` does (a stream's reads need not). */
  inherit = true
): Effect.Effect<A, E | E2, R> =>
  Effect.clockWith((clock) => {
    if (!isLiveClock(clock)) return Effect.timeoutFail(effect, { duration, onTimeout })
    const millis = timerMillis(duration)
    if (millis === undefined) return effect
    return Effect.flatMap(Effect.fork(effect), (child) =>
      Effect.async<A, E | E2>((resume) => {
        let settled = false
        const onExit = (exit: Exit.Exit<A, E>) => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          resume(exit._tag === "Success" && inherit ? Effect.zipRight(child.inheritAll, exit) : exit)
        }
        const timer = setTimeout(() => {
          if (settled) return
          settled = true
          child.removeObserver(onExit)
          resume(Effect.zipRight(Fiber.interrupt(child), Effect.fail(onTimeout())))
        }, millis)
        child.addObserver(onExit)
        return Effect.suspend(() => {
          settled = true
          clearTimeout(timer)
          child.removeObserver(onExit)
          return Fiber.interrupt(child)
        })
      }))
  })
