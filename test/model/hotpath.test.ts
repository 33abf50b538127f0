/**
 * The call engine's hot-path pieces against what they replace: the retry driver built
 * on the first failure behaves as `Effect.retry({ schedule, while })` (same attempts,
 * same delays, and the policy sees the same failures), and the timeout with one fork
 * and a plain timer behaves as `Effect.timeoutFail` (under the live clock with real
 * timers, under TestClock through `Effect.timeoutFail` itself); the Gemini stream's
 * text-event path gives what decoding and folding every event gives.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { readdirSync, readFileSync } from "node:fs"
import * as Gemini from "../../src/model/gemini/internal/protocol.js"
import { frameJson } from "../../src/model/internal/common.js"
import { withPlainPrototype } from "../../src/model/internal/fastpath.js"
import type { Frame } from "../../src/model/internal/stream.js"
import { timeoutFail } from "../../src/model/internal/timeout.js"
import * as ModelError from "../../src/model/ModelError.js"
import type * as ModelResponse from "../../src/model/ModelResponse.js"
import * as RetryPolicy from "../../src/model/RetryPolicy.js"
import { fixturesRoot, ssePayloads, textLines } from "./support.js"

const server = new ModelError.ServerError({ backend: "ollama", status: 500, detail: "boom" })
const unavailable = new ModelError.Unavailable({ backend: "ollama", status: 503, detail: "cold start" })
const invalid = new ModelError.InvalidRequest({ backend: "ollama", status: 400, detail: "bad" })
const later = (seconds: number) =>
  new ModelError.RateLimited({ backend: "gemini-api", status: 429, detail: "", retryAfterMillis: seconds * 1000 })

type Outcome = ModelError.ModelError | "ok"

/** Runs `retry` over attempts answering `outcomes` in turn; what the policy saw, when each attempt ran, the exit. */
const observe = (
  retry: (
    effect: Effect.Effect<string, ModelError.ModelError>,
    policy: RetryPolicy.RetryPolicy
  ) => Effect.Effect<string, ModelError.ModelError>,
  outcomes: ReadonlyArray<Outcome>,
  policy: RetryPolicy.RetryPolicy
) =>
  Effect.gen(function*() {
    const seen = yield* Ref.make<Array<string>>([])
    const times = yield* Ref.make<Array<number>>([])
    const attempt = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const n = (yield* Ref.updateAndGet(times, (t) => [...t, now])).length
      const outcome = outcomes[Math.min(n, outcomes.length) - 1]!
      return outcome === "ok" ? "ok" : yield* Effect.fail(outcome)
    })
    const tapped = Schedule.tapInput(policy, (error: ModelError.ModelError) =>
      Ref.update(seen, (s) => [...s, `${error._tag}:${error.detail}`]))
    const fiber = yield* Effect.fork(Effect.exit(retry(attempt, tapped)))
    yield* TestClock.adjust("10 minutes")
    const exit = yield* Fiber.join(fiber)
    const at = yield* Ref.get(times)
    return {
      exit,
      seen: yield* Ref.get(seen),
      times: at.map((t) =>
        Math.round((t - at[0]!) * 1000)
      )
    }
  })

const reference = (effect: Effect.Effect<string, ModelError.ModelError>, policy: RetryPolicy.RetryPolicy) =>
  Effect.retry(effect, {
    schedule: policy,
    while: (error: ModelError.ModelError) => error.isRetryable && !RetryPolicy.exceedsRetryAfter(error)
  })

const cases: ReadonlyArray<readonly [string, ReadonlyArray<Outcome>, RetryPolicy.RetryPolicy]> = [
  ["success at once", ["ok"], RetryPolicy.defaultPolicy],
  ["two retryable failures, then success", [server, unavailable, "ok"], RetryPolicy.defaultPolicy],
  ["retryable, then a failure that is not", [server, invalid, "ok"], RetryPolicy.defaultPolicy],
  ["not retryable at once", [invalid, "ok"], RetryPolicy.defaultPolicy],
  ["retries exhausted", [server], RetryPolicy.make({ retries: 2 })],
  ["a server delay within bounds, then success", [later(5), "ok"], RetryPolicy.defaultPolicy],
  ["a server delay beyond maxRetryAfter", [server, later(120), "ok"], RetryPolicy.defaultPolicy],
  ["no retries policy", [server, "ok"], RetryPolicy.none],
  ["a fixed user schedule", [server, server, server, "ok"], Schedule.spaced("2 seconds")]
]

