/**
 * The token cache: one entry per key, filled by exactly one fetch however many callers
 * arrive cold, and kept fresh by a background fiber so that after warm-up no caller
 * waits for a token.
 *
 * Rules, per entry:
 * - a caller gets the current token only while more than `margin` of it is left;
 *   otherwise it waits for the fetch in flight (starting one at once if the entry is
 *   backing off after a failure);
 * - the fiber refreshes `refreshAhead` before expiry (at most half the lifetime);
 * - a refresh that returns the value already held (the metadata server does this until
 *   about 5 minutes before expiry) is no refresh: it is retried with backoff;
 * - a failed refresh keeps the old token while it is usable and retries with
 *   exponential backoff and jitter; once no usable token is left, waiting callers get
 *   the failure, and the next caller triggers a new attempt;
 * - an entry nobody asked for during `idleTimeout` stops at its next wake-up and is
 *   dropped; beyond `maxEntries` the least recently used entry is dropped;
 * - closing the cache's scope interrupts every fiber.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as FiberMap from "effect/FiberMap"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import * as AuthToken from "./AuthToken.js"

/**
 * Tuning of the cache. Every field has a default.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** A caller never receives a token with less than this left. Default 60 seconds. */
  readonly margin?: Duration.DurationInput | undefined
  /** Refresh this long before expiry (capped at half the token's lifetime). Default 4 minutes. */
  readonly refreshAhead?: Duration.DurationInput | undefined
  /** Stop refreshing and drop an entry nobody asked for during this long (checked when it wakes up to refresh). Default 2 hours. */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /** At most this many entries; the least recently used goes first. Default 256. */
  readonly maxEntries?: number | undefined
  /** First retry delay after a failed or stale refresh. Default 1 second. */
  readonly retryInitial?: Duration.DurationInput | undefined
  /** Longest retry delay. Default 60 seconds. */
  readonly retryMax?: Duration.DurationInput | undefined
}

/**
 * A running cache whose entries fail with `E`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface TokenCache<E> {
  /**
   * The token for `key`. `fetch` is called once, when the entry is created (it must
   * fetch the same thing for the same key).
   */
  readonly get: (key: string, fetch: () => Effect.Effect<AuthToken.AuthToken, E>) => Effect.Effect<AuthToken.AuthToken, E>
  /**
   * The token for `key` if one with more than the margin left is cached, without
   * waiting or fetching: the synchronous fast path behind `get`.
   */
  readonly peek: (key: string) => AuthToken.AuthToken | undefined
  /**
   * Drops the token of `key` after a server rejected it, and starts a new fetch. With
   * `rejected`, only if that is still the token held (a caller holding an older token
   * does not throw away a newer one).
   */
  readonly invalidate: (key: string, rejected?: AuthToken.AuthToken) => Effect.Effect<void>
  /** Number of entries. */
  readonly size: Effect.Effect<number>
}

/**
 * The cache's metrics: fetches, refresh failures, stale refreshes, cache hits, callers
 * that waited for a fetch, evictions. No token value is ever in them.
 *
 * @since 0.1.0
 * @category Metrics
 */
export const metrics = {
  fetches: Metric.counter("effect_adc_token_fetches", { description: "token fetches completed" }),
  fetchFailures: Metric.counter("effect_adc_token_fetch_failures", { description: "failed token fetches" }),
  staleRefreshes: Metric.counter("effect_adc_token_stale_refreshes", {
    description: "refreshes that returned the token already held"
  }),
  hits: Metric.counter("effect_adc_token_cache_hits", { description: "callers served from the cache" }),
  waits: Metric.counter("effect_adc_token_cache_waits", { description: "callers that waited for a fetch" }),
  evictions: Metric.counter("effect_adc_token_cache_evictions", { description: "entries dropped" })
} as const
const { evictions, fetchFailures, fetches, hits, staleRefreshes, waits } = metrics
const noTags: ReadonlyArray<never> = []

