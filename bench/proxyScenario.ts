/**
 * 7. Proxy: the signing proxy (`SigningProxy`, in its own process as `effect-adc proxy`
 * runs it) and the floor — a 20-line `node:http` proxy with a fixed token
 * (`floorProxyChild.ts`, also its own process) — in front of an emulated Cloud Run
 * service (the emulator's front door verifies the ID token on every request), against
 * calling that service directly with a warm ID token in the header. Same client
 * (`fetch`, pooled keep-alive connections), same requests, same run; the three
 * alternate so that they see the same machine load.
 *
 * The emulator and its services run in a process of their own (`upstreamChild.ts`), so
 * that direct, proxy and floor all reach the upstream across a process boundary: with
 * the upstream on the client's event loop, direct calls never left the bench process
 * while proxied ones crossed two processes and back.
 *
 * Goals (issue 14, P7): added p50 ≤ 1.5x the floor's; throughput ≥ 0.9x the floor's;
 * stream time-to-first-byte within 1 ms of direct. The time-to-first-byte row also
 * times a TCP relay (`relayChild.ts`, its own process, no HTTP): what one more process
 * on the path costs by itself, apart from what an HTTP proxy's work costs.
 */
import { fileURLToPath } from "node:url"
import type { Row } from "./authScenarios.js"
import { spawnTsx } from "./child.js"
import { answer, type Upstreams } from "./upstreamChild.js"

const percentile = (xs: ReadonlyArray<number>, q: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
}

const ms = (x: number) => `${x.toFixed(2)} ms`
const round = (x: number, digits = 3) => Number(x.toFixed(digits))

type Contender = "direct" | "proxy" | "floor"
const contenders: ReadonlyArray<Contender> = ["direct", "proxy", "floor"]

