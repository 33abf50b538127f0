/**
 * The token cache: one entry per key, filled by exactly one fetch however many callers
 * arrive cold, and kept fresh by a background fiber so that after warm-up no caller
 * waits for a token.
 *
 * Rules, per entry:
 * - a token's expiry is its `expiresAt`, but never later than its issued lifetime
 *   (`expiresAt - issuedAt`, when known) from receipt: a clock running behind the
 *   issuer's does not stretch it;
 * - a caller gets the current token only while more than its margin is left: the
 *   configured `margin`, or a quarter of the token's lifetime at receipt when that is
 *   smaller (a 30-second token is used with a 7.5-second margin, not refused);
 * - a token that arrives with less than `minLifetime` left (already expired, or a clock
 *   far ahead of the issuer's) is refused: the callers waiting for it fail at once with
 *   `TokenTooShortLived`;
 * - the fiber refreshes `refreshAhead` before expiry, never before half the token's
 *   remaining life (so successful fetches are at most one per `minLifetime / 2`);
 * - a refresh that returns the value already held (the metadata server does this until
 *   about 5 minutes before expiry) is no refresh: it is retried with backoff;
 * - a failed refresh keeps the old token while it is usable and retries with
 *   exponential backoff and jitter (`retryInitial`, doubling, up to `retryMax`); once no
 *   usable token is left, waiting callers get the failure, and until the next step of
 *   the backoff is due every new caller gets that failure at once (no caller waits, and
 *   callers never speed up the fetch rate);
 * - an entry nobody asked for during `idleTimeout` stops at its next wake-up and is
 *   dropped; beyond `maxEntries` the least recently used entry is dropped;
 * - a waiting caller that is interrupted (AbortSignal, timeout) stops waiting; when the
 *   last one leaves an entry that holds no token, its fetch is interrupted (the request
 *   aborted) and the entry dropped;
 * - closing the cache's scope interrupts every fiber; callers waiting then, and every
 *   later call, fail with `AuthServiceClosed`;
 * - one clock for all of it: the fetch fibers run in the runtime that made the cache
 *   (its clock, logger, tracer), never in their first caller's, so callers from another
 *   runtime or under a TestClock neither date its tokens nor hold its timers.
 *
 * So every caller settles: with a token, the fetch's failure, `TokenTooShortLived` or
 * `AuthServiceClosed`. Per entry the fetches are bounded: while the source fails or
 * hands out unusable tokens, one per backoff step (1, 2, 4, … 60 s by default), however
 * many callers ask.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as FiberMap from "effect/FiberMap"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import { AuthServiceClosed, TokenTooShortLived } from "./AuthError.js"
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
  /**
   * A token that arrives with less than this left is refused with `TokenTooShortLived`.
   * Default the smaller of 10 seconds and the margin.
   */
  readonly minLifetime?: Duration.DurationInput | undefined
}

/**
 * What the cache itself can fail with, besides the fetch's own errors.
 *
 * @since 0.2.0
 * @category Errors
 */
