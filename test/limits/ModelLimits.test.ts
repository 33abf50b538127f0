/**
 * ModelLimits in one process (the memory store) on the TestClock, against the Gemini and
 * Ollama emulators: the shared cooldown, request and token rates, the circuit breaker
 * and the Router skipping an open backend.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as GeminiApi from "../../src/model/gemini/GeminiApi.js"
import * as ModelLimits from "../../src/model/ModelLimits.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import * as RetryPolicy from "../../src/model/RetryPolicy.js"
import * as Router from "../../src/model/Router.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import { awaitRetrySleep, emulatorBase, useModelEmulators } from "../model/support.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })
const models = useModelEmulators(emulator)
const ollama = OllamaEmulator.make()
let ollamaService: Emulator.CloudRunService

beforeAll(async () => {
  ollamaService = await emulator.cloudRun.deploy({ name: "limits-ollama", handler: ollama.handler })
})

const request = (text = "x") => ({ model: "gemini-2.5-flash", contents: [ModelRequest.user(text)] })

/** Two "replicas" (two backends, two engines) in one process over one ModelLimits. */
const twoReplicas = Effect.suspend(() =>
  Effect.all([
    GeminiApi.make({ baseUrl: models.gemini.url, origins: [models.gemini.url], retry: RetryPolicy.none }),
    GeminiApi.make({ baseUrl: models.gemini.url, origins: [models.gemini.url], retry: RetryPolicy.none })
  ])
)

const withLimits = (options: ModelLimits.Options) =>
<A, E>(
  effect: Effect.Effect<A, E, ModelLimits.ModelLimits | Layer.Layer.Success<ReturnType<typeof emulatorBase>>>
) =>
  Effect.suspend(() => {
    models.gemini.emulator.reset()
    ollama.reset()
    return Effect.provide(effect, Layer.merge(ModelLimits.layerMemory(options), emulatorBase(emulator)))
  })

