/**
 * 9. Shared limits (docs/scaling.md): what `ModelLimits` costs per call (no limits, the
 * memory store, Redis on loopback), and what it saves under one quota: `replicas`
 * backends in this process, each with its own store — its own Redis connection on one
 * prefix (shared) or its own memory (per process) — against the Gemini emulator with a
 * quota of 4 requests a second whose 429s carry `RetryInfo`. Needs `redis-server` on
 * PATH for the Redis rows (they are skipped without it).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as AuthService from "../src/auth/AuthService.js"
import * as GeminiApi from "../src/model/gemini/GeminiApi.js"
import * as ModelLimits from "../src/model/ModelLimits.js"
import * as ModelLimitsRedis from "../src/model/ModelLimitsRedis.js"
import * as ModelRequest from "../src/model/ModelRequest.js"
import * as RetryPolicy from "../src/model/RetryPolicy.js"
import * as ModelEmulators from "../src/testing/ModelEmulators.js"
import { type RedisServer, startRedis } from "../test/limits/redisProcess.js"
import { type Row, withEmulator } from "./authScenarios.js"

const request = { model: "gemini-2.5-flash", contents: [ModelRequest.user("x")] }

export const limits = (options: { readonly calls: number; readonly replicas: number; readonly perReplica: number }) =>
  withEmulator({}, async (emulator) => {
    const served = await ModelEmulators.serve(emulator)
    const redis: RedisServer | undefined = await startRedis().catch(() => undefined)
    const gemini = served.gemini
    const base = Layer.mergeAll(
      AuthService.layer({ projectId: emulator.projectId, clientOptions: emulator.clientOptions }),
      FetchHttpClient.layer
    )
    const backend = (store: ModelLimits.Store | undefined) =>
      GeminiApi.make({
        baseUrl: gemini.url,
        origins: [gemini.url],
        retry: RetryPolicy.make({ retries: 10, base: "50 millis", cap: "500 millis" })
      }).pipe(
        store === undefined
          ? (effect) => effect
          : Effect.provideService(ModelLimits.ModelLimits, ModelLimits.make(store))
      )
    const run = <A>(effect: Effect.Effect<A, unknown, Scope.Scope | Layer.Layer.Success<typeof base>>) =>
      Effect.runPromise(effect.pipe(Effect.scoped, Effect.provide(base)))
    let prefixes = 0
    const redisStore = () =>
      ModelLimitsRedis.makeStore({ url: redis!.url, prefix: `bench-${process.pid}-${prefixes++}:` })

    /** Milliseconds per call, `calls` sequential calls after one warm-up call. */
    const perCall = (store: Effect.Effect<ModelLimits.Store | undefined, never, Scope.Scope>) =>
      run(Effect.gen(function*() {
        const model = yield* backend(yield* store)
        yield* model.generate(request)
        const started = performance.now()
        for (let i = 0; i < options.calls; i++) yield* model.generate(request)
        return (performance.now() - started) / options.calls
      }))

    /** 429s under one quota: `replicas` backends, `perReplica` calls each, out of step. */
    const contention = (store: Effect.Effect<ModelLimits.Store, never, Scope.Scope>) =>
      run(Effect.gen(function*() {
        const models = yield* Effect.forEach(Array.from({ length: options.replicas }), () =>
          Effect.flatMap(store, (s) => backend(s)))
        gemini.emulator.reset()
        gemini.emulator.setQuota({ requests: 4, windowMs: 1000 })
        yield* Effect.forEach(models, (model, r) =>
          Effect.forEach(Array.from({ length: options.perReplica }), (_, k) =>
            Effect.zipRight(Effect.sleep(((r * 5 + k * 3) % 8) * 40), model.generate(request))), {
          concurrency: "unbounded"
        })
        const rejected = gemini.emulator.quotaLog.filter((event) =>
          !event.admitted
        ).length
        gemini.emulator.setQuota(undefined)
        return rejected
      }))

    try {
      const none = await perCall(Effect.succeed(undefined))
      const memory = await perCall(Effect.sync(() => ModelLimits.memoryStore()))
      const shared = redis === undefined ? undefined : await perCall(redisStore())
      const local429 = await contention(Effect.sync(() => ModelLimits.memoryStore()))
      const shared429 = redis === undefined ? undefined : await contention(redisStore())
      const rows: Array<Row> = [
        {
          scenario: "shared limits",
          measure: `ms per call, ${options.calls} sequential (memory store / Redis)`,
          ours: `${memory.toFixed(2)} / ${shared === undefined ? "n/a" : shared.toFixed(2)}`,
          peer: none.toFixed(2),
          peerName: "no limits",
          ratio: shared === undefined ? "n/a" : `${(shared / none).toFixed(2)}x`,
          figures: {
            "p9.none_ms": none,
            "p9.memory_ms": memory,
            ...(shared === undefined ? {} : { "p9.redis_ms": shared })
          }
        },
        {
          scenario: "shared limits",
          measure: `429s, ${options.replicas} backends x ${options.perReplica} calls, quota 4/s (shared on Redis)`,
          ours: shared429 === undefined ? "n/a" : String(shared429),
          peer: String(local429),
          peerName: "per process",
          ratio: shared429 === undefined ? "n/a" : `${(shared429 / Math.max(1, local429)).toFixed(2)}x`,
          figures: {
            "p9.local_429": local429,
            ...(shared429 === undefined ? {} : { "p9.shared_429": shared429 })
          }
        }
      ]
      return rows
    } finally {
      await redis?.stop()
      await served.close()
    }
  })