interface Entry<E> {
  readonly key: string
  readonly kind: string
  readonly fetch: Effect.Effect<AuthToken.AuthToken, E>
  token: AuthToken.AuthToken | undefined
  /** Completed with the next token published, or failed when a fetch fails with no usable token. */
  waiters: Deferred.Deferred<AuthToken.AuthToken, E>
  /** Completed to cut a backoff or refresh sleep short. */
  wake: Deferred.Deferred<void>
  fetching: boolean
  lastUsed: number
}

class Stale {
  readonly _tag = "Stale"
}

/**
 * Starts a cache in the current scope.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = <E>(options: Options = {}): Effect.Effect<TokenCache<E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const margin = Duration.toMillis(options.margin ?? Duration.seconds(60))
    const refreshAhead = Duration.toMillis(options.refreshAhead ?? Duration.minutes(4))
    const idleTimeout = Duration.toMillis(options.idleTimeout ?? Duration.hours(2))
    const maxEntries = Math.max(1, options.maxEntries ?? 256)
    const retryInitial = Duration.toMillis(options.retryInitial ?? Duration.seconds(1))
    const retryMax = Duration.toMillis(options.retryMax ?? Duration.seconds(60))

    const entries = new Map<string, Entry<E>>()
    // Read synchronously on the hot path; under TestClock this is the test's clock.
    const clock = yield* Effect.clock
    const fibers = yield* FiberMap.make<string, void>()

    const usable = (token: AuthToken.AuthToken | undefined, now: number): token is AuthToken.AuthToken =>
      token !== undefined && AuthToken.remainingMillis(token, now) > margin

    /** When to refresh a token received at `now`. */
    const refreshDelay = (token: AuthToken.AuthToken, now: number): number => {
      const lifetime = AuthToken.remainingMillis(token, now)
      const lead = Math.max(Math.min(refreshAhead, lifetime / 2), margin + retryInitial)
      return Math.max(0, lifetime - lead)
    }

    /** Exponential backoff with full jitter between 50% and 100% of the step. */
    const backoff = (failures: number) =>
      Effect.map(Random.nextRange(0.5, 1), (j) => Math.round(Math.min(retryMax, retryInitial * 2 ** (failures - 1)) * j))

    const sleepOrWake = (entry: Entry<E>, millis: number) =>
      Effect.raceFirst(Effect.sleep(Duration.millis(millis)), Deferred.await(entry.wake))

    const attempt = (entry: Entry<E>) =>
      Effect.flatMap(entry.fetch, (token) =>
        entry.token !== undefined && AuthToken.sameValue(entry.token, token)
          ? Effect.fail(new Stale())
          : Effect.succeed(token)).pipe(
          Effect.zipLeft(Metric.increment(fetches)),
          Effect.withSpan("effect-adc/TokenCache.fetch", { attributes: { kind: entry.kind } })
        )

    /** Completes the current waiters and arms a fresh deferred for the next ones. */
    const settle = (entry: Entry<E>, exit: Exit.Exit<AuthToken.AuthToken, E>) => {
      const waiters = entry.waiters
      entry.waiters = Deferred.unsafeMake(FiberId.none)
      Deferred.unsafeDone(waiters, exit)
    }

    const drop = (entry: Entry<E>) =>
      Effect.suspend(() => {
        if (entries.get(entry.key) === entry) entries.delete(entry.key)
        return Metric.increment(evictions)
      })

    const loop = (entry: Entry<E>): Effect.Effect<void> =>
      Effect.gen(function*() {
        let failures = 0
        while (true) {
          entry.fetching = true
          const exit = yield* Effect.exit(attempt(entry))
          entry.fetching = false
          entry.wake = Deferred.unsafeMake(FiberId.none)
          const now = yield* Clock.currentTimeMillis
          let delay: number
          if (Exit.isSuccess(exit) && usable(exit.value, now)) {
            failures = 0
            entry.token = exit.value
            settle(entry, Exit.succeed(exit.value))
            delay = refreshDelay(exit.value, now)
          } else {
            // A failure, a stale refresh, or a token shorter-lived than the margin.
            failures++
            const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
            if (Option.isSome(failure) && failure.value instanceof Stale) {
              yield* Metric.increment(staleRefreshes)
            } else {
              yield* Metric.increment(fetchFailures)
              if (!usable(entry.token, now) && Exit.isFailure(exit)) {
                entry.token = undefined
                settle(entry, exit as Exit.Exit<never, E>)
              }
            }
            delay = yield* backoff(failures)
            if (entry.token !== undefined) {
              // Never sleep past the moment the held token stops being usable.
              delay = Math.min(delay, Math.max(0, AuthToken.remainingMillis(entry.token, now) - margin))
            }
          }
          yield* sleepOrWake(entry, delay)
          const after = yield* Clock.currentTimeMillis
          if (after - entry.lastUsed >= idleTimeout) {
            return yield* drop(entry)
          }
        }
      }).pipe(
        // Scope closed or entry evicted: nobody may be left waiting forever.
        Effect.onInterrupt((fiberIds) => Effect.sync(() => settle(entry, Exit.interrupt(FiberId.combineAll(fiberIds)))))
      )

    /** Drops the least recently used entry that nobody is waiting on. */
    const evictLeastRecentlyUsed = Effect.suspend(() => {
      let oldest: Entry<E> | undefined
      for (const entry of entries.values()) {
        if (entry.fetching && entry.token === undefined) continue
        if (oldest === undefined || entry.lastUsed < oldest.lastUsed) oldest = entry
      }
      if (oldest === undefined) return Effect.void
      entries.delete(oldest.key)
      return FiberMap.remove(fibers, oldest.key).pipe(Effect.zipRight(Metric.increment(evictions)))
    })

    const peek = (key: string): AuthToken.AuthToken | undefined => {
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      const now = clock.unsafeCurrentTimeMillis()
      entry.lastUsed = now
      const token = entry.token
      if (!usable(token, now)) return undefined
      hits.unsafeUpdate(1, noTags)
      return token
    }

    const get = (key: string, fetch: () => Effect.Effect<AuthToken.AuthToken, E>) =>
      Effect.suspend(() => {
        const cached = peek(key)
        if (cached !== undefined) return Effect.succeed(cached)
        waits.unsafeUpdate(1, noTags)
        const now = clock.unsafeCurrentTimeMillis()
        const existing = entries.get(key)
        if (existing !== undefined) {
          if (!existing.fetching) Deferred.unsafeDone(existing.wake, Exit.void)
          return Deferred.await(existing.waiters)
        }
        // Check and insert in one synchronous step: concurrent cold callers share this entry.
        const entry: Entry<E> = {
          key,
          kind: key.split("\u0000")[0] ?? "",
          fetch: fetch(),
          token: undefined,
          waiters: Deferred.unsafeMake(FiberId.none),
          wake: Deferred.unsafeMake(FiberId.none),
          fetching: true,
          lastUsed: now
        }
        entries.set(key, entry)
        const waiters = entry.waiters
        return Effect.all([
          entries.size > maxEntries ? evictLeastRecentlyUsed : Effect.void,
          FiberMap.run(fibers, key, loop(entry))
        ], { discard: true }).pipe(Effect.zipRight(Deferred.await(waiters)))
      })

    const invalidate = (key: string, rejected?: AuthToken.AuthToken) =>
      Effect.sync(() => {
        const entry = entries.get(key)
        if (entry === undefined || entry.token === undefined) return
        if (rejected !== undefined && !AuthToken.sameValue(entry.token, rejected)) return
        entry.token = undefined
        if (!entry.fetching) Deferred.unsafeDone(entry.wake, Exit.void)
      })

    return {
      get,
      peek,
      invalidate,
      size: Effect.sync(() => entries.size)
    } satisfies TokenCache<E>
  })
