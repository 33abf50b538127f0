/**
 * The retry policy on its own, with the TestClock: what it waits, how often, for which
 * errors. (A stream is retried only before output: backends.test.ts checks that end to
 * end through the emulators; the last test here checks a user Schedule on the wire.)
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as ModelError from "../../src/model/ModelError.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import * as RetryPolicy from "../../src/model/RetryPolicy.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import { useEmulator } from "../support/emulator.js"
import { awaitRetrySleep, emulatorBase } from "./support.js"

/** An operation failing with `errors` in turn (the last one forever), recording when each attempt ran. */
const failing = (errors: ReadonlyArray<ModelError.ModelError>, succeedAfter = Infinity) =>
  Effect.gen(function*() {
    const attempts = yield* Ref.make<Array<number>>([])
    const run = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const n = (yield* Ref.updateAndGet(attempts, (a) => [...a, now])).length
      if (n > succeedAfter) return "ok"
      return yield* Effect.fail(errors[Math.min(n, errors.length) - 1]!)
    })
    const gaps = Effect.map(Ref.get(attempts), (a) => a.slice(1).map((t, i) => t - a[i]!))
    return { run, attempts, gaps }
  })

const server = new ModelError.ServerError({ backend: "ollama", status: 500, detail: "boom" })

describe("RetryPolicy", () => {
  it.effect("waits at least the server's retry-after (RetryInfo 26s beats a 1s backoff)", () =>
    Effect.gen(function*() {
      const limited = new ModelError.RateLimited({
        backend: "gemini-api",
        status: 429,
        detail: "",
        retryAfterMillis: 26_000
      })
      const op = yield* failing([limited], 1)
      const fiber = yield* Effect.fork(RetryPolicy.retry(op.run, RetryPolicy.make({ base: "1 second" })))
      yield* TestClock.adjust("25999 millis")
      expect((yield* Ref.get(op.attempts)).length).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fiber)).toBe("ok")
      expect(yield* op.gaps).toEqual([26_000])
    }))

  it.effect("exponential with jitter, capped, bounded: then the last error", () =>
    Effect.gen(function*() {
      // the jitter's random factor: 0 → ×0.8, 0.5 → ×1, 1 → ×1.2
      const op = yield* failing([server])
      const fiber = yield* Effect.fork(
        Effect.flip(RetryPolicy.retry(op.run, RetryPolicy.make({ base: "1 second", cap: "4 seconds", retries: 5 })))
          .pipe(
            Effect.withRandom(Random.fixed([0, 0.5, 1, 1, 1]))
          )
      )
      yield* TestClock.adjust("1 minute")
      const error = yield* Fiber.join(fiber)
      expect(error).toBe(server)
      // 1s×0.8, 2s×1, 4s×1.2 capped to 4s, 8s and 16s capped to 4s; 1 attempt + 5 retries
      expect(yield* op.gaps).toEqual([800, 2_000, 4_000, 4_000, 4_000])
    }))

  it.effect("the default policy: 3 retries, first delay around 500 ms", () =>
    Effect.gen(function*() {
      const op = yield* failing([server])
      const fiber = yield* Effect.fork(
        Effect.flip(RetryPolicy.retry(op.run, RetryPolicy.defaultPolicy)).pipe(Effect.withRandom(Random.fixed([0.5])))
      )
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      expect(yield* op.gaps).toEqual([500, 1_000, 2_000])
    }))

  it.effect("retries only retryable errors: InvalidRequest, NotFound, Unauthorized, ContentBlocked, Decode fail at once", () =>
    Effect.gen(function*() {
      const final = [
        new ModelError.InvalidRequest({ backend: "gemini-api", detail: "bad" }),
        new ModelError.NotFound({ backend: "ollama", detail: "no model" }),
        new ModelError.Unauthorized({ backend: "ollama", detail: "no" }),
        new ModelError.PermissionDenied({ backend: "ollama", detail: "no" }),
        new ModelError.ContentBlocked({ backend: "gemini-api", detail: "", where: "prompt", blockReason: "SAFETY" }),
        new ModelError.Decode({ backend: "gemini-api", detail: "x" })
      ]
      for (const error of final) {
        const op = yield* failing([error])
        expect(yield* Effect.flip(RetryPolicy.retry(op.run, RetryPolicy.defaultPolicy))).toBe(error)
        expect((yield* Ref.get(op.attempts)).length).toBe(1)
      }
      // a retryable error followed by a non-retryable one: one retry, then stop
      const unavailable = new ModelError.Unavailable({ backend: "ollama", status: 503, detail: "" })
      const op = yield* failing([unavailable, final[0]!])
      const fiber = yield* Effect.fork(Effect.flip(RetryPolicy.retry(op.run, RetryPolicy.defaultPolicy)))
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toBe(final[0])
      expect((yield* Ref.get(op.attempts)).length).toBe(2)
    }))

  it.effect("a user Schedule wrapped in honourRetryAfter: its own delay, raised to the server's retry-after", () =>
    Effect.gen(function*() {
      const limited = new ModelError.RateLimited({
        backend: "ollama",
        status: 429,
        detail: "",
        retryAfterMillis: 5_000
      })
      const unavailable = new ModelError.Unavailable({ backend: "ollama", status: 503, detail: "" })
      const op = yield* failing([unavailable, limited, unavailable])
      const policy = RetryPolicy.honourRetryAfter(
        Schedule.spaced("2 seconds").pipe(Schedule.intersect(Schedule.recurs(2)))
      )
      const fiber = yield* Effect.fork(Effect.flip(RetryPolicy.retry(op.run, policy)))
      yield* TestClock.adjust("1 minute")
      // the user's 2 retries, 2s apart, except after the 429 asking for 5s; then the last error
      expect(yield* Fiber.join(fiber)).toBe(unavailable)
      expect(yield* op.gaps).toEqual([2_000, 5_000])
    }))

  it.effect("RetryPolicy.none does not retry", () =>
    Effect.gen(function*() {
      const op = yield* failing([server])
      expect(yield* Effect.flip(RetryPolicy.retry(op.run, RetryPolicy.none))).toBe(server)
      expect((yield* Ref.get(op.attempts)).length).toBe(1)
    }))
})

describe("a user-supplied Schedule on a backend", () => {
  const emulator = useEmulator({ env: true })
  const ollama = OllamaEmulator.make()
  let service: Emulator.CloudRunService
  beforeAll(async () => {
    service = await emulator.cloudRun.deploy({ name: "retry-ollama", handler: ollama.handler })
  })

  it.effect("spaced 7s, 2 retries: exactly 7s between attempts, 3 attempts, then the error", () =>
    Effect.gen(function*() {
      ollama.reset()
      ollama.fail({ status: 503 }, 10)
      const model = yield* ModelService
      const fiber = yield* Effect.fork(
        Effect.flip(model.generate({ model: "gemma3:4b", contents: [ModelRequest.user("x")] }))
      )
      for (let i = 1; i <= 2; i++) {
        yield* awaitRetrySleep(() => ollama.requests.length, i, { exactly: 7_000 })
        yield* TestClock.adjust("6999 millis")
        expect(ollama.requests.length).toBe(i)
        yield* TestClock.adjust("1 millis")
      }
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("Unavailable")
      expect(ollama.requests.length).toBe(3)
    }).pipe(Effect.provide(
      Ollama.layer({
        url: service.url,
        retry: Schedule.spaced("7 seconds").pipe(Schedule.intersect(Schedule.recurs(2)))
      }).pipe(
        Layer.provide(emulatorBase(emulator))
      )
    )))
})
