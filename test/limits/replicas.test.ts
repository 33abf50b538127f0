/**
 * The "done when": 4 replicas as separate processes against an emulated Gemini
 * with a quota of 4 requests per 1-second window (scaled down from a minute) whose 429s
 * carry `RetryInfo` (the time left in the window). With ModelLimits on Redis, a window
 * sees at most one 429 per replica, no replica decides to send a request after any
 * replica recorded a server's delay and before that delay is over (each replica prints
 * when it read the cooldown, when it wrote one and when it sent), and every call is
 * answered. The same run with
 * per-process limits shows each replica learning on its own. Real time (the processes
 * and Redis keep their own), a few seconds.
 */
import { describe, expect, it } from "vitest"
import * as OllamaEmulator from "../../src/testing/models/OllamaEmulator.js"
import { useModelEmulators } from "../model/support.js"
import { useEmulator } from "../support/emulator.js"
import { useRedis } from "./redisServer.js"
import { calls, cooled, decidedSends, type ReplicaRun, useReplicas } from "./replicas.js"

const emulator = useEmulator({ env: true })
const redis = useRedis()
const replicas = useReplicas()
const models = useModelEmulators(emulator)

const REPLICAS = 4
const CALLS = 4
const QUOTA = 4
const WINDOW_MS = 1000

interface Figures {
  readonly answered: number
  readonly rejected: number
  readonly maxPerWindow: number
  readonly sentDuringDelay: number
  readonly elapsedMs: number
  /** Replicas that logged Redis as unreachable (limits per process for a while). */
  readonly degraded: number
}

const figures = (runs: ReadonlyArray<ReplicaRun>): Figures => {
  const log = models.gemini.emulator.quotaLog
  const rejected = log.filter((event) => !event.admitted)
  const perWindow = new Map<number, number>()
  for (const event of rejected) {
    const end = event.at + (event.retryDelayMs ?? 0)
    perWindow.set(end, (perWindow.get(end) ?? 0) + 1)
  }
  // each server delay as a replica recorded it: when its cooldown write was done, and the
  // end of the delay the server announced (the k-th 429 the emulator sent to replica X is
  // the one behind X's k-th cooldown write: one call at a time)
  const delays = runs.flatMap((run) => {
    const ends = rejected.filter((event) => event.headers["x-replica"] === run.id)
      .map((event) => event.at + (event.retryDelayMs ?? 0))
    return cooled(run).map((recorded, k) => ({ recorded, end: ends[k] ?? recorded }))
  })
  // a request decided (its last cooldown read started) after a delay was recorded, sent before it ended
  const sentDuringDelay =
    runs.flatMap(decidedSends).filter((send) =>
      delays.some((delay) => send.checked > delay.recorded && send.sent < delay.end - 5)
    ).length
  const times = runs.flatMap(calls)
  return {
    answered: times.filter((call) => call.ok).length,
    rejected: rejected.length,
    maxPerWindow: Math.max(0, ...perWindow.values()),
    sentDuringDelay,
    elapsedMs: Math.max(...times.map((c) => c.ended)) - Math.min(...times.map((c) => c.started)),
    degraded: runs.filter((run) => run.other.includes("is unreachable")).length
  }
}

let runIndex = 0
const scenario = async (shared: boolean) => {
  models.gemini.emulator.reset()
  models.gemini.emulator.setQuota({ requests: QUOTA, windowMs: WINDOW_MS })
  const prefix = `replicas-${runIndex++}:`
  const runs = await replicas.run(
    emulator.env,
    Array.from({ length: REPLICAS }, (_, i) => ({
      id: `r${i}`,
      kind: "gemini" as const,
      url: models.gemini.url,
      model: "gemini-2.5-flash",
      requests: CALLS,
      retries: 8,
      // replicas out of step, as real ones are: a pause before each call (0-280 ms, fixed per run)
      pausesMs: Array.from({ length: CALLS }, (_, k) => ((i * 5 + k * 3) % 8) * 40),
      ...(shared ? { redisUrl: redis.url, prefix } : {})
    }))
  )
  const result = figures(runs)
  console.log(`limits figures (${shared ? "shared on Redis" : "per process"}): ${JSON.stringify(result)}`)
  return result
}

describe("4 replicas, one Gemini quota", () => {
  it(
    "sharing ModelLimits on Redis: at most one 429 per replica per window, none sent inside a known delay, all answered",
    async () => {
      const result = await scenario(true)
      expect(result.answered).toBe(REPLICAS * CALLS)
      expect(result.maxPerWindow).toBeLessThanOrEqual(REPLICAS)
      expect(result.sentDuringDelay).toBe(0)
    },
    60_000
  )

  it(
    "per-process limits (contrast): every call answered, but replicas send inside a delay another was told",
    async () => {
      const result = await scenario(false)
      expect(result.answered).toBe(REPLICAS * CALLS)
      expect(result.maxPerWindow).toBeLessThanOrEqual(REPLICAS)
      expect(result.sentDuringDelay).toBeGreaterThan(0)
    },
    60_000
  )
})

describe("two processes, one Cloud Run GPU service, one breaker on Redis", () => {
  it(
    "cold-start 503s seen by one process open the breaker for the other: its call is refused without a request",
    async () => {
      const ollama = OllamaEmulator.make()
      const service = await emulator.cloudRun.deploy({
        name: "breaker-gemma",
        handler: ollama.handler,
        coldStart: { status: 503, requests: 2 }
      })
      const endpoint = `cloudrun:${service.name}` as const
      const common = {
        kind: "ollama" as const,
        url: service.url,
        model: "gemma3:4b",
        retries: 0,
        redisUrl: redis.url,
        prefix: `breaker-${runIndex++}:`,
        limits: { breaker: { failures: 2, openFor: 60_000 } }
      }
      const [a] = await replicas.run(emulator.env, [{ ...common, id: "a", requests: 2 }])
      expect(calls(a!).map((call) => call.error)).toEqual(["Unavailable", "Unavailable"])
      expect(emulator.controls.count(endpoint)).toBe(2)
      const [b] = await replicas.run(emulator.env, [{ ...common, id: "b", requests: 1 }])
      expect(calls(b!).map((call) => call.reason)).toEqual(["CIRCUIT_OPEN"])
      expect(emulator.controls.count(endpoint)).toBe(2)
      await service.close()
    },
    60_000
  )
})
