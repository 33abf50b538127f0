/**
 * ModelLimits shared by every replica through Redis (`effect-adc/limits/redis`): the
 * request and token rates go through `@effect/experimental`'s `RateLimiter` on its
 * Redis store (token buckets in Lua), the cooldowns and circuit-breaker state are
 * plain keys with a TTL written with `ioredis`. Both packages are optional peers of
 * effect-adc: only this entry point imports them.
 *
 * Redis never blocks or fails a model call: commands have short connect and command
 * timeouts, no offline queue, and while Redis is unreachable every operation answers
 * from a per-process store (the `layerMemory` behaviour), with one warning log per
 * outage and an info log when Redis is back.
 *
 * @since 0.2.0
 */
import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as RedisRateLimiter from "@effect/experimental/RateLimiter/Redis"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import type { RedisOptions } from "ioredis"
import { Redis } from "ioredis"
import { makeMemoryStore } from "./internal/limitsMemory.js"
import * as ModelLimits from "./ModelLimits.js"

/**
 * @since 0.2.0
 * @category Models
 */
export interface Options extends ModelLimits.Options {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS (Memorystore with in-transit encryption). */
  readonly url: string
  /** Prefix of every key written; default `effect-adc:`. */
  readonly prefix?: string | undefined
  /** The longest wait for a connection; default 1 second. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** The longest wait for one command; default 250 milliseconds. */
  readonly commandTimeout?: Duration.DurationInput | undefined
}