describe("ModelLimits (memory store, TestClock)", () => {
  it.effect("a 429's RetryInfo delay seen by one backend holds the other's request until it passed", () =>
    Effect.gen(function*() {
      const [a, b] = yield* twoReplicas
      models.gemini.emulator.fail({ status: 429, retryDelay: "20s" })
      const first = yield* Effect.flip(a.generate(request()))
      expect(first._tag).toBe("RateLimited")
      const fiber = yield* Effect.fork(b.generate(request()))
      yield* awaitRetrySleep(() => models.gemini.emulator.requests.length, 1, { exactly: 20_000 })
      yield* TestClock.adjust("19999 millis")
      expect(models.gemini.emulator.requests.length).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect((yield* Fiber.join(fiber)).text).toBe("Echo: x")
      expect(models.gemini.emulator.requests.length).toBe(2)
    }).pipe(withLimits({})))

  it.effect("a cooldown longer than maxWait fails at once with RateLimited carrying the wait; nothing is sent", () =>
    Effect.gen(function*() {
      const [a, b] = yield* twoReplicas
      models.gemini.emulator.fail({ status: 429, retryDelay: "90s" })
      yield* Effect.flip(a.generate(request()))
      const error = yield* Effect.flip(b.generate(request()))
      expect(error._tag).toBe("RateLimited")
      expect(Option.map(error.retryAfter, (d) => d.toJSON())).toEqual(
        Option.some({ _id: "Duration", _tag: "Millis", millis: 90_000 })
      )
      expect(error.message).toMatch(/not sent: the shared limits hold this model/)
      expect(models.gemini.emulator.requests.length).toBe(1)
    }).pipe(withLimits({ maxWait: "60 seconds" })))

  it.effect("the request rate: the third request of 2 per minute waits 30 s for its slot", () =>
    Effect.gen(function*() {
      const [a] = yield* twoReplicas
      yield* a.generate(request())
      yield* a.generate(request())
      const fiber = yield* Effect.fork(a.generate(request()))
      yield* awaitRetrySleep(() => models.gemini.emulator.requests.length, 2, { exactly: 30_000 })
      yield* TestClock.adjust("29 seconds")
      expect(models.gemini.emulator.requests.length).toBe(2)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      expect(models.gemini.emulator.requests.length).toBe(3)
    }).pipe(withLimits({ requests: 2, window: "1 minute" })))

  it.effect("the token rate is charged from the response's usage: the next request waits until the debt is repaid", () =>
    Effect.gen(function*() {
      const [a, b] = yield* twoReplicas
      const words = Array.from({ length: 60 }, (_, i) => `w${i}`).join(" ")
      const first = yield* a.generate(request(words))
      const total = first.usage.totalTokens ?? 0
      expect(total).toBeGreaterThan(40)
      const wait = Math.ceil((total - 40) * 60_000 / 40)
      const fiber = yield* Effect.fork(b.generate(request()))
      yield* awaitRetrySleep(() => models.gemini.emulator.requests.length, 1, { exactly: wait })
      yield* TestClock.adjust(wait - 1)
      expect(models.gemini.emulator.requests.length).toBe(1)
      yield* TestClock.adjust(1)
      yield* Fiber.join(fiber)
      expect(models.gemini.emulator.requests.length).toBe(2)
    }).pipe(withLimits({ tokens: 40, window: "1 minute", maxWait: "5 minutes" })))

  it.effect("the breaker opens after N failures, fails at once while open, lets one probe through when half-open", () =>
    Effect.gen(function*() {
      const [a, b] = yield* twoReplicas
      models.gemini.emulator.fail({ status: 503 }, 3)
      for (let i = 0; i < 3; i++) expect((yield* Effect.flip(a.generate(request())))._tag).toBe("Unavailable")
      const open = yield* Effect.flip(b.generate(request()))
      expect(open._tag === "Unavailable" && open.errorReason).toBe("CIRCUIT_OPEN")
      expect(open.isRetryable).toBe(true)
      expect(Option.map(open.retryAfter, (d) => d.toJSON())).toEqual(
        Option.some({ _id: "Duration", _tag: "Millis", millis: 10_000 })
      )
      expect(models.gemini.emulator.requests.length).toBe(3)
      // half-open: a failing probe reopens it at once
      yield* TestClock.adjust("10 seconds")
      models.gemini.emulator.fail({ status: 503 })
      expect((yield* Effect.flip(a.generate(request()))).detail).not.toMatch(/not sent/)
      expect((yield* Effect.flip(b.generate(request()))).detail).toMatch(/circuit breaker is open/)
      expect(models.gemini.emulator.requests.length).toBe(4)
      // half-open again: two concurrent calls, one probe goes, the other is refused
      yield* TestClock.adjust("10 seconds")
      const [x, y] = yield* Effect.all([Effect.either(a.generate(request())), Effect.either(b.generate(request()))], {
        concurrency: 2
      })
      const outcomes = [x, y].map((e) => e._tag === "Right" ? "sent" : e.left.detail)
      expect(outcomes.sort()).toEqual(["not sent: the circuit breaker is half-open and another call probes it", "sent"])
      expect(models.gemini.emulator.requests.length).toBe(5)
      // the probe succeeded: closed
      yield* a.generate(request())
      yield* b.generate(request())
      expect(models.gemini.emulator.requests.length).toBe(7)
    }).pipe(withLimits({ breaker: { failures: 3, openFor: "10 seconds" } })))

  it.effect("a 429 with a retry delay does not count as a breaker failure", () =>
    Effect.gen(function*() {
      const [a] = yield* twoReplicas
      models.gemini.emulator.fail({ status: 429, retryDelay: "1s" })
      yield* Effect.flip(a.generate(request()))
      yield* TestClock.adjust("1 second")
      models.gemini.emulator.fail({ status: 503 })
      yield* Effect.flip(a.generate(request()))
      expect((yield* a.generate(request())).text).toBe("Echo: x")
    }).pipe(withLimits({ breaker: { failures: 2 } })))
})

describe("Router with ModelLimits", () => {
  it.effect("an open backend is skipped: the call goes to the fallback at once, nothing is sent to it", () =>
    Effect.gen(function*() {
      models.gemini.emulator.reset()
      ollama.reset()
      models.gemini.emulator.fail({ status: 503 })
      const model = yield* ModelService
      expect((yield* model.generate(request("one"))).text).toBe("Echo: one")
      expect([models.gemini.emulator.requests.length, ollama.requests.length]).toEqual([1, 1])
      // open now: no request to Gemini, no wait (no TestClock adjustment)
      expect((yield* model.generate(request("two"))).text).toBe("Echo: two")
      expect([models.gemini.emulator.requests.length, ollama.requests.length]).toEqual([1, 2])
    }).pipe(Effect.provide(
      Router.layer({
        routes: [{
          match: "gemini-*",
          layer: GeminiApi.layer({ baseUrl: models.gemini.url, origins: [models.gemini.url], retry: RetryPolicy.none })
        }],
        fallback: { layer: Ollama.layer({ url: ollamaService.url }), model: "gemma3:4b" }
      }).pipe(
        Layer.provide(ModelLimits.layerMemory({ breaker: { failures: 1 } })),
        Layer.provide(emulatorBase(emulator))
      )
    )))
})
