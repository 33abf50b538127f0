import { describe, expect, it } from "@effect/vitest"
import { coldStampede, expiryStall, scaleModel, warmHeaders } from "../../bench/authScenarios.js"
import { requestOverhead, streaming } from "../../bench/modelScenarios.js"
import { proxy } from "../../bench/proxyScenario.js"
import { startup } from "../../bench/startup.js"

/** The leading number of a printed figure ("1234", "2466 ch/s, …", "4.60 ms"). */
const lead = (text: string) => Number(/^[\d.]+/.exec(text)?.[0] ?? Number.NaN)

// Each bench scenario still runs (tiny sizes). These check counts, never times.

describe("bench scenarios (smoke)", () => {
  it("cold stampede: one fetch per key for us; the peer's ID tokens fetch per caller", async () => {
    const rows = await coldStampede([20])
    expect(rows).toHaveLength(2)
    expect(rows.map((r) => r.ours)).toEqual(["1", "1"])
    expect(rows[1]?.peer).toBe("20")
  })

  it("warm headers: four rows with ours and the peer", async () => {
    const rows = await warmHeaders(200)
    expect(rows).toHaveLength(4)
    for (const row of rows) expect(row.ours).toMatch(/µs \/ .*µs$/)
  })

  it("expiry stall: runs both sides across an expiry", async () => {
    const rows = await expiryStall({ lifetimeSeconds: 3, latencyMs: 50, intervalMs: 20, durationMs: 1_500 })
    expect(rows).toHaveLength(2)
    for (const row of rows) expect(row.measure).toMatch(/of \d+ \/ \d+/)
  })

  it("scale model: fetches do not grow with the request rate", async () => {
    const rows = await scaleModel([1, 20], 2)
    expect(rows).toHaveLength(2)
    expect(rows[0]?.ours).toBe(rows[1]?.ours)
    expect(rows[0]?.ours).toBe("1.50 (3 in all)")
  })

  it("request overhead: ours (fetch, UndiciHttpClient, layerUndici, UndiciHttpClient without spans), raw fetch and @google/genai each answered every call", async () => {
    const rows = await requestOverhead({ n: 10, concurrency: 3, rounds: 1 })
    // 2 modes × 4 clients of ours × 2 peers, then the goals row
    expect(rows).toHaveLength(17)
    const measured = rows.slice(0, 16)
    expect(new Set(measured.map((r) => r.peerName))).toEqual(
      new Set(["raw fetch + JSON.parse", "@google/genai generateContent"])
    )
    expect(rows[16]?.measure).toMatch(/^goals:/)
    for (const row of measured) {
      expect(lead(row.ours)).toBeGreaterThan(0)
      expect(lead(row.peer)).toBeGreaterThan(0)
    }
  })

  it("streaming: every contender read every chunk of the Gemini SSE, Ollama NDJSON and OpenAI-compatible SSE streams", async () => {
    // streaming() throws when a contender counts a different number of text chunks
    const rows = await streaming({ chunks: 50, rounds: 1 })
    expect(rows).toHaveLength(6)
    expect(rows.map((r) => r.measure.split(",")[0])).toEqual([
      "Gemini SSE",
      "Gemini SSE",
      "Ollama NDJSON",
      "Ollama NDJSON",
      "OpenAI-compatible SSE",
      "OpenAI-compatible SSE"
    ])
    for (const row of rows) {
      expect(row.ours).toMatch(/ch\/s, [\d.]+ MB\/s$/)
      expect(lead(row.peer)).toBeGreaterThan(0)
    }
  })

  it("start-up: the child processes got their first token, the bundles ran and imported the entry points", async () => {
    const rows = await startup({ runs: 1, entries: 1 })
    expect(rows.map((r) => r.measure.replace(/ \(median of 1\)$/, ""))).toEqual([
      "process start → first access token, unbundled",
      "process start → first access token, library bundle",
      "process start → first access token, app bundle",
      "process start → first streamed model chunk",
      "effect-adc --version, CLI bundle, spawn → exit",
      "effect-adc --help, CLI bundle, spawn → exit",
      "import effect/Effect (floor of any Effect program)",
      "import effect-adc"
    ])
    for (const row of rows) expect(lead(row.ours)).toBeGreaterThan(0)
    // The figures `--json` writes: every P6 key, each a positive number.
    const figures: Record<string, number> = Object.assign({}, ...rows.map((r) => r.figures))
    for (
      const key of ["p6.first_token_ms", "p6.gal_first_token_ms", "p6.bundled_first_token_ms", "p6.cli_version_ms"]
    ) {
      expect(figures[key]).toBeGreaterThan(0)
    }
  }, 120_000)

  it("proxy: requests went through the proxy and directly, and the slow stream was read both ways", async () => {
    // proxy() throws when an answer through the proxy differs from the upstream's
    const rows = await proxy({ n: 10, concurrency: 3, ttfbRuns: 1, gapMs: 100 })
    expect(rows.map((r) => r.measure.split(",")[0])).toEqual([
      "latency p50",
      "latency p99",
      "throughput",
      "stream TTFB p50"
    ])
    // The figures `--json` writes: every P7 key, each a finite number.
    const figures: Record<string, number> = Object.assign({}, ...rows.map((r) => r.figures))
    expect(Object.keys(figures)).toEqual(expect.arrayContaining([
      "p7.proxy_added_p50_ms",
      "p7.floor_added_p50_ms",
      "p7.proxy_rps",
      "p7.floor_rps",
      "p7.proxy_ttfb_ms",
      "p7.direct_ttfb_ms"
    ]))
    for (const value of Object.values(figures)) expect(Number.isFinite(value)).toBe(true)
    expect(figures["p7.proxy_rps"]).toBeGreaterThan(0)
    expect(figures["p7.floor_rps"]).toBeGreaterThan(0)
  })
})
