/**
 * Cloud Run GPU backends: cold starts, capacity and timeouts as the emulator's Cloud Run
 * front door plays them, each seen as its typed error with its retry rule, the Router's
 * first-chunk deadline (fallback only before the first chunk) on the TestClock, and the
 * warm-up ping.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as GeminiApi from "../../src/model/gemini/GeminiApi.js"
import type * as ModelError from "../../src/model/ModelError.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import * as RetryPolicy from "../../src/model/RetryPolicy.js"
import * as Router from "../../src/model/Router.js"
import * as WarmUp from "../../src/model/WarmUp.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import { awaitRetrySleep, emulatorBase, tick, useModelEmulators } from "../model/support.js"
import { useEmulator } from "../support/emulator.js"

const emulator = useEmulator({ env: true })
const models = useModelEmulators(emulator)
const ollama = OllamaEmulator.make()
/** cold for a minute on its first request */
let cold: Emulator.CloudRunService
/** one request at a time (max instances × concurrency = 1); the first holds its slot for a minute */
let full: Emulator.CloudRunService
/** the model server's queue holds one; the first holds it for a minute */
let busy: Emulator.CloudRunService
/** a 300 ms request timeout; the first request takes a minute */
let slow: Emulator.CloudRunService

beforeAll(async () => {
  const minute = { delayMs: 60_000 }
  cold = await emulator.cloudRun.deploy({ name: "cold-gemma", handler: ollama.handler, coldStart: minute })
  full = await emulator.cloudRun.deploy({
    name: "full-gemma",
    handler: ollama.handler,
    coldStart: minute,
    maxInFlight: 1
  })
  busy = await emulator.cloudRun.deploy({
    name: "busy-gemma",
    handler: ollama.handler,
    coldStart: minute,
    serverQueue: 1
  })
  slow = await emulator.cloudRun.deploy({
    name: "slow-gemma",
    handler: ollama.handler,
    coldStart: minute,
    requestTimeoutMs: 300
  })
})

const statusOf = (error: ModelError.ModelError) => "status" in error ? error.status : undefined
const gemma = (text: string) => ({ model: "gemma3:4b", contents: [ModelRequest.user(text)] })
const base = () => emulatorBase(emulator)
const ollamaAt = (service: Emulator.CloudRunService) => Ollama.make({ url: service.url, retry: RetryPolicy.none })

/** Starts a request that holds the service's first (cold, one-minute) slot, and waits until the front door has it. */
const holdFirstSlot = (model: ModelService.Service, service: Emulator.CloudRunService) =>
  Effect.gen(function*() {
    const before = emulator.controls.count(`cloudrun:${service.name}` as const)
    const fiber = yield* Effect.fork(model.generate(gemma("hold")))
    while (emulator.controls.count(`cloudrun:${service.name}` as const) === before) yield* tick
    return fiber
  })

describe("the Cloud Run front door at capacity, busy and past its timeout: typed errors and retry rules", () => {
  it.effect("max instances reached: RateLimited (retryable, no server delay) with Cloud Run's words", () =>
    Effect.gen(function*() {
      const model = yield* ollamaAt(full)
      const holder = yield* holdFirstSlot(model, full)
      const error = yield* Effect.flip(model.generate(gemma("x")))
      expect(error._tag).toBe("RateLimited")
      expect(error.isRetryable).toBe(true)
      expect(Option.isNone(error.retryAfter)).toBe(true)
      expect([statusOf(error), error.detail]).toEqual([
        429,
        "The request was aborted because there was no available instance."
      ])
      yield* Fiber.interrupt(holder)
    }).pipe(Effect.provide(base())))

  it.effect("the model server's queue is full: Unavailable (retryable) with the server's words", () =>
    Effect.gen(function*() {
      const model = yield* ollamaAt(busy)
      const holder = yield* holdFirstSlot(model, busy)
      const error = yield* Effect.flip(model.generate(gemma("x")))
      expect(error._tag).toBe("Unavailable")
      expect(error.isRetryable).toBe(true)
      expect([statusOf(error), error.detail]).toEqual([
        503,
        "server busy, please try again.  maximum pending requests exceeded"
      ])
      yield* Fiber.interrupt(holder)
    }).pipe(Effect.provide(base())))

  it.live("past the service's request timeout: Cloud Run's 504 is a Timeout (retryable)", () =>
    Effect.gen(function*() {
      const model = yield* ollamaAt(slow)
      const error = yield* Effect.flip(model.generate(gemma("x")))
      expect(error._tag).toBe("Timeout")
      expect(error.isRetryable).toBe(true)
      expect([statusOf(error), error.detail]).toEqual([504, "upstream request timeout"])
    }).pipe(Effect.provide(base())))
})

describe("the Router's first-chunk deadline (TestClock)", () => {
  const router = (service: () => Emulator.CloudRunService) =>
    Layer.unwrapEffect(Effect.sync(() =>
      Router.layer({
        routes: [{ match: "gemma*", layer: Ollama.layer({ url: service().url }) }],
        fallback: {
          layer: GeminiApi.layer({ baseUrl: models.gemini.url, origins: [models.gemini.url] }),
          model: "gemini-2.5-flash"
        },
        firstChunkTimeout: "10 seconds"
      })
    )).pipe(Layer.provide(base()))

  it.effect("a cold start holding the first chunk past the deadline goes to the fallback", () =>
    Effect.gen(function*() {
      models.gemini.emulator.reset()
      const model = yield* ModelService
      const endpoint = `cloudrun:${cold.name}` as const
      const before = emulator.controls.count(endpoint)
      const fiber = yield* Effect.fork(Stream.runCollect(model.stream(gemma("a b c"))))
      yield* awaitRetrySleep(() => emulator.controls.count(endpoint) - before, 1, { exactly: 10_000 })
      yield* TestClock.adjust("9999 millis")
      expect(models.gemini.emulator.requests.length).toBe(0)
      yield* TestClock.adjust("1 millis")
      const chunks = Chunk.toArray(yield* Fiber.join(fiber))
      expect(chunks.map((c) => c.textDelta).join("")).toBe("Echo: a b c")
      expect(models.gemini.emulator.requests.map((r) => r.model)).toEqual(["gemini-2.5-flash"])
    }).pipe(Effect.provide(router(() => cold))))

  it.effect("once a chunk came, no deadline applies: the stream is the routed backend's", () =>
    Effect.gen(function*() {
      models.gemini.emulator.reset()
      const model = yield* ModelService
      // the cold service is warm now (its one cold request is spent)
      const chunks = Chunk.toArray(yield* Stream.runCollect(model.stream(gemma("d e f"))))
      expect(chunks.map((c) => c.textDelta).join("")).toBe("Echo: d e f")
      expect(models.gemini.emulator.requests.length).toBe(0)
    }).pipe(Effect.provide(router(() => cold))))
})

describe("warm-up ping", () => {
  it.effect("the layer sends one one-token request when it starts", () =>
    Effect.gen(function*() {
      ollama.reset()
      const service = yield* Effect.promise(() =>
        emulator.cloudRun.deploy({ name: "warm-gemma", handler: ollama.handler })
      )
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(
          Ollama.layer({ url: service.url }).pipe(WarmUp.withWarmUp({ model: "gemma3:4b", wait: true }))
        )
        expect(ollama.requests.length).toBe(1)
        const body = ollama.requests[0]?.body as { model: string; options?: { num_predict?: number } }
        expect([body.model, body.options?.num_predict]).toEqual(["gemma3:4b", 1])
      })).pipe(Effect.provide(base()))
    }))
})
