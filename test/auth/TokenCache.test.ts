import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as AuthToken from "../../src/auth/AuthToken.js"
import * as TokenCache from "../../src/auth/TokenCache.js"

// The cache's only dependency is the fetch effect it is handed; these tests hand it a
// counting source whose time is the TestClock. The wire is covered in AuthService.test.ts.

class SourceDown {
  readonly _tag = "SourceDown"
  constructor(readonly attempt: number) {}
}

interface SourceOptions {
  readonly lifetime?: Duration.DurationInput
  readonly latency?: Duration.DurationInput
  /** Like the metadata server: the same value until this long before expiry. */
  readonly reuseWindow?: Duration.DurationInput
}

const makeSource = (options: SourceOptions = {}) =>
  Effect.gen(function*() {
    const lifetime = Duration.toMillis(options.lifetime ?? Duration.hours(1))
    const fetches = yield* Ref.make(0)
    const failing = yield* Ref.make(false)
    const current = yield* Ref.make<AuthToken.AuthToken | undefined>(undefined)
    const fetch = Effect.gen(function*() {
      const n = yield* Ref.updateAndGet(fetches, (k) => k + 1)
      if (options.latency !== undefined) yield* Effect.sleep(options.latency)
      if (yield* Ref.get(failing)) return yield* Effect.fail(new SourceDown(n))
      const now = yield* Clock.currentTimeMillis
      const held = yield* Ref.get(current)
      if (
        options.reuseWindow !== undefined && held !== undefined &&
        held.expiresAt - now > Duration.toMillis(options.reuseWindow)
      ) return held
      const token = AuthToken.make("access", `token-${n}`, now + lifetime)
      yield* Ref.set(current, token)
      return token
    })
    return { fetch, fetches, failing }
  })

const valueOf = (token: AuthToken.AuthToken) => Redacted.value(token.value)

/** Has the fiber finished without the clock moving? (A caller that had to wait has not.) */
const finishedAtOnce = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 5; i++) yield* Effect.yieldNow()
    return Option.isSome(yield* Fiber.poll(fiber))
  })