describe("RetryPolicy.retry against Effect.retry({ schedule, while })", () => {
  for (const [name, outcomes, policy] of cases) {
    it.effect(`${name}: same exit, same attempt times, the policy saw the same failures`, () =>
      Effect.gen(function*() {
        // jitter draws from Random: both runs under the same seed
        const ours = yield* observe((effect, p) => RetryPolicy.retry(effect, p), outcomes, policy).pipe(
          Effect.withRandom(Random.make(42))
        )
        const theirs = yield* observe(reference, outcomes, policy).pipe(Effect.withRandom(Random.make(42)))
        expect(ours.seen).toEqual(theirs.seen)
        expect(ours.times).toEqual(theirs.times)
        expect(ours.exit).toEqual(theirs.exit)
        expect(ours.times.length).toBeGreaterThan(0)
      }))
  }
})

const timedOut = () => new ModelError.Timeout({ backend: "ollama", detail: "no answer" })

describe("timeoutFail under the live clock (one fork, a plain timer)", () => {
  it.live("an effect that finishes first: its value, and the timer never fires", () =>
    Effect.gen(function*() {
      const result = yield* timeoutFail(Effect.succeed(7), Duration.millis(20), timedOut)
      expect(result).toBe(7)
      // the timer was cleared: waiting past it changes nothing
      yield* Effect.sleep("40 millis")
    }))

  it.live("its failure passes through unchanged", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(timeoutFail(Effect.fail(server), Duration.millis(20), timedOut))
      expect(exit).toEqual(Exit.fail(server))
    }))

  it.live("an effect that never finishes: interrupted first, then the timeout error", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(false)
      const slow = Effect.never.pipe(Effect.onInterrupt(() => Ref.set(interrupted, true)))
      const exit = yield* Effect.exit(timeoutFail(slow, Duration.millis(10), timedOut))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag).toBe("Timeout")
      expect(yield* Ref.get(interrupted)).toBe(true)
    }))

  it.live("interrupting the caller interrupts the effect and the timer", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(false)
      const slow = Effect.never.pipe(Effect.onInterrupt(() => Ref.set(interrupted, true)))
      const fiber = yield* Effect.fork(timeoutFail(slow, Duration.seconds(30), timedOut))
      yield* Effect.yieldNow()
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(yield* Ref.get(interrupted)).toBe(true)
    }))

  it.live("FiberRefs the effect set are inherited on success, as with Effect.timeoutFail", () =>
    Effect.gen(function*() {
      const ref = FiberRef.unsafeMake(0)
      yield* timeoutFail(FiberRef.set(ref, 5), Duration.millis(50), timedOut)
      expect(yield* FiberRef.get(ref)).toBe(5)
    }))
})

describe("timeoutFail under TestClock (Effect.timeoutFail drives it)", () => {
  it.effect("simulated time decides: nothing at 999 ms, the timeout at 1 s", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.exit(timeoutFail(Effect.never, Duration.seconds(1), timedOut)))
      yield* TestClock.adjust("999 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.join(fiber)
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag).toBe("Timeout")
    }))

  it.effect("an effect that completes in simulated time within the bound succeeds", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        timeoutFail(Effect.as(Effect.sleep("500 millis"), "done"), Duration.seconds(1), timedOut)
      )
      yield* TestClock.adjust("500 millis")
      expect(yield* Fiber.join(fiber)).toBe("done")
    }))
})

/**
 * The Gemini stream's text-event path (`StreamState.step` on a common event before the
 * finish) against what it replaces: every event decoded (`decodeResponse`) and folded by
 * `event`. The reference is that step, kept here.
 */
class DecodedEvents extends Gemini.StreamState {
  override step(frame: Frame, out: Array<ModelResponse.ModelStreamChunk>): ModelError.ModelError | undefined {
    const json = frameJson(this.context, frame)
    if (json === undefined) return undefined
    if (Either.isLeft(json)) return json.left
    const decoded = Gemini.decodeResponse(this.context, json.right)
    if (Either.isLeft(decoded)) return decoded.left
    return this.event(decoded.right, json.right, out)
  }
}

const geminiContext: ModelError.Context = { backend: "gemini-api", model: "m", url: "https://x.test/m" }