/** Connection options from a URL (credentials never leave this object). */
const connection = (url: string): RedisOptions => {
  const parsed = new URL(url)
  const db = Number(parsed.pathname.replace(/^\//, "") || "0")
  return {
    host: parsed.hostname,
    port: Number(parsed.port || "6379"),
    db: Number.isInteger(db) ? db : 0,
    ...(parsed.username === "" ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === "" ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(parsed.protocol === "rediss:" ? { tls: {} } : {})
  }
}

/** What logs may show of the URL: scheme, host and port. */
const where = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}`
  } catch {
    return "redis"
  }
}

/** Milliseconds left from a PTTL answer (-2: no key, -1: no TTL). */
const left = (pttl: unknown): number => typeof pttl === "number" && pttl > 0 ? pttl : 0

/**
 * A ModelLimits store on Redis, falling back to a per-process store while Redis is
 * unreachable. The connection closes with the scope.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const makeStore = (options: Options): Effect.Effect<ModelLimits.Store, never, Scope.Scope> =>
  Effect.gen(function*() {
    const prefix = options.prefix ?? "effect-adc:"
    const connectTimeout = Duration.toMillis(options.connectTimeout ?? "1 second")
    const commandTimeout = Duration.toMillis(options.commandTimeout ?? "250 millis")
    const base: RedisOptions = {
      ...connection(options.url),
      connectTimeout,
      commandTimeout,
      maxRetriesPerRequest: 0
    }
    const local = makeMemoryStore()
    let readyEvents = 0
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const redis = new Redis({
          ...base,
          lazyConnect: true,
          enableOfflineQueue: false,
          retryStrategy: (times) => Math.min(50 * 2 ** times, 2000)
        })
        // connection errors are reported once, by the store (below), not by ioredis
        redis.on("error", () => {})
        redis.on("ready", () => {
          readyEvents += 1
        })
        return redis
      }),
      (redis) => Effect.promise(() => redis.quit().then(() => undefined, () => redis.disconnect()))
    )
    yield* Effect.promise(() => client.connect().then(() => true, () => false)).pipe(
      Effect.timeoutTo({ duration: connectTimeout + 100, onTimeout: () => false, onSuccess: (ok) => ok })
    )

    let degraded = false
    const unreachable = (cause: unknown) =>
      Effect.suspend(() => {
        if (degraded) return Effect.void
        degraded = true
        return Effect.logWarning(
          `effect-adc ModelLimits: Redis at ${where(options.url)} is unreachable; ` +
            `limits are per-process until it answers again`
        ).pipe(Effect.annotateLogs("cause", cause instanceof Error ? cause.message : String(cause)))
      })
    const reachable = Effect.suspend(() => {
      if (!degraded) return Effect.void
      degraded = false
      return Effect.logInfo(`effect-adc ModelLimits: Redis at ${where(options.url)} answers again; limits are shared`)
    })

    /**
     * One Redis operation (bounded by `timeout`, default the command timeout), or the
     * per-process one while Redis is unreachable.
     */
    const shared = <A>(
      remote: Effect.Effect<A, unknown>,
      fallback: Effect.Effect<A>,
      timeout: number = commandTimeout + 50
    ): Effect.Effect<A> =>
      Effect.suspend(() =>
        client.status !== "ready"
          ? Effect.zipRight(unreachable(`connection ${client.status}`), fallback)
          : remote.pipe(
            Effect.timeoutFail({ duration: timeout, onTimeout: () => new Error("command timed out") }),
            Effect.tap(() => reachable),
            Effect.catchAll((cause) => Effect.zipRight(unreachable(cause), fallback))
          )
      )
    const command = <A>(f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: (cause) => cause })

    // The rates: @effect/experimental's RateLimiter over its Redis store, on a connection of
    // its own. It is opened only while ours is ready, never reconnects by itself (an
    // unreachable server would make ioredis print every failed attempt) and is replaced
    // after a failure.
    let generation: {
      readonly limiter: RateLimiter.RateLimiter
      readonly store: RateLimiter.RateLimiterStore["Type"]
      readonly scope: Scope.CloseableScope
      /** Our connection's "ready" count when it was opened: a reconnection since means it is stale. */
      readonly readyEvents: number
    } | undefined
    const lock = yield* Effect.makeSemaphore(1)
    const parent = yield* Effect.scope
    /** When the last generation failed: a new one waits for our connection's next "ready" (or 5 s). */
    let dropped: { readonly readyEvents: number; readonly at: number } | undefined
    const current = lock.withPermits(1)(Effect.gen(function*() {
      if (generation !== undefined && generation.readyEvents === readyEvents) return generation
      if (generation !== undefined) yield* dropGeneration(false)
      if (dropped !== undefined && dropped.readyEvents === readyEvents && Date.now() - dropped.at < 5000) {
        return yield* Effect.fail(new Error("the rate limiter's connection failed; waiting for Redis"))
      }
      const scope = yield* Scope.fork(parent, { _tag: "Sequential" })
      const context = yield* Layer.buildWithScope(
        RedisRateLimiter.layerStore({ ...base, prefix: `${prefix}rate:`, retryStrategy: () => null }),
        scope
      )
      const limiter = yield* Effect.provide(RateLimiter.make, context)
      generation = { limiter, store: Context.get(context, RateLimiter.RateLimiterStore), scope, readyEvents }
      return generation
    }))
    const dropGeneration = (failed: boolean) =>
      Effect.suspend(() => {
        const old = generation
        generation = undefined
        if (old !== undefined && failed) dropped = { readyEvents, at: Date.now() }
        return old === undefined
          ? Effect.void
          : Effect.catchAllCause(Scope.close(old.scope, Exit.void), () => Effect.void)
      })
    /** A rate operation; its first use opens the limiter's connection (bounded by the connect timeout). */
    const rated = <A>(
      f: (g: NonNullable<typeof generation>) => Effect.Effect<A, unknown>,
      fallback: Effect.Effect<A>
    ) =>
      shared(
        Effect.flatMap(current, f).pipe(Effect.tapError(() => dropGeneration(true))),
        fallback,
        connectTimeout + commandTimeout + 100
      )
    if (client.status === "ready" && (options.requests ?? options.tokens ?? options.rates) !== undefined) {
      yield* Effect.ignore(current)
    }

    const names = (key: string) => ({
      cooldown: `${prefix}cooldown:${key}`,
      open: `${prefix}breaker:open:${key}`,
      halfOpen: `${prefix}breaker:half-open:${key}`,
      probe: `${prefix}breaker:probe:${key}`,
      failures: `${prefix}breaker:failures:${key}`
    })
    const openBreaker = (key: string, settings: ModelLimits.BreakerSettings) => {
      const n = names(key)
      return command(() =>
        client.pipeline()
          .set(n.open, "1", "PX", settings.openMillis)
          .set(n.halfOpen, "1", "PX", settings.openMillis + settings.halfOpenMillis)
          .del(n.failures, n.probe)
          .exec()
      )
    }

    const store: ModelLimits.Store = {
      state: (key) => {
        const n = names(key)
        return shared(
          Effect.map(
            command(() => client.pipeline().pttl(n.cooldown).pttl(n.open).pttl(n.halfOpen).get(n.failures).exec()),
            (results) => {
              const value = (i: number) => results?.[i]?.[1]
              return {
                cooldownMillis: left(value(0)),
                openMillis: left(value(1)),
                halfOpen: left(value(1)) === 0 && left(value(2)) > 0,
                failures: Number(value(3) ?? 0) || 0
              }
            }
          ),
          local.state(key)
        )
      },
      cooldown: (key) => shared(Effect.map(command(() => client.pttl(names(key).cooldown)), left), local.cooldown(key)),
      setCooldown: (key, millis) => {
        const name = names(key).cooldown
        const ms = Math.max(1, Math.ceil(millis))
        // NX creates it; PEXPIRE GT (Redis >= 7) only ever lengthens it
        return Effect.zipRight(
          local.setCooldown(key, millis),
          shared(
            Effect.asVoid(
              command(() => client.pipeline().set(name, "1", "PX", ms, "NX").pexpire(name, ms, "GT").exec())
            ),
            Effect.void
          )
        )
      },
      takeRequest: (key, limit, windowMillis) =>
        rated(
          (g) =>
            Effect.map(
              g.limiter.consume({
                key: `requests:${key}`,
                algorithm: "token-bucket",
                onExceeded: "delay",
                window: Duration.millis(windowMillis),
                limit
              }),
              (result) => Duration.toMillis(result.delay)
            ),
          local.takeRequest(key, limit, windowMillis)
        ),
      tokenWait: (key, limit, windowMillis) =>
        rated(
          (g) =>
            Effect.map(
              g.store.tokenBucket({
                key: `tokens:${key}`,
                tokens: 0,
                limit,
                refillRate: Duration.millis(windowMillis / limit),
                allowOverflow: true
              }),
              (remaining) => remaining >= 0 ? 0 : Math.ceil(-remaining * windowMillis / limit)
            ),
          local.tokenWait(key, limit, windowMillis)
        ),
      chargeTokens: (key, tokens, limit, windowMillis) =>
        rated(
          (g) =>
            Effect.asVoid(g.store.tokenBucket({
              key: `tokens:${key}`,
              tokens: Math.ceil(tokens),
              limit,
              refillRate: Duration.millis(windowMillis / limit),
              allowOverflow: true
            })),
          local.chargeTokens(key, tokens, limit, windowMillis)
        ),
      tryProbe: (key, millis) =>
        shared(
          Effect.map(command(() => client.set(names(key).probe, "1", "PX", Math.max(1, millis), "NX")), (ok) =>
            ok === "OK"),
          local.tryProbe(key, millis)
        ),
      recordSuccess: (key) => {
        const n = names(key)
        return Effect.zipRight(
          local.recordSuccess(key),
          shared(Effect.asVoid(command(() => client.del(n.failures, n.halfOpen, n.probe))), Effect.void)
        )
      },
      recordFailure: (key, settings, probe) => {
        const n = names(key)
        const remote = probe
          ? openBreaker(key, settings)
          : Effect.flatMap(
            command(() => client.multi().incr(n.failures).pexpire(n.failures, settings.failureWindowMillis).exec()),
            (results) => {
              const count = Number(results?.[0]?.[1] ?? 0)
              return count >= settings.failures ? Effect.asVoid(openBreaker(key, settings)) : Effect.void
            }
          )
        return shared(Effect.asVoid(remote), local.recordFailure(key, settings, probe))
      }
    }
    return store
  })

/**
 * ModelLimits shared through Redis by every process that uses the same `url` and `prefix`.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { GeminiVertex } from "effect-adc/model"
 * import { ModelLimitsRedis } from "effect-adc/limits/redis"
 *
 * const Limits = ModelLimitsRedis.layerRedis({
 *   url: "redis://10.0.0.3:6379",
 *   requests: 60,
 *   tokens: 200_000,
 *   window: "1 minute"
 * })
 * const Model = GeminiVertex.layer({ project: "my-project", location: "global" }).pipe(Layer.provide(Limits))
 * ```
 *
 * @since 0.2.0
 * @category Layers
 */
export const layerRedis = (options: Options): Layer.Layer<ModelLimits.ModelLimits> =>
  Layer.scoped(ModelLimits.ModelLimits, Effect.map(makeStore(options), (store) => ModelLimits.make(store, options)))

/**
 * `layerRedis` with its options read through `Config` (e.g. `url: Config.string("REDIS_URL")`).
 *
 * @since 0.2.0
 * @category Layers
 */
export const layerRedisConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<ModelLimits.ModelLimits, ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(options), layerRedis))