describe("TokenCache", () => {
  it.scoped("1000 concurrent cold callers share one fetch and one value", () =>
    Effect.gen(function*() {
      const source = yield* makeSource({ latency: "200 millis" })
      const cache = yield* TokenCache.make<SourceDown>()
      const fiber = yield* Effect.fork(
        Effect.all(Array.from({ length: 1000 }, () => cache.get("k", () => source.fetch)), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("200 millis")
      const tokens = yield* Fiber.join(fiber)
      expect(yield* Ref.get(source.fetches)).toBe(1)
      expect(new Set(tokens.map(valueOf))).toEqual(new Set(["token-1"]))
      // A second key is a second entry with its own single fetch.
      const other = yield* Effect.fork(
        Effect.all(Array.from({ length: 100 }, () => cache.get("k2", () => source.fetch)), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("200 millis")
      yield* Fiber.join(other)
      expect(yield* Ref.get(source.fetches)).toBe(2)
    }))

  it.scoped("refreshes ahead of expiry across lifetimes: no caller ever waits after warm-up", () =>
    Effect.gen(function*() {
      const source = yield* makeSource({ latency: "2 seconds" })
      const cache = yield* TokenCache.make<SourceDown>({ margin: "60 seconds", refreshAhead: "4 minutes" })
      const first = yield* Effect.fork(cache.get("k", () => source.fetch))
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(first)
      const seen = new Set<string>()
      let waited = 0
      // Four hours of one call a minute: four lifetimes.
      for (let minute = 0; minute < 240; minute++) {
        yield* TestClock.adjust("1 minute")
        const caller = yield* Effect.fork(cache.get("k", () => source.fetch))
        if (!(yield* finishedAtOnce(caller))) waited++
        const token = yield* Fiber.join(caller)
        const now = yield* Clock.currentTimeMillis
        expect(token.expiresAt - now).toBeGreaterThan(60_000)
        seen.add(valueOf(token))
      }
      expect(waited).toBe(0)
      expect(seen.size).toBeGreaterThanOrEqual(4)
      // One fetch per lifetime (plus the first), not one per call.
      expect(yield* Ref.get(source.fetches)).toBeLessThanOrEqual(6)
    }))

  it.scoped("a refresh that returns the token already held is retried with backoff, not in a hot loop", () =>
    Effect.gen(function*() {
      const source = yield* makeSource({ reuseWindow: "5 minutes" })
      // Asks 8 minutes ahead: the first 3 minutes of refreshes come back with the old token.
      const cache = yield* TokenCache.make<SourceDown>({ refreshAhead: "8 minutes", retryMax: "60 seconds" })
      const first = yield* cache.get("k", () => source.fetch)
      expect(valueOf(first)).toBe("token-1")
      yield* TestClock.adjust("52 minutes")
      yield* TestClock.adjust("100 millis")
      expect(yield* Ref.get(source.fetches)).toBe(2) // the first refresh: stale
      for (let s = 0; s < 180; s++) {
        yield* TestClock.adjust("1 second")
        expect(valueOf(yield* cache.get("k", () => source.fetch))).toBe("token-1")
      }
      const duringWindow = yield* Ref.get(source.fetches)
      // Backoff 1, 2, 4, ... 60 s: a handful of tries in 3 minutes, not thousands.
      expect(duringWindow).toBeGreaterThan(3)
      expect(duringWindow).toBeLessThan(12)
      yield* TestClock.adjust("2 minutes")
      const fresh = yield* cache.get("k", () => source.fetch)
      expect(valueOf(fresh)).not.toBe("token-1")
      const now = yield* Clock.currentTimeMillis
      expect(fresh.expiresAt - now).toBeGreaterThan(50 * 60_000)
    }))

  it.scoped("never hands out a token with less than the margin left: the caller waits for the fetch", () =>
    Effect.gen(function*() {
      const source = yield* makeSource({ lifetime: "10 minutes", latency: "3 minutes" })
      const cache = yield* TokenCache.make<SourceDown>({ margin: "2 minutes", refreshAhead: "4 minutes" })
      const first = yield* Effect.fork(cache.get("k", () => source.fetch))
      yield* TestClock.adjust("3 minutes")
      expect(valueOf(yield* Fiber.join(first))).toBe("token-1") // expires at 13 min
      // The refresh starts at 9 min and takes 3 min; at 11:30 less than 2 min are left.
      yield* TestClock.adjust(Duration.seconds(8 * 60 + 30))
      const caller = yield* Effect.fork(cache.get("k", () => source.fetch))
      expect(yield* finishedAtOnce(caller)).toBe(false)
      yield* TestClock.adjust("30 seconds")
      const token = yield* Fiber.join(caller)
      expect(valueOf(token)).toBe("token-2")
      expect(token.expiresAt - (yield* Clock.currentTimeMillis)).toBe(10 * 60_000)
    }))

  it.scoped("failed refresh: serves the old token while usable, then the typed error, then recovers", () =>
    Effect.gen(function*() {
      const source = yield* makeSource({ lifetime: "1 hour" })
      const cache = yield* TokenCache.make<SourceDown>({ margin: "1 minute", refreshAhead: "10 minutes" })
      yield* cache.get("k", () => source.fetch)
      yield* Ref.set(source.failing, true)
      // Refreshes fail from 50 min on; the old token is served until 59 min.
      yield* TestClock.adjust("58 minutes")
      expect(valueOf(yield* cache.get("k", () => source.fetch))).toBe("token-1")
      const triesWhileValid = yield* Ref.get(source.fetches)
      expect(triesWhileValid).toBeGreaterThan(2)
      expect(triesWhileValid).toBeLessThan(20)
      yield* TestClock.adjust("90 seconds")
      const failed = yield* Effect.exit(cache.get("k", () => source.fetch))
      expect(Exit.isFailure(failed)).toBe(true)
      if (Exit.isFailure(failed)) {
        const error = failed.cause._tag === "Fail" ? failed.cause.error : undefined
        expect(error).toBeInstanceOf(SourceDown)
      }
      // Until the next backoff step is due, callers get the failure at once (no fetch).
      yield* Ref.set(source.failing, false)
      const fetchesAfterFailure = yield* Ref.get(source.fetches)
      const fastFailed = yield* Effect.exit(cache.get("k", () => source.fetch))
      expect(Exit.isFailure(fastFailed)).toBe(true)
      expect(yield* Ref.get(source.fetches)).toBe(fetchesAfterFailure)
      // The source is back: once the step (at most retryMax) passed, the next caller gets a fresh token.
      yield* TestClock.adjust("60 seconds")
      const recovered = yield* cache.get("k", () => source.fetch)
      expect(valueOf(recovered)).toMatch(/^token-\d+$/)
      expect(valueOf(recovered)).not.toBe("token-1")
    }))

  it.scoped("invalidate drops the rejected token only", () =>
    Effect.gen(function*() {
      const source = yield* makeSource()
      const cache = yield* TokenCache.make<SourceDown>()
      const first = yield* cache.get("k", () => source.fetch)
      yield* cache.invalidate("k", first)
      const second = yield* cache.get("k", () => source.fetch)
      expect(valueOf(second)).toBe("token-2")
      // A caller still holding the first token does not throw away the second.
      yield* cache.invalidate("k", first)
      expect(valueOf(yield* cache.get("k", () => source.fetch))).toBe("token-2")
      expect(yield* Ref.get(source.fetches)).toBe(2)
    }))

  it.scoped("an idle entry stops refreshing and is dropped", () =>
    Effect.gen(function*() {
      const source = yield* makeSource({ lifetime: "10 minutes" })
      const cache = yield* TokenCache.make<SourceDown>({ idleTimeout: "15 minutes", refreshAhead: "2 minutes" })
      yield* cache.get("k", () => source.fetch)
      yield* TestClock.adjust("30 minutes")
      const afterIdle = yield* Ref.get(source.fetches)
      expect(afterIdle).toBeLessThanOrEqual(3)
      expect(yield* cache.size).toBe(0)
      yield* TestClock.adjust("5 hours")
      expect(yield* Ref.get(source.fetches)).toBe(afterIdle)
    }))

  it.scoped("keeps at most maxEntries, dropping the least recently used", () =>
    Effect.gen(function*() {
      const source = yield* makeSource()
      const cache = yield* TokenCache.make<SourceDown>({ maxEntries: 2 })
      yield* cache.get("a", () => source.fetch)
      yield* TestClock.adjust("1 second")
      yield* cache.get("b", () => source.fetch)
      yield* TestClock.adjust("1 second")
      yield* cache.get("a", () => source.fetch)
      yield* cache.get("c", () => source.fetch)
      expect(yield* cache.size).toBe(2)
      const fetchesBefore = yield* Ref.get(source.fetches)
      yield* cache.get("a", () => source.fetch) // still cached
      expect(yield* Ref.get(source.fetches)).toBe(fetchesBefore)
      yield* cache.get("b", () => source.fetch) // was dropped: fetched again
      expect(yield* Ref.get(source.fetches)).toBe(fetchesBefore + 1)
    }))

  it.effect("closing the scope interrupts every refresh fiber", () =>
    Effect.gen(function*() {
      const source = yield* makeSource({ lifetime: "10 minutes" })
      const scope = yield* Scope.make()
      const cache = yield* Scope.extend(TokenCache.make<SourceDown>(), scope)
      yield* cache.get("a", () => source.fetch)
      yield* cache.get("b", () => source.fetch)
      yield* TestClock.adjust("10 minutes")
      const before = yield* Ref.get(source.fetches)
      expect(before).toBe(4)
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("5 hours")
      expect(yield* Ref.get(source.fetches)).toBe(before)
    }))
})
