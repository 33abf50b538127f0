/**
 * The per-process store of ModelLimits: cooldowns, token buckets and circuit-breaker
 * state in Maps, timed by the Effect `Clock` (so the TestClock drives it). It is the
 * default store, and the one the Redis store falls back to while Redis is unreachable.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as ModelLimits from "../ModelLimits.js"

interface Bucket {
  tokens: number
  at: number
}

interface Breaker {
  failures: number
  failuresUntil: number
  openUntil: number
  halfOpenUntil: number
  probeUntil: number
}

/** @internal */
export const makeMemoryStore = (): ModelLimits.Store => {
  const cooldowns = new Map<string, number>()
  const buckets = new Map<string, Bucket>()
  const breakers = new Map<string, Breaker>()

  const breakerOf = (key: string): Breaker => {
    let breaker = breakers.get(key)
    if (breaker === undefined) {
      breaker = { failures: 0, failuresUntil: 0, openUntil: 0, halfOpenUntil: 0, probeUntil: 0 }
      breakers.set(key, breaker)
    }
    return breaker
  }

  /** The bucket refilled up to `now` (`limit` per `windowMillis`, starting full). */
  const bucketOf = (key: string, limit: number, windowMillis: number, now: number): Bucket => {
    let bucket = buckets.get(key)
    if (bucket === undefined) {
      bucket = { tokens: limit, at: now }
      buckets.set(key, bucket)
    }
    bucket.tokens = Math.min(limit, bucket.tokens + (now - bucket.at) * limit / windowMillis)
    bucket.at = now
    return bucket
  }
  const deficitMillis = (bucket: Bucket, limit: number, windowMillis: number) =>
    bucket.tokens >= 0 ? 0 : Math.ceil(-bucket.tokens * windowMillis / limit)

  const cooldownLeft = (key: string, now: number) => Math.max(0, (cooldowns.get(key) ?? 0) - now)

  const open = (breaker: Breaker, settings: ModelLimits.BreakerSettings, now: number) => {
    breaker.openUntil = now + settings.openMillis
    breaker.halfOpenUntil = breaker.openUntil + settings.halfOpenMillis
    breaker.failures = 0
    breaker.probeUntil = 0
  }

  return {
    state: (key) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const breaker = breakers.get(key)
        return {
          cooldownMillis: cooldownLeft(key, now),
          openMillis: breaker === undefined ? 0 : Math.max(0, breaker.openUntil - now),
          halfOpen: breaker !== undefined && breaker.openUntil <= now && breaker.halfOpenUntil > now,
          failures: breaker === undefined || breaker.failuresUntil <= now ? 0 : breaker.failures
        }
      }),
    cooldown: (key) => Effect.map(Clock.currentTimeMillis, (now) => cooldownLeft(key, now)),
    setCooldown: (key, millis) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        cooldowns.set(key, Math.max(cooldowns.get(key) ?? 0, now + millis))
      }),
    takeRequest: (key, limit, windowMillis) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const bucket = bucketOf(key, limit, windowMillis, now)
        bucket.tokens -= 1
        return deficitMillis(bucket, limit, windowMillis)
      }),
    tokenWait: (key, limit, windowMillis) =>
      Effect.map(
        Clock.currentTimeMillis,
        (now) => deficitMillis(bucketOf(key, limit, windowMillis, now), limit, windowMillis)
      ),
    chargeTokens: (key, tokens, limit, windowMillis) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        bucketOf(key, limit, windowMillis, now).tokens -= tokens
      }),
    tryProbe: (key, millis) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const breaker = breakerOf(key)
        if (breaker.probeUntil > now) return false
        breaker.probeUntil = now + millis
        return true
      }),
    recordSuccess: (key) =>
      Effect.sync(() => {
        breakers.delete(key)
      }),
    recordFailure: (key, settings, probe) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const breaker = breakerOf(key)
        if (probe) return open(breaker, settings, now)
        breaker.failures = breaker.failuresUntil > now ? breaker.failures + 1 : 1
        breaker.failuresUntil = now + settings.failureWindowMillis
        if (breaker.failures >= settings.failures) open(breaker, settings, now)
      })
  }
}
