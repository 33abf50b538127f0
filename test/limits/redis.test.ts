/**
 * ModelLimits on a real redis-server: two stores (two connections, as two replicas
 * have) share the cooldown and the breaker; Redis stopped mid-run or never reachable
 * degrades to per-process limits with one warning and no failed call. Redis keeps its
 * own time (key TTLs), so these tests run on the real clock, with delays under a second.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as Scope from "effect/Scope"
import * as GeminiApi from "../../src/model/gemini/GeminiApi.js"
import * as ModelLimits from "../../src/model/ModelLimits.js"
import * as ModelLimitsRedis from "../../src/model/ModelLimitsRedis.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import * as RetryPolicy from "../../src/model/RetryPolicy.js"
import { emulatorBase, useModelEmulators } from "../model/support.js"
import { useEmulator } from "../support/emulator.js"
import { useRedis } from "./redisServer.js"

const emulator = useEmulator({ env: true })
const redis = useRedis()
const models = useModelEmulators(emulator)

const request = { model: "gemini-2.5-flash", contents: [ModelRequest.user("x")] }
let prefixes = 0

/** One "replica": its own Redis connection and store, and its own backend over it. */
const replica = (options: Partial<ModelLimitsRedis.Options> & { readonly prefix: string }) =>
  Effect.gen(function*() {
    const store = yield* ModelLimitsRedis.makeStore({ url: redis.url, ...options })
    const limits = ModelLimits.make(store, options)
    return yield* GeminiApi.make({ baseUrl: models.gemini.url, origins: [models.gemini.url], retry: RetryPolicy.none })
      .pipe(
        Effect.provideService(ModelLimits.ModelLimits, limits)
      )
  })

const logged: Array<{ readonly level: string; readonly message: string }> = []
const capture = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ logLevel, message }) => {
    logged.push({ level: logLevel.label, message: Array.isArray(message) ? message.join(" ") : String(message) })
  })
)

const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope | Layer.Layer.Success<ReturnType<typeof emulatorBase>>>) =>
  Effect.suspend(() => {
    models.gemini.emulator.reset()
    logged.length = 0
    return effect.pipe(Effect.scoped, Effect.provide(Layer.merge(emulatorBase(emulator), capture)))
  })

const warnings = () => logged.filter((l) => l.level === "WARN")

describe("ModelLimits on Redis (two stores = two replicas)", () => {
  it.live("a 429's retry delay seen by one replica holds the other's request until it passed", () =>
    run(Effect.gen(function*() {
      const prefix = `t${prefixes++}:`
      const a = yield* replica({ prefix })
      const b = yield* replica({ prefix })
      models.gemini.emulator.fail({ status: 429, retryDelay: "0.6s" })
      expect((yield* Effect.flip(a.generate(request)))._tag).toBe("RateLimited")
      expect((yield* b.generate(request)).text).toBe("Echo: x")
      const [first, second] = models.gemini.emulator.requests
      expect(second!.at! - first!.at!).toBeGreaterThanOrEqual(600)
      expect(warnings()).toEqual([])
    })))

  it.live("failures seen by one replica open the breaker for the other: it fails at once, nothing sent", () =>
    run(Effect.gen(function*() {
      const prefix = `t${prefixes++}:`
      const a = yield* replica({ prefix, breaker: { failures: 2, openFor: "30 seconds" } })
      const b = yield* replica({ prefix, breaker: { failures: 2, openFor: "30 seconds" } })
      models.gemini.emulator.fail({ status: 503 }, 2)
      yield* Effect.flip(a.generate(request))
      yield* Effect.flip(a.generate(request))
      const error = yield* Effect.flip(b.generate(request))
      expect(error._tag === "Unavailable" && error.errorReason).toBe("CIRCUIT_OPEN")
      expect(models.gemini.emulator.requests.length).toBe(2)
    })))

  it.live("half-open on Redis: of two replicas' concurrent calls one probes, the other is refused; the probe closes it", () =>
    run(Effect.gen(function*() {
      const prefix = `t${prefixes++}:`
      const breaker = { failures: 1, openFor: "300 millis" as const }
      const a = yield* replica({ prefix, breaker })
      const b = yield* replica({ prefix, breaker })
      models.gemini.emulator.fail({ status: 503 })
      yield* Effect.flip(a.generate(request))
      yield* Effect.sleep("350 millis")
      const outcomes = yield* Effect.all([Effect.either(a.generate(request)), Effect.either(b.generate(request))], {
        concurrency: 2
      })
      expect(outcomes.map((e) => e._tag === "Right" ? "sent" : e.left.detail).sort()).toEqual([
        "not sent: the circuit breaker is half-open and another call probes it",
        "sent"
      ])
      expect((yield* b.generate(request)).text).toBe("Echo: x")
      expect(models.gemini.emulator.requests.length).toBe(3)
    })))
})

describe("Redis unreachable", () => {
  it.live("Redis stopped mid-run: every call still succeeds, one warning; back, an info and shared again", () =>
    run(Effect.gen(function*() {
      const prefix = `t${prefixes++}:`
      const a = yield* replica({ prefix, requests: 1000, tokens: 1_000_000 })
      yield* a.generate(request)
      yield* Effect.promise(() => redis.stop())
      for (let i = 0; i < 5; i++) expect((yield* a.generate(request)).text).toBe("Echo: x")
      expect(logged).toEqual([{ level: "WARN", message: expect.stringMatching(/is unreachable/) }])
      expect(warnings()[0]!.message).toMatch(
        /^effect-adc ModelLimits: Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable/
      )
      yield* Effect.promise(() => redis.start())
      // ioredis reconnects with backoff (at most 2 s)
      for (let i = 0; i < 60 && !logged.some((l) => l.level === "INFO"); i++) {
        yield* a.generate(request)
        yield* Effect.sleep("100 millis")
      }
      expect(logged.filter((l) => l.level === "INFO").map((l) => l.message)).toEqual([
        expect.stringMatching(/answers again; limits are shared$/)
      ])
      expect(warnings().length).toBe(1)
    })))

  it.live("Redis never reachable: the layer is built within the connect timeout, calls succeed, one warning", () =>
    run(Effect.gen(function*() {
      const started = Date.now()
      const store = yield* ModelLimitsRedis.makeStore({ url: "redis://127.0.0.1:1", connectTimeout: "300 millis" })
      expect(Date.now() - started).toBeLessThan(1000)
      const a = yield* GeminiApi.make({ baseUrl: models.gemini.url, origins: [models.gemini.url] }).pipe(
        Effect.provideService(ModelLimits.ModelLimits, ModelLimits.make(store, { requests: 100 }))
      )
      for (let i = 0; i < 3; i++) expect((yield* a.generate(request)).text).toBe("Echo: x")
      expect(warnings().length).toBe(1)
    })))
})
