import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Deadlines from "../../src/proxy/internal/deadlines.js"

/** Adjusts the TestClock and lets the deadlines fiber run. */
const advance = (millis: number) => Effect.zipRight(TestClock.adjust(millis), Effect.yieldNow())

describe("proxy deadlines (TestClock)", () => {
  it.scoped("a deadline fires once, at its time and not a millisecond before", () =>
    Effect.gen(function*() {
      const deadlines = yield* Deadlines.make
      const fired: Array<number> = []
      const d = deadlines.make(1_000, () => fired.push(1))
      d.start()
      yield* advance(999)
      expect(fired).toEqual([])
      yield* advance(1)
      expect(fired).toEqual([1])
      yield* advance(5_000)
      expect(fired).toEqual([1])
    }))

  it.scoped("restarting postpones it; cancelling stops it", () =>
    Effect.gen(function*() {
      const deadlines = yield* Deadlines.make
      const fired: Array<string> = []
      const idle = deadlines.make(1_000, () => fired.push("idle"))
      const cancelled = deadlines.make(1_000, () => fired.push("cancelled"))
      idle.start()
      cancelled.start()
      yield* advance(900)
      cancelled.cancel()
      for (let i = 0; i < 10; i++) {
        idle.start()
        yield* advance(900)
      }
      expect(fired).toEqual([])
      yield* advance(100)
      expect(fired).toEqual(["idle"])
    }))

  it.scoped("durations of several lengths, armed in any order, each fire at their own time", () =>
    Effect.gen(function*() {
      const deadlines = yield* Deadlines.make
      const fired: Array<string> = []
      const long = deadlines.make(300_000, () => fired.push("300 s"))
      long.start()
      // The fiber sleeps now; a shorter lane created later still fires on time.
      yield* advance(10_000)
      const short = deadlines.make(5_000, () => fired.push("5 s"))
      const middle = deadlines.make(120_000, () => fired.push("120 s"))
      middle.start()
      short.start()
      yield* advance(5_000)
      expect(fired).toEqual(["5 s"])
      yield* advance(115_000)
      expect(fired).toEqual(["5 s", "120 s"])
      yield* advance(169_999)
      expect(fired).toEqual(["5 s", "120 s"])
      yield* advance(1)
      expect(fired).toEqual(["5 s", "120 s", "300 s"])
    }))

  it.scoped("100 deadlines armed over time: each fires exactly once, in order, and none early", () =>
    Effect.gen(function*() {
      const deadlines = yield* Deadlines.make
      const fired: Array<number> = []
      for (let i = 0; i < 100; i++) {
        deadlines.make(2_000, () => fired.push(i)).start()
        yield* advance(10)
      }
      // The first was armed at 0 and the clock is at 1000.
      expect(fired).toEqual([])
      yield* advance(1_000)
      expect(fired).toEqual([0])
      yield* advance(989)
      expect(fired).toHaveLength(99)
      yield* advance(1)
      expect(fired).toEqual(Array.from({ length: 100 }, (_, i) => i))
    }))
})