/** The chunks (or the error) a state makes of `events`, each given as its JSON text. */
const fold = (state: Gemini.StreamState, events: ReadonlyArray<string>) => {
  const out: Array<ModelResponse.ModelStreamChunk> = []
  for (const event of events) {
    const error = state.step(event, out)
    if (error !== undefined) return { out, error }
  }
  return { out, error: state.end(out) }
}

/** The recorded Gemini streams, each as its events' JSON texts. */
const recordedStreams = (): Array<readonly [string, Array<string>]> => {
  const dir = new URL("gemini/", fixturesRoot)
  return readdirSync(dir).sort().flatMap((file): Array<readonly [string, Array<string>]> => {
    const text = readFileSync(new URL(file, dir), "utf8")
    if (file.endsWith("-sse.txt")) return [[file, ssePayloads(text)]]
    if (file.endsWith(".events.jsonl")) return [[file, textLines(text)]]
    return []
  })
}

const text = (t: string, extra: Record<string, unknown> = {}) => ({ text: t, ...extra })
const event = (parts: ReadonlyArray<unknown> | undefined, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    ...(parts === undefined ? {} : { candidates: [{ content: { parts, role: "model" }, index: 0 }] }),
    ...extra
  })
const finish = (reason: string, parts: ReadonlyArray<unknown> = []) =>
  JSON.stringify({ candidates: [{ content: { parts, role: "model" }, finishReason: reason, index: 0 }] })

/** Streams that mix common events with every other kind, in every position. */
const mixedStreams: ReadonlyArray<readonly [string, Array<string>]> = [
  ["text, thoughts, several parts, usage, then the finish", [
    event([text("Hel")], { modelVersion: "v1", responseId: "r1" }),
    event([text("thinking", { thought: true }), text("lo")], { usageMetadata: { promptTokenCount: 3 } }),
    event([text("", { thoughtSignature: "sig" })]),
    event([]),
    event(undefined, { usageMetadata: { promptTokenCount: 3, totalTokenCount: 9 } }),
    finish("STOP", [text("!")]),
    event(undefined, { usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4, totalTokenCount: 9 } })
  ]],
  ["a function call between text events", [
    event([text("Let me look")]),
    event([{ functionCall: { name: "lookup", args: { q: "x" } } }]),
    event([text("after the call")]),
    finish("STOP")
  ]],
  ["text after the finish", [event([text("a")]), finish("MAX_TOKENS"), event([text("late")]), event([text("later")])]],
  ["a prompt blocked after text", [
    event([text("a")]),
    JSON.stringify({ promptFeedback: { blockReason: "SAFETY" } }),
    finish("STOP")
  ]],
  ["candidate metadata on a text event", [
    event([text("a")]),
    JSON.stringify({ candidates: [{ content: { parts: [text("b")] }, safetyRatings: [] }] }),
    finish("STOP")
  ]],
  ["no finish", [event([text("a")]), event([text("b")])]],
  ["an event that is not an object", [event([text("a")]), "[1]", finish("STOP")]],
  ["a text of the wrong type", [event([text("a")]), event([{ text: 7 }]), finish("STOP")]]
]

describe("Gemini StreamState: the text-event path gives what decoding every event gives", () => {
  const streams = [...recordedStreams(), ...mixedStreams]

  it(`${streams.length} streams (every recorded one, and common events mixed with every other kind): the same chunks, the same error`, () => {
    expect(recordedStreams().length).toBeGreaterThan(5)
    for (const [name, events] of streams) {
      const fast = fold(new Gemini.StreamState(geminiContext), events)
      const reference = fold(new DecodedEvents(geminiContext), events)
      expect(fast, name).toEqual(reference)
    }
  })

  it("every prefix of every stream, each read in a decode of its own (withPlainPrototype on): the same chunks", () => {
    for (const [name, events] of streams) {
      for (let n = 0; n <= events.length; n++) {
        const fast = new Gemini.StreamState(geminiContext)
        const fastOut: Array<ModelResponse.ModelStreamChunk> = []
        const fastErrors = events.slice(0, n).map((e) =>
          withPlainPrototype(() => fast.step(e, fastOut), () => {
            throw new Error("polluted prototype")
          })
        )
        const reference = new DecodedEvents(geminiContext)
        const referenceOut: Array<ModelResponse.ModelStreamChunk> = []
        const referenceErrors = events.slice(0, n).map((e) => reference.step(e, referenceOut))
        expect(fastOut, `${name} (${n} events)`).toEqual(referenceOut)
        expect(fastErrors, `${name} (${n} events)`).toEqual(referenceErrors)
      }
    }
  })
})
