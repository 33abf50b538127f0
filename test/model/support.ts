/** Helpers the model tests share (time with the TestClock while real loopback I/O runs). */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { afterAll, beforeAll } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { existsSync } from "node:fs"
import * as AuthService from "../../src/auth/AuthService.js"
import * as UndiciHttpClient from "../../src/http/UndiciHttpClient.js"
import type { ModelService } from "../../src/model/ModelService.js"
import type * as Emulator from "../../src/testing/Emulator.js"
import * as ModelEmulators from "../../src/testing/ModelEmulators.js"

/**
 * `shared/fixtures/` beside the checkout (the main checkout and the worktrees sit at
 * different depths): the nearest ancestor directory that has it.
 */
export const fixturesRoot: URL = (() => {
  for (let up = "../../../"; up.length < 30; up += "../") {
    const candidate = new URL(`${up}shared/fixtures/`, import.meta.url)
    if (existsSync(candidate)) return candidate
  }
  return new URL("../../../shared/fixtures/", import.meta.url)
})()

/** One turn of Node's event loop, so that loopback I/O can progress. */
export const tick = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/**
 * How long a test lets real loopback I/O run while it waits for something to happen
 * (a bound on the wait, not a timing assertion: on an idle machine it takes a few ms; a
 * count of event-loop turns ran out in under 300 ms on a loaded one).
 */
export const ioPatienceMillis = 10_000

/** Whether a wait for loopback I/O that started at `started` (`performance.now()`) may go on. */
export const patient = (started: number): boolean => performance.now() - started < ioPatienceMillis

/**
 * Let real I/O run until `requests` attempts reached the emulator and the retry
 * schedule registered a sleep with the TestClock that wakes `within` ms from now
 * (exactly `exactly` ms, when given). Other sleeps (per-attempt timeouts, the token
 * cache's fibers) wake later or at other times. Gives the sleep's delay from now: a
 * test that moves the clock by exactly that wakes this retry and no later one (moving it
 * further can also wake the next retry's sleep when the next attempt's reply arrives
 * while `TestClock.adjust` is still moving).
 */
export const awaitRetrySleep = (
  requests: () => number,
  count: number,
  wake: { readonly exactly?: number; readonly within?: number }
) =>
  Effect.gen(function*() {
    for (const started = performance.now(); patient(started);) {
      if (requests() >= count) {
        const now = yield* Clock.currentTimeMillis
        const sleeps = yield* TestClock.sleeps()
        const found = Chunk.findFirst(sleeps, (at) =>
          wake.exactly !== undefined ? at - now === wake.exactly : at - now > 0 && at - now <= (wake.within ?? 5_000))
        if (Option.isSome(found)) {
          return found.value - now
        }
      }
      yield* tick
    }
    return yield* Effect.dieMessage(`no retry sleep was scheduled after ${count} attempt(s)`)
  })

/** A backend layer under test: a ModelService needing what `emulatorBase` provides. */
export type BackendLayer = Layer.Layer<ModelService, unknown, AuthService.AuthService | HttpClient.HttpClient>

/**
 * A fresh AuthService over the identity emulator (the token cache is stateful: one per
 * test) and an HttpClient (`FetchHttpClient.layer` unless given): what every backend
 * layer requires.
 */
export const emulatorBase = (
  emulator: Emulator.EmulatorHandle,
  http: Layer.Layer<HttpClient.HttpClient> = FetchHttpClient.layer
) =>
  Layer.mergeAll(
    AuthService.layer({ projectId: "emulator-project", clientOptions: emulator.clientOptions }),
    http
  ).pipe(Layer.orDie)

/**
 * The model emulators (`ModelEmulators.serve`) over `emulator` for one test file or
 * describe block: served before its tests, closed after them. Read the fields inside
 * tests: the handle exists only once beforeAll ran.
 */
export const useModelEmulators = (
  emulator: Emulator.EmulatorHandle,
  options?: ModelEmulators.ModelEmulatorsOptions
): ModelEmulators.ModelEmulatorsHandle => {
  let models: ModelEmulators.ModelEmulatorsHandle | undefined
  beforeAll(async () => {
    models = await ModelEmulators.serve(emulator, options)
  })
  afterAll(async () => {
    await models?.close()
  })
  const running = (): ModelEmulators.ModelEmulatorsHandle => {
    if (models === undefined) throw new Error("the model emulators start in beforeAll")
    return models
  }
  return {
    get gemini() {
      return running().gemini
    },
    get ollama() {
      return running().ollama
    },
    get openAICompatible() {
      return running().openAICompatible
    },
    get vertexOpenAI() {
      return running().vertexOpenAI
    },
    close: () => running().close()
  }
}

/**
 * The HttpClients the fault matrices run the model engine on: the browser-portable fetch
 * client and the Node client a `ModelService` is given on Node.
 */
export const httpClients: ReadonlyArray<{ readonly name: string; readonly http: Layer.Layer<HttpClient.HttpClient> }> =
  [
    { name: "FetchHttpClient", http: FetchHttpClient.layer },
    { name: "UndiciHttpClient", http: UndiciHttpClient.layer }
  ]

/** SSE `data:` payloads of a raw body (CRLF or LF framing; an event's data lines joined). */
export const ssePayloads = (text: string): Array<string> =>
  text.split(/\r?\n\r?\n/).flatMap((event) => {
    const data = event.split(/\r?\n/).filter((line) => line.startsWith("data:")).map((line) =>
      line.slice(5).replace(/^ /, "")
    )
    return data.length === 0 ? [] : [data.join("\n")]
  })

/** The non-blank lines of a text (NDJSON, an event log). */
export const textLines = (text: string): Array<string> => text.split(/\r?\n/).filter((line) => line.trim() !== "")
