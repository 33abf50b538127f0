/**
 * Helpers of the auth fault suites: the real loopback emulator for the wire, the
 * TestClock for time. The emulator's clock follows the TestClock (minus a chosen skew),
 * so ID tokens' absolute `exp` means what it would on a machine whose clock is `skew`
 * ahead of Google's.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import type * as Emulator from "../../src/testing/Emulator.js"

/** Lets real I/O (loopback sockets, the emulator's handlers) run: a few event-loop turns. */
export const turns = (n = 20) =>
  Effect.promise(async () => {
    for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve))
  })

/** Waits (event-loop turns, no clock) until `condition` holds; fails the test after `limit` turns. */
export const waitUntil = (what: string, condition: () => boolean, limit = 5000) =>
  Effect.gen(function*() {
    for (let i = 0; i < limit; i++) {
      if (condition()) return
      yield* turns(1)
    }
    return yield* Effect.dieMessage(`still waiting for ${what} after ${limit} event-loop turns`)
  })

/** A clock pair: the TestClock at the wall clock, the emulator's `skewMs` behind it. */
export const clocks = (emulator: Emulator.EmulatorHandle, skewMs: number) => {
  const sync = Effect.flatMap(
    Clock.currentTimeMillis,
    (now) => Effect.sync(() => emulator.controls.setClockOffset(now - skewMs - Date.now()))
  )
  return {
    /** Sets the TestClock to the wall clock and the emulator `skewMs` behind. */
    start: Effect.zipRight(TestClock.setTime(Date.now()), sync),
    /** Advances the TestClock (the emulator follows), letting I/O run. */
    advance: (duration: Duration.DurationInput) =>
      Effect.zipRight(TestClock.adjust(duration), sync).pipe(Effect.zipRight(turns(2)))
  }
}
