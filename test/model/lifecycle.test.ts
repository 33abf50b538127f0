/**
 * Timeouts, cancellation, cold starts and rejected tokens, end to end through the
 * identity emulator.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Http from "node:http"
import * as GeminiApi from "../../src/model/gemini/GeminiApi.js"
import * as ModelRequest from "../../src/model/ModelRequest.js"
import { ModelService } from "../../src/model/ModelService.js"
import * as Ollama from "../../src/model/ollama/Ollama.js"
import * as RetryPolicy from "../../src/model/RetryPolicy.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import { useEmulator } from "../support/emulator.js"
import { type BackendLayer, emulatorBase, patient, tick, useModelEmulators } from "./support.js"

const emulator = useEmulator({ env: true })
const models = useModelEmulators(emulator)

/** An Ollama that answers the first NDJSON line and then holds the connection open. */
const hanging = { received: 0, closed: 0 }
const hangingHandler: Http.RequestListener = (req, res) => {
  hanging.received++
  res.on("close", () => hanging.closed++)
  req.resume()
  req.on("end", () => {
    if (req.url === "/api/chat" && req.headers["x-mode"] === "stream") {
      res.writeHead(200, { "content-type": "application/x-ndjson" })
      res.write(
        JSON.stringify({ model: "gemma3:4b", message: { role: "assistant", content: "first" }, done: false }) + "\n"
      )
    }
    // otherwise: never answer
  })
}

const cold = OllamaEmulator.make()
let hangingService: Emulator.CloudRunService
let coldService: Emulator.CloudRunService

beforeAll(async () => {
  hangingService = await emulator.cloudRun.deploy({ name: "hanging", handler: hangingHandler })
  coldService = await emulator.cloudRun.deploy({
    name: "cold",
    handler: cold.handler,
    coldStart: { status: 503, requests: 2 }
  })
})

const provide = <A, E>(backend: BackendLayer, effect: Effect.Effect<A, E, ModelService>) =>
  effect.pipe(
    Effect.provide(backend.pipe(Layer.provide(emulatorBase(emulator))))
  )

const until = (condition: () => boolean) =>
  Effect.gen(function*() {
    for (const started = performance.now(); patient(started) && !condition();) yield* tick
    expect(condition()).toBe(true)
  })

describe("timeouts and cancellation", () => {
  it.effect("a per-request timeout fails with Timeout (TestClock) and closes the connection", () =>
    provide(
      Ollama.layer({ url: hangingService.url, retry: RetryPolicy.none }),
      Effect.gen(function*() {
        hanging.received = 0
        hanging.closed = 0
        const model = yield* ModelService
        const fiber = yield* Effect.fork(
          Effect.flip(model.generate({ model: "gemma3:4b", contents: [ModelRequest.user("x")], timeout: "3 seconds" }))
        )
        yield* until(() => hanging.received === 1)
        yield* TestClock.adjust("3 seconds")
        const error = yield* Fiber.join(fiber)
        expect(error._tag).toBe("Timeout")
        expect(error.message).toContain("3s")
        yield* until(() => hanging.closed === 1)
      })
    ))

  it.effect("interrupting a stream after its first chunk closes the upstream connection", () =>
    provide(
      Ollama.layer({ url: hangingService.url, headers: { "x-mode": "stream" } }),
      Effect.gen(function*() {
        hanging.received = 0
        hanging.closed = 0
        const model = yield* ModelService
        const first = yield* model.stream({ model: "gemma3:4b", contents: [ModelRequest.user("x")] }).pipe(
          Stream.take(1),
          Stream.runCollect
        )
        expect(Chunk.toArray(first).map((c) => c.textDelta)).toEqual(["first"])
        yield* until(() => hanging.closed === 1)
        expect(hanging.received).toBe(1)
      })
    ))
})

describe("Cloud Run cold start and rejected tokens", () => {
  it.effect("a cold start's 503s are retried (Unavailable is retryable) until the instance is up", () =>
    provide(
      Ollama.layer({ url: coldService.url }),
      Effect.gen(function*() {
        const model = yield* ModelService
        const fiber = yield* Effect.fork(
          model.generate({ model: "gemma3:4b", contents: [ModelRequest.user("warm up")] })
        )
        for (let i = 0; i < 2; i++) {
          yield* until(() => emulator.controls.count("cloudrun:cold") >= i + 1)
          // the retry sleep is at most the capped, jittered exponential delay
          for (let j = 0; j < 100; j++) {
            yield* TestClock.adjust("100 millis")
            yield* tick
          }
        }
        const response = yield* Fiber.join(fiber)
        expect(response.text).toBe("Echo: warm up")
        expect(emulator.controls.count("cloudrun:cold")).toBe(3)
        expect(cold.requests.length).toBe(1)
      })
    ))

  it.effect("an access token Google no longer accepts: 401 invalid_token → invalidated and replayed once", () =>
    provide(
      GeminiApi.layer({ baseUrl: models.gemini.url, origins: [models.gemini.url] }),
      Effect.gen(function*() {
        models.gemini.emulator.reset()
        const model = yield* ModelService
        yield* model.generate({ model: "gemini-2.5-flash", contents: [ModelRequest.user("one")] })
        const firstToken = models.gemini.emulator.requests[0]?.headers["authorization"]
        // the emulator's clock moves past the token's expiry: tokeninfo rejects it
        emulator.controls.setClockOffset(2 * 3600 * 1000)
        const response = yield* model.generate({ model: "gemini-2.5-flash", contents: [ModelRequest.user("two")] })
        expect(response.text).toBe("Echo: two")
        expect(models.gemini.emulator.requests.length).toBe(3)
        expect(models.gemini.emulator.requests[1]?.principal).toBeUndefined()
        expect(models.gemini.emulator.requests[1]?.headers["authorization"]).toBe(firstToken)
        expect(models.gemini.emulator.requests[2]?.principal).toBe(emulator.serviceAccount.email)
        expect(models.gemini.emulator.requests[2]?.headers["authorization"]).not.toBe(firstToken)
      })
    ))
})