export const proxy = async (options: {
  readonly n: number
  readonly concurrency: number
  readonly ttfbRuns: number
  readonly gapMs: number
}): Promise<Array<Row>> => {
  const upstreams = await spawnTsx<Upstreams>(
    fileURLToPath(new URL("./upstreamChild.ts", import.meta.url)),
    [JSON.stringify({ gapMs: options.gapMs })]
  )
  try {
    const { echoAuth, slowAuth } = upstreams.value
    const echo = { url: upstreams.value.echoUrl }
    const slow = { url: upstreams.value.slowUrl }
    const env = { ...process.env, ...upstreams.value.env, GOOGLE_AUTH_SUPPRESS_CREDENTIALS_WARNINGS: "true" }
    const signing = await spawnTsx<{ url: string }>(
      fileURLToPath(new URL("./proxyChild.ts", import.meta.url)),
      [JSON.stringify({
        port: 0,
        routes: [{ prefix: "/svc", upstream: echo.url }, { prefix: "/slow", upstream: slow.url }]
      })],
      env
    )
    const floor = await spawnTsx<{ url: string }>(
      fileURLToPath(new URL("./floorProxyChild.ts", import.meta.url)),
      [JSON.stringify([
        { prefix: "/svc", upstream: echo.url, authorization: echoAuth["authorization"] },
        { prefix: "/slow", upstream: slow.url, authorization: slowAuth["authorization"] }
      ])],
      env
    )
    // the slow route only: the relay passes bytes, so the client sends the upstream's token
    const relay = await spawnTsx<{ url: string }>(
      fileURLToPath(new URL("./relayChild.ts", import.meta.url)),
      [slow.url]
    )
    try {
      const body = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "How far is the moon?" }] }] })
      const path = "/v1/models/gemma:generateContent"
      const json = { "content-type": "application/json" }
      const base: Record<
        Contender,
        { url: string; headers: Record<string, string>; slow: string; slowHeaders: Record<string, string> }
      > = {
        direct: {
          url: `${echo.url}${path}`,
          headers: { ...echoAuth, ...json },
          slow: `${slow.url}/stream`,
          slowHeaders: { ...slowAuth, ...json }
        },
        proxy: {
          url: `${signing.value.url}/svc${path}`,
          headers: json,
          slow: `${signing.value.url}/slow/stream`,
          slowHeaders: json
        },
        floor: {
          url: `${floor.value.url}/svc${path}`,
          headers: json,
          slow: `${floor.value.url}/slow/stream`,
          slowHeaders: json
        }
      }
      const call = async (who: Contender) => {
        const response = await fetch(base[who].url, { method: "POST", headers: base[who].headers, body })
        if (response.status !== 200 || (await response.text()) !== answer) throw new Error(`${who}: ${response.status}`)
      }
      const timed = async (who: Contender) => {
        const t = performance.now()
        await call(who)
        return performance.now() - t
      }
      // Warm: JIT, token caches, pooled connections on every hop (the slow route too).
      for (let i = 0; i < Math.min(200, options.n); i++) for (const who of contenders) await call(who)
      for (const who of contenders) {
        const response = await fetch(base[who].slow, { method: "POST", headers: base[who].slowHeaders, body: "{}" })
        await response.text()
      }

      // Latency: sequential, rotating the order, so all three see the same machine load.
      const latency: Record<Contender, Array<number>> = { direct: [], proxy: [], floor: [] }
      for (let i = 0; i < options.n; i++) {
        for (let k = 0; k < contenders.length; k++) {
          const who = contenders[(i + k) % contenders.length]!
          latency[who].push(await timed(who))
        }
      }
      const p = (who: Contender, q: number) => percentile(latency[who], q)
      const rows: Array<Row> = []
      const added = { proxy: p("proxy", 0.5) - p("direct", 0.5), floor: p("floor", 0.5) - p("direct", 0.5) }
      const added99 = { proxy: p("proxy", 0.99) - p("direct", 0.99), floor: p("floor", 0.99) - p("direct", 0.99) }
      rows.push({
        scenario: "proxy",
        measure: `latency p50, ${options.n} sequential POSTs (direct ${ms(p("direct", 0.5))}; added by the proxy)`,
        ours: `+${ms(added.proxy)}`,
        peer: `+${ms(added.floor)}`,
        peerName: "node:http floor proxy",
        ratio: `${(added.proxy / added.floor).toFixed(2)}x the floor's added (goal ≤ 1.5x)`,
        figures: {
          "p7.direct_p50_ms": round(p("direct", 0.5)),
          "p7.proxy_p50_ms": round(p("proxy", 0.5)),
          "p7.floor_p50_ms": round(p("floor", 0.5)),
          "p7.proxy_added_p50_ms": round(added.proxy),
          "p7.floor_added_p50_ms": round(added.floor),
          "p7.proxy_vs_floor_added_p50": round(added.proxy / added.floor)
        }
      })
      rows.push({
        scenario: "proxy",
        measure: `latency p99, same requests (direct ${ms(p("direct", 0.99))}; added)`,
        ours: `+${ms(added99.proxy)}`,
        peer: `+${ms(added99.floor)}`,
        peerName: "node:http floor proxy",
        ratio: "(GC and scheduling on 2 cores dominate p99)",
        figures: { "p7.proxy_added_p99_ms": round(added99.proxy), "p7.floor_added_p99_ms": round(added99.floor) }
      })

      // Throughput: `concurrency` in flight; many short rounds, the order rotating each
      // round, so that a slow stretch of the machine falls on every contender alike.
      const perRound = Math.max(options.concurrency, Math.round(options.n / 5))
      const throughputRounds = Math.max(1, Math.round((3 * options.n) / perRound))
      const throughput = async (who: Contender) => {
        let next = 0
        const t = performance.now()
        await Promise.all(Array.from({ length: options.concurrency }, async () => {
          while (next < perRound) {
            next++
            await call(who)
          }
        }))
        return perRound / ((performance.now() - t) / 1000)
      }
      const rates: Record<Contender, Array<number>> = { direct: [], proxy: [], floor: [] }
      for (let r = 0; r < throughputRounds; r++) {
        for (let k = 0; k < contenders.length; k++) {
          const who = contenders[(k + r) % contenders.length]!
          rates[who].push(await throughput(who))
        }
      }
      const rps = (who: Contender) => percentile(rates[who], 0.5)
      // ours against the floor within each round (the same stretch of the machine)
      const pairedRps = percentile(rates.proxy.map((r, i) => r / rates.floor[i]!), 0.5)
      rows.push({
        scenario: "proxy",
        measure:
          `throughput, ${throughputRounds} × ${perRound} POSTs, ${options.concurrency} in flight → req/s (median; direct ${
            rps("direct").toFixed(0)
          })`,
        ours: rps("proxy").toFixed(0),
        peer: rps("floor").toFixed(0),
        peerName: "node:http floor proxy",
        ratio: `${(rps("proxy") / rps("floor")).toFixed(2)}x the floor (goal ≥ 0.9x; per round, p50 ${
          pairedRps.toFixed(2)
        }x)`,
        figures: {
          "p7.direct_rps": round(rps("direct"), 1),
          "p7.proxy_rps": round(rps("proxy"), 1),
          "p7.floor_rps": round(rps("floor"), 1),
          "p7.proxy_vs_floor_rps": round(rps("proxy") / rps("floor")),
          "p7.proxy_vs_floor_rps_paired": round(pairedRps)
        }
      })

      // TTFB of a stream whose second chunk comes `gapMs` after the first; the relay too.
      type Streamer = Contender | "relay"
      const streamers: ReadonlyArray<Streamer> = [...contenders, "relay"]
      const slowOf = (who: Streamer) =>
        who === "relay"
          ? { slow: `${relay.value.url}/stream`, slowHeaders: base.direct.slowHeaders }
          : base[who]
      const ttfb = async (who: Streamer) => {
        const { slow: url, slowHeaders: headers } = slowOf(who)
        const t = performance.now()
        const response = await fetch(url, { method: "POST", headers, body: "{}" })
        const reader = response.body!.getReader()
        const first = await reader.read()
        const at = performance.now() - t
        if (first.done === true) throw new Error(`${who}: empty stream`)
        const decoder = new TextDecoder()
        let text = decoder.decode(first.value, { stream: true })
        for (let next = await reader.read(); next.done !== true; next = await reader.read()) {
          text += decoder.decode(next.value, { stream: true })
        }
        if (text !== "{\"n\":1}\n{\"n\":2}\n") throw new Error(`${who}: slow stream: unexpected body ${text}`)
        return at
      }
      await ttfb("relay") // its first connection
      const firsts: Record<Streamer, Array<number>> = { direct: [], proxy: [], floor: [], relay: [] }
      for (let i = 0; i < options.ttfbRuns; i++) {
        for (let k = 0; k < streamers.length; k++) {
          const who = streamers[(i + k) % streamers.length]!
          firsts[who].push(await ttfb(who))
        }
      }
      const first = (who: Streamer) => percentile(firsts[who], 0.5)
      const extra = first("proxy") - first("direct")
      // ours against the floor within each rotation (the same stretch of the machine)
      const pairedOverFloor = percentile(firsts.proxy.map((t, i) => t - firsts.floor[i]!), 0.5)
      rows.push({
        scenario: "proxy",
        measure: `stream TTFB p50, 2nd chunk ${options.gapMs} ms later (${options.ttfbRuns} runs; direct ${
          ms(first("direct"))
        }; a TCP relay, no HTTP, +${ms(first("relay") - first("direct"))})`,
        ours: ms(first("proxy")),
        peer: ms(first("floor")),
        peerName: "node:http floor proxy",
        ratio: `${extra <= 1 ? "within 1 ms of direct" : "NOT within 1 ms of direct"} (+${ms(extra)}; ours − floor, ` +
          `paired p50 ${pairedOverFloor >= 0 ? "+" : ""}${ms(pairedOverFloor)})`,
        figures: {
          "p7.direct_ttfb_ms": round(first("direct")),
          "p7.proxy_ttfb_ms": round(first("proxy")),
          "p7.floor_ttfb_ms": round(first("floor")),
          "p7.proxy_added_ttfb_ms": round(extra),
          "p7.floor_added_ttfb_ms": round(first("floor") - first("direct")),
          "p7.relay_ttfb_ms": round(first("relay")),
          "p7.relay_added_ttfb_ms": round(first("relay") - first("direct")),
          "p7.proxy_minus_floor_ttfb_ms": round(pairedOverFloor)
        }
      })
      return rows
    } finally {
      await relay.close()
      await signing.close()
      await floor.close()
    }
  } finally {
    await upstreams.close()
  }
}
