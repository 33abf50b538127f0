/** Helpers the model tests share (time with the TestClock while real loopback I/O runs). */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"

/** One turn of Node's event loop, so that loopback I/O can progress. */
export const tick = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/**
 * Let real I/O run until `requests` attempts reached the emulator and the retry
 * schedule registered a sleep with the TestClock that wakes `within` ms from now
 * (exactly `exactly` ms, when given). Other sleeps (per-attempt timeouts, the token
 * cache's fibers) wake later or at other times.
 */
export const awaitRetrySleep = (
  requests: () => number,
  count: number,
  wake: { readonly exactly?: number; readonly within?: number }
) =>
  Effect.gen(function*() {
    for (let i = 0; i < 20_000; i++) {
      if (requests() >= count) {
        const now = yield* Clock.currentTimeMillis
        const sleeps = yield* TestClock.sleeps()
        const found = Chunk.some(sleeps, (at) =>
          wake.exactly !== undefined ? at - now === wake.exactly : at - now <= (wake.within ?? 5_000))
        if (found) return
      }
      yield* tick
    }
    return yield* Effect.dieMessage(`no retry sleep was scheduled after ${count} attempt(s)`)
  })