export type TokenCacheError = TokenTooShortLived | AuthServiceClosed

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
  readonly get: (
    key: string,
    fetch: () => Effect.Effect<AuthToken.AuthToken, E>
  ) => Effect.Effect<AuthToken.AuthToken, E | TokenCacheError>
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
  /** The margin of the held token: the configured one, or a quarter of its lifetime at receipt. */
  tokenMargin: number
  /** Completed with the next token published, or failed when no usable token is left. */
  waiters: Deferred.Deferred<AuthToken.AuthToken, E | TokenCacheError>
  /** Completed to cut a backoff or refresh sleep short. */
  wake: Deferred.Deferred<void>
  fetching: boolean
  /** Callers waiting on `waiters`. */
  waiting: number
  lastUsed: number
  /** Failed attempts in a row. */
  failures: number
  /** When the last attempt ended. */
  attemptEndedAt: number
  /** The failure callers get while no usable token is held and the next attempt is not due. */
  lastFailure: Exit.Exit<never, E | TokenCacheError> | undefined
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
    const retryInitial = Math.max(1, Duration.toMillis(options.retryInitial ?? Duration.seconds(1)))
    const retryMax = Math.max(retryInitial, Duration.toMillis(options.retryMax ?? Duration.seconds(60)))
    const minLifetime = Math.max(
      1,
      options.minLifetime === undefined ? Math.min(10_000, margin) : Duration.toMillis(options.minLifetime)
    )

    const entries = new Map<string, Entry<E>>()
    // One clock for everything the cache measures: the one of the runtime that made it
    // (under TestClock, the test's). Read synchronously on the hot path.
    const clock = yield* Effect.clock
    const fibers = yield* FiberMap.make<string, void>()
    // The loops run in the cache's own runtime, never in their first caller's: a loop
    // outlives that caller, and on its clock (another runtime's, a TestClock) the loop
    // would date tokens and sleep by a time `peek` does not read, so callers could wait
    // forever. Default runtime flags (the maker may run uninterruptibly, as a layer
    // does), and no parent span (a background refresh belongs to no caller's trace).
    const own = yield* Effect.runtime<never>()
    const forkLoop = Runtime.runFork(Runtime.make({
      context: Context.omit(Tracer.ParentSpan)(own.context),
      fiberRefs: own.fiberRefs,
      runtimeFlags: Runtime.defaultRuntime.runtimeFlags
    }))
    let closed = false
    // Runs before the FiberMap's finalizer (finalizers run in reverse order): the loops
    // interrupted next see `closed` and fail their waiters with AuthServiceClosed.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
      })
    )

    const closedError = (kind: string) => new AuthServiceClosed({ operation: `TokenCache.get (${kind} token)` })

    const usable = (entry: Entry<E>, now: number): boolean =>
      entry.token !== undefined && AuthToken.remainingMillis(entry.token, now) > entry.tokenMargin

    /** The margin of a token with `lifetime` left at receipt. */
    const marginFor = (lifetime: number): number => Math.min(margin, lifetime / 4)

    /** When to refresh a token with `lifetime` left at receipt and margin `tokenMargin`. */
    const refreshDelay = (lifetime: number, tokenMargin: number): number => {
      const lead = Math.max(Math.min(refreshAhead, lifetime / 2), tokenMargin + retryInitial)
      // Never before half the remaining life: at most one successful fetch per minLifetime / 2.
      return Math.max(lifetime - lead, lifetime / 2)
    }

    /** The nominal backoff step after `failures` failures in a row. */
    const step = (failures: number) => Math.min(retryMax, retryInitial * 2 ** Math.max(0, failures - 1))

    /** Exponential backoff with full jitter between 50% and 100% of the step. */
    const backoff = (failures: number) => Effect.map(Random.nextRange(0.5, 1), (j) => Math.round(step(failures) * j))

    const sleepOrWake = (entry: Entry<E>, millis: number) =>
      Effect.raceFirst(Effect.sleep(Duration.millis(millis)), Deferred.await(entry.wake))

    /**
     * One fetch, in its span. The first fetch of an entry is a child of the span of the
     * caller that found the cache cold (that caller waits for it: a model call's trace
     * shows its token fetch); refreshes belong to no caller's trace.
     */
    const attempt = (entry: Entry<E>, parent: Tracer.AnySpan | undefined) =>
      entry.fetch.pipe(Effect.withSpan("effect-adc/TokenCache.fetch", { attributes: { kind: entry.kind }, parent }))

    const tooShortLived = (token: AuthToken.AuthToken, remaining: number) =>
      new TokenTooShortLived({
        kind: token.kind,
        remainingMillis: remaining,
        minimumMillis: minLifetime,
        ...(token.issuedAt === undefined ? {} : { issuedLifetimeMillis: token.expiresAt - token.issuedAt })
      })

    /**
     * A token never lives longer than its issuer gave it (`exp - iat`): on a machine
     * whose clock runs behind, `exp` alone would make it look valid past its end.
     */
    const issuedLifetimeBound = (token: AuthToken.AuthToken, now: number): AuthToken.AuthToken =>
      token.issuedAt !== undefined && token.expiresAt - token.issuedAt < token.expiresAt - now
        ? { ...token, expiresAt: now + Math.max(0, token.expiresAt - token.issuedAt) }
        : token

    /** Completes the current waiters and arms a fresh deferred for the next ones. */
    const settle = (entry: Entry<E>, exit: Exit.Exit<AuthToken.AuthToken, E | TokenCacheError>) => {
      const waiters = entry.waiters
      entry.waiters = Deferred.unsafeMake(FiberId.none)
      Deferred.unsafeDone(waiters, exit)
    }

    const drop = (entry: Entry<E>) =>
      Effect.suspend(() => {
        if (entries.get(entry.key) === entry) entries.delete(entry.key)
        return Metric.increment(evictions)
      })

    const loop = (entry: Entry<E>, coldCaller: Tracer.AnySpan | undefined): Effect.Effect<void> =>
      Effect.gen(function*() {
        let parent = coldCaller
        while (true) {
          entry.fetching = true
          const exit = yield* Effect.exit(attempt(entry, parent))
          parent = undefined
          entry.fetching = false
          entry.wake = Deferred.unsafeMake(FiberId.none)
          const now = yield* Clock.currentTimeMillis
          entry.attemptEndedAt = now
          let failed: Exit.Exit<never, E | TokenCacheError> | undefined
          let stale = false
          if (Exit.isSuccess(exit)) {
            const token = issuedLifetimeBound(exit.value, now)
            const remaining = AuthToken.remainingMillis(token, now)
            if (entry.token !== undefined && AuthToken.sameValue(entry.token, token)) stale = true
            else if (remaining < minLifetime) failed = Exit.fail(tooShortLived(token, remaining))
            else {
              entry.failures = 0
              entry.token = token
              entry.tokenMargin = marginFor(remaining)
              entry.lastFailure = undefined
              yield* Metric.increment(fetches)
              settle(entry, Exit.succeed(token))
              yield* sleepOrWake(entry, refreshDelay(remaining, entry.tokenMargin))
              if ((yield* Clock.currentTimeMillis) - entry.lastUsed >= idleTimeout) return yield* drop(entry)
              continue
            }
          } else {
            failed = Exit.failCause(exit.cause)
          }
          // A failure, a stale refresh, or a token with too little life.
          entry.failures++
          yield* Metric.increment(stale ? staleRefreshes : fetchFailures)
          if (!usable(entry, now)) {
            // Nothing usable is left: whoever waits gets the failure now.
            const outcome = failed ??
              Exit.fail(tooShortLived(entry.token!, AuthToken.remainingMillis(entry.token!, now)))
            entry.token = undefined
            entry.lastFailure = outcome
            settle(entry, outcome)
          }
          let delay = yield* backoff(entry.failures)
          if (entry.token !== undefined) {
            // Never sleep past the moment the held token stops being usable.
            delay = Math.min(delay, Math.max(0, AuthToken.remainingMillis(entry.token, now) - entry.tokenMargin))
          }
          yield* sleepOrWake(entry, delay)
          if ((yield* Clock.currentTimeMillis) - entry.lastUsed >= idleTimeout) return yield* drop(entry)
        }
      }).pipe(
        // Scope closed or entry evicted: nobody may be left waiting forever.
        Effect.onInterrupt((fiberIds) =>
          Effect.sync(() =>
            settle(
              entry,
              closed ? Exit.fail(closedError(entry.kind)) : Exit.interrupt(FiberId.combineAll(fiberIds))
            )
          )
        )
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
      if (closed) return undefined
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      const now = clock.unsafeCurrentTimeMillis()
      entry.lastUsed = now
      if (!usable(entry, now)) return undefined
      hits.unsafeUpdate(1, noTags)
      return entry.token
    }

    /**
     * Waits for the entry's next token. A caller that is interrupted (an AbortSignal, a
     * timeout) stops waiting; if it was the last one and no token is held, the fetch
     * itself is interrupted (its request aborted, its socket closed) and the entry dropped.
     */
    const awaitToken = (entry: Entry<E>, waiters: Entry<E>["waiters"]) =>
      Effect.suspend(() => {
        entry.waiting++
        return Deferred.await(waiters).pipe(
          Effect.onExit((exit) =>
            Effect.suspend(() => {
              entry.waiting--
              const abandoned = Exit.isInterrupted(exit) && entry.waiting === 0 && entry.token === undefined &&
                entry.fetching && !closed && entries.get(entry.key) === entry
              if (!abandoned) return Effect.void
              entries.delete(entry.key)
              return FiberMap.remove(fibers, entry.key)
            })
          )
        )
      })

    const get = (key: string, fetch: () => Effect.Effect<AuthToken.AuthToken, E>) =>
      Effect.suspend((): Effect.Effect<AuthToken.AuthToken, E | TokenCacheError> => {
        const cached = peek(key)
        if (cached !== undefined) return Effect.succeed(cached)
        const kind = key.split("\u0000")[0] ?? ""
        if (closed) return Effect.fail(closedError(kind))
        const now = clock.unsafeCurrentTimeMillis()
        const existing = entries.get(key)
        if (existing !== undefined) {
          if (!existing.fetching) {
            // Backing off after a failure: the failure, at once, until the next step is due.
            if (existing.lastFailure !== undefined && now - existing.attemptEndedAt < step(existing.failures)) {
              return existing.lastFailure
            }
            Deferred.unsafeDone(existing.wake, Exit.void)
          }
          waits.unsafeUpdate(1, noTags)
          return awaitToken(existing, existing.waiters)
        }
        waits.unsafeUpdate(1, noTags)
        // Check and insert in one synchronous step: concurrent cold callers share this entry.
        const entry: Entry<E> = {
          key,
          kind,
          fetch: fetch(),
          token: undefined,
          tokenMargin: margin,
          waiters: Deferred.unsafeMake(FiberId.none),
          wake: Deferred.unsafeMake(FiberId.none),
          fetching: true,
          waiting: 0,
          lastUsed: now,
          failures: 0,
          attemptEndedAt: now,
          lastFailure: undefined
        }
        entries.set(key, entry)
        // Taken now: a fetch that answers at once replaces `entry.waiters` before we wait.
        const waiters = entry.waiters
        return Effect.all([
          entries.size > maxEntries ? evictLeastRecentlyUsed : Effect.void,
          Effect.flatMap(
            Effect.serviceOption(Tracer.ParentSpan),
            (caller) =>
              Effect.sync(() => FiberMap.unsafeSet(fibers, key, forkLoop(loop(entry, Option.getOrUndefined(caller)))))
          )
        ], { discard: true }).pipe(Effect.zipRight(awaitToken(entry, waiters)))
      })

    const invalidate = (key: string, rejected?: AuthToken.AuthToken) =>
      Effect.sync(() => {
        const entry = entries.get(key)
        if (entry === undefined || entry.token === undefined) return
        if (rejected !== undefined && !AuthToken.sameValue(entry.token, rejected)) return
        entry.token = undefined
        entry.lastFailure = undefined
        if (!entry.fetching) Deferred.unsafeDone(entry.wake, Exit.void)
      })

    return {
      get,
      peek,
      invalidate,
      size: Effect.sync(() => entries.size)
    } satisfies TokenCache<E>
  })
